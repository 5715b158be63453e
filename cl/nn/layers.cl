// Elementwise and reduction pieces of the layers, NHWC.

#define ACT_NONE 0u
#define ACT_LRELU 1u
#define ACT_SIGMOID 2u

// dz = dy * act'(y); the derivative is taken from the stored output y.
kernel void act_backward(global float *dz, global const float *dy, global const float *restrict y,
                         const uint act, const uint n) {
  const uint i = get_global_id(0);
  if (i >= n) return;
  float d = dy[i];
  const float v = y[i];
  if (act == ACT_LRELU) d *= v > 0.0f ? 1.0f : 0.1f;
  else if (act == ACT_SIGMOID) d *= v * (1.0f - v);
  dz[i] = d;
}

// db[c] = sum over rows of dz[row, c]. One work-item per channel; rows are
// summed in a fixed order so results do not depend on the device.
// Compensated (Kahan) summation: a batch of 64 sums up to 65536 rows.
inline float column_sum(global const float *restrict dz, const uint rows, const uint c,
                        const uint col) {
  float acc = 0.0f, comp = 0.0f;
  for (uint r = 0; r < rows; r++) {
    const float yv = dz[(size_t)r * c + col] - comp;
    const float t = acc + yv;
    comp = (t - acc) - yv;
    acc = t;
  }
  return acc;
}

kernel void bias_grad(global float *restrict db, const ulong db_off, global const float *restrict dz,
                      const uint rows, const uint c) {
  const uint j = get_global_id(0);
  if (j >= c) return;
  db[db_off + j] = column_sum(dz, rows, c, j);
}

// The same sums, 16 channels per work-item in float16 lanes, for CPUs: there
// each work-item's row loop is a chain of dependent adds that PoCL cannot
// vectorise across work-items (it runs inside them), so one channel per
// work-item ran one lane at a time (a batch-64 step spent 100 ms here). Every
// lane does the scalar kernel's arithmetic in its order, so the results are
// identical. Work-items past c / 16 take the remaining channels one each.
kernel void bias_grad16(global float *restrict db, const ulong db_off,
                        global const float *restrict dz, const uint rows, const uint c) {
  const uint j = get_global_id(0), blocks = c / 16;
  if (j >= blocks + (c - blocks * 16)) return;
  if (j >= blocks) {
    const uint col = blocks * 16 + (j - blocks);
    db[db_off + col] = column_sum(dz, rows, c, col);
    return;
  }
  float16 acc = (float16)0.0f, comp = (float16)0.0f;
  global const float *p = dz + 16 * (size_t)j;
  for (uint r = 0; r < rows; r++, p += c) {
    const float16 yv = vload16(0, p) - comp;
    const float16 t = acc + yv;
    comp = (t - acc) - yv;
    acc = t;
  }
  vstore16(acc, 0, db + db_off + 16 * (size_t)j);
}

// TF depth_to_space (DCR) with block 2, NHWC:
//   out[n, 2y+i, 2x+j, ch] = in[n, y, x, (2i + j) * f + ch]
// Forward and backward are the two directions of one permutation. It moves
// runs of f channels: run r = ((b * h + y) * w + x) * 4 + (2i + j) is
// in[r * f, +f) and out[(((b * 2h + 2y + i) * 2w + 2x + j) * f, +f). One
// work-item per float, dimension 0 along the run, so both sides are read
// and written contiguously and the run's index arithmetic is the same for
// a whole row of work-items (one element per work-item over a flat index
// divided per element ran at 2.5 GB/s on PoCL).
inline size_t shuffled_run(const size_t r, const uint h, const uint w) {
  const size_t p = r >> 2; // (b, y, x)
  const uint q = (uint)(r - (p << 2)), i = q >> 1, j = q & 1;
  const size_t pq = p / w, b = pq / h;
  const uint x = (uint)(p - pq * w), y = (uint)(pq - b * h);
  return ((b * 2 * h + 2 * y + i) * 2 * w + 2 * x + j);
}

kernel void pixel_shuffle_forward(global float *restrict out, global const float *restrict in,
                                  const uint n, const uint h, const uint w, const uint f) {
  const uint ch = get_global_id(0);
  const size_t r = get_global_id(1);
  if (ch >= f || r >= (size_t)n * h * w * 4) return;
  out[shuffled_run(r, h, w) * f + ch] = in[r * f + ch];
}

kernel void pixel_shuffle_backward(global float *restrict din, global const float *restrict dout,
                                   const uint n, const uint h, const uint w, const uint f) {
  const uint ch = get_global_id(0);
  const size_t r = get_global_id(1);
  if (ch >= f || r >= (size_t)n * h * w * 4) return;
  din[r * f + ch] = dout[shuffled_run(r, h, w) * f + ch];
}

// A decoder's mask channel beside its image: y [pixels][c + 1] ->
// image [pixels][c] and mask [pixels]; merge is the backward pass.
kernel void channel_split(global float *restrict image, global float *restrict mask,
                          global const float *restrict y, const uint c, const uint pixels) {
  const size_t p = get_global_id(0);
  if (p >= pixels) return;
  for (uint ch = 0; ch < c; ch++)
    image[p * c + ch] = y[p * (c + 1) + ch];
  mask[p] = y[p * (c + 1) + c];
}

kernel void channel_merge(global float *restrict dy, global const float *restrict d_image,
                          global const float *restrict d_mask, const uint c, const uint pixels) {
  const size_t p = get_global_id(0);
  if (p >= pixels) return;
  for (uint ch = 0; ch < c; ch++)
    dy[p * (c + 1) + ch] = d_image[p * c + ch];
  dy[p * (c + 1) + c] = d_mask[p];
}

// The bias gradient as a two-stage reduction, for GPUs, where one work-item
// per channel leaves most of the device idle (the output layer's 3 channels
// over 65,536 rows a batch of 16: 3 work-items). Stage one: work-item i sums
// (Kahan, as column_sum) the rows [p * chunk, (p + 1) * chunk) of channel
// i % c, p = i / c, into part[p * c + i % c]; neighbouring work-items read
// neighbouring channels of a row. Stage two adds each channel's parts in
// order. The result differs from column_sum's only by rounding.
kernel void bias_grad_part(global float *restrict part, global const float *restrict dz,
                           const uint rows, const uint c, const uint chunk, const uint parts) {
  const uint i = get_global_id(0);
  if (i >= parts * c) return;
  const uint p = i / c, col = i - p * c;
  const uint r0 = p * chunk, r1 = min(rows, r0 + chunk);
  float acc = 0.0f, comp = 0.0f;
  for (uint r = r0; r < r1; r++) {
    const float yv = dz[(size_t)r * c + col] - comp;
    const float t = acc + yv;
    comp = (t - acc) - yv;
    acc = t;
  }
  part[i] = acc;
}

kernel void bias_grad_sum(global float *restrict db, const ulong db_off,
                          global const float *restrict part, const uint parts, const uint c) {
  const uint col = get_global_id(0);
  if (col >= c) return;
  db[db_off + col] = column_sum(part, parts, c, col);
}
