// Losses: the elementwise terms (MAE = mean |y - t|, MSE = mean (y - t)^2),
// the strided partial sums every term leaves, and the one reduction that
// turns them into the batch loss on the device.
//
// Each work-item of a partial-sum kernel takes elements gid, gid + G,
// gid + 2G, ... (G = global size, DS_LOSS_PARTIALS) and writes one partial
// sum; loss_reduce adds them in a fixed order, so the loss is reproducible.

#define LOSS_MAE 0u
#define LOSS_MSE 1u

// inv_n = weight / n. accumulate: add to dy (a later term of a sum) rather
// than overwrite it (the first term).
kernel void loss_forward_backward(global float *restrict dy, global float *restrict partial,
                                  const uint partial_off, global const float *restrict y,
                                  global const float *restrict t, const uint kind, const uint n,
                                  const float inv_n, const uint accumulate) {
  const uint g = get_global_id(0), G = get_global_size(0);
  float acc = 0.0f;
  for (uint i = g; i < n; i += G) {
    const float d = y[i] - t[i];
    float grad;
    if (kind == LOSS_MSE) {
      acc = fma(d, d, acc);
      grad = 2.0f * d * inv_n;
    } else {
      acc += fabs(d);
      // d|x|/dx = sign(x), 0 at 0 as TensorFlow and PyTorch define it
      grad = (d > 0.0f ? inv_n : (d < 0.0f ? -inv_n : 0.0f));
    }
    dy[i] = accumulate ? dy[i] + grad : grad;
  }
  partial[partial_off + g] = acc;
}

// partial[partial_off + g] = sum of x[x_off + g], x[x_off + g + G], ... (a
// per-position map of a term)
kernel void loss_partial_sums(global float *restrict partial, const uint partial_off,
                              global const float *restrict x, const uint x_off, const uint n) {
  const uint g = get_global_id(0), G = get_global_size(0);
  float acc = 0.0f;
  for (uint i = g; i < n; i += G)
    acc += x[x_off + i];
  partial[partial_off + g] = acc;
}

// out[slot] = sum over terms k < count of scale[k] * (sum of the G partials
// of term k) + offset[k]. One work-item; compensated sums, so 256 partials
// of ~1e4 each keep float32's precision.
kernel void loss_reduce(global float *out, const uint slot, global const float *partials,
                        const uint G, const uint count, const float4 scale, const float4 offset) {
  if (get_global_id(0) != 0) return;
  const float sc[4] = {scale.x, scale.y, scale.z, scale.w};
  const float of[4] = {offset.x, offset.y, offset.z, offset.w};
  float total = 0.0f;
  for (uint k = 0; k < count && k < 4; k++) {
    float acc = 0.0f, comp = 0.0f;
    for (uint i = 0; i < G; i++) {
      const float v = partials[k * G + i] - comp;
      const float s = acc + v;
      comp = (s - acc) - v;
      acc = s;
    }
    total += sc[k] * acc + of[k];
  }
  out[slot] = total;
}

// Face-area weights (engine/train/face_mask.h): the terms see ym = m y and
// tm = m t, m per pixel broadcast over the c channels; the gradient goes
// back as dy = m dym, in place.
kernel void mask_apply(global float *restrict ym, global float *restrict tm,
                       global const float *restrict y, global const float *restrict t,
                       global const float *restrict m, const uint c, const uint total) {
  const uint g = get_global_id(0);
  if (g >= total) return;
  const float w = m[g / c];
  ym[g] = w * y[g];
  tm[g] = w * t[g];
}

kernel void mask_gradient(global float *restrict dy, global const float *restrict m, const uint c,
                          const uint total) {
  const uint g = get_global_id(0);
  if (g >= total) return;
  dy[g] *= m[g / c];
}
