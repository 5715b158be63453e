// Losses over every element: MAE = mean |y - t|, MSE = mean (y - t)^2.
// Each work-item takes elements gid, gid + G, gid + 2G, ... (G = global
// size), writes the gradient dL/dy and one partial sum; the host adds the G
// partials in double. The order is fixed, so the loss is reproducible.

#define LOSS_MAE 0u
#define LOSS_MSE 1u

kernel void loss_forward_backward(global float *restrict dy, global float *restrict partial,
                                  global const float *restrict y, global const float *restrict t,
                                  const uint kind, const uint n, const float inv_n) {
  const uint g = get_global_id(0), G = get_global_size(0);
  float acc = 0.0f;
  for (uint i = g; i < n; i += G) {
    const float d = y[i] - t[i];
    if (kind == LOSS_MSE) {
      acc = fma(d, d, acc);
      dy[i] = 2.0f * d * inv_n;
    } else {
      acc += fabs(d);
      // d|x|/dx = sign(x), 0 at 0 as TensorFlow and PyTorch define it
      dy[i] = (d > 0.0f ? inv_n : (d < 0.0f ? -inv_n : 0.0f));
    }
  }
  partial[g] = acc;
}
