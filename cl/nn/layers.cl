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
kernel void bias_grad(global float *restrict db, const ulong db_off, global const float *restrict dz,
                      const uint rows, const uint c) {
  const uint j = get_global_id(0);
  if (j >= c) return;
  // compensated (Kahan) summation: a batch of 64 sums up to 65536 rows
  float acc = 0.0f, comp = 0.0f;
  for (uint r = 0; r < rows; r++) {
    const float yv = dz[(size_t)r * c + j] - comp;
    const float t = acc + yv;
    comp = (t - acc) - yv;
    acc = t;
  }
  db[db_off + j] = acc;
}

// TF depth_to_space (DCR) with block 2, NHWC:
//   out[n, 2y+i, 2x+j, ch] = in[n, y, x, (2i + j) * f + ch]
// Forward and backward are the two directions of one permutation.
kernel void pixel_shuffle_forward(global float *restrict out, global const float *restrict in,
                                  const uint n, const uint h, const uint w, const uint f) {
  const size_t e = get_global_id(0);
  const size_t total = (size_t)n * h * w * 4 * f;
  if (e >= total) return;
  const size_t p = e / f; // output pixel (b, oy, ox) of a 2h x 2w image
  const uint ch = (uint)(e - p * f);
  const size_t q = p / (2 * w), b = q / (2 * h);
  const uint ox = (uint)(p - q * 2 * w), oy = (uint)(q - b * 2 * h);
  const uint y = oy >> 1, i = oy & 1, x = ox >> 1, j = ox & 1;
  out[e] = in[(((size_t)b * h + y) * w + x) * 4 * f + (2 * i + j) * f + ch];
}

kernel void pixel_shuffle_backward(global float *restrict din, global const float *restrict dout,
                                   const uint n, const uint h, const uint w, const uint f) {
  const size_t e = get_global_id(0);
  const size_t total = (size_t)n * h * w * 4 * f;
  if (e >= total) return;
  const size_t p = e / (4 * f); // input pixel (b, y, x)
  const uint c4 = (uint)(e - p * 4 * f);
  const size_t pq = p / w, b = pq / h;
  const uint x = (uint)(p - pq * w), y = (uint)(pq - b * h);
  const uint q = c4 / f, ch = c4 - q * f, i = q >> 1, j = q & 1;
  din[e] = dout[(((size_t)b * 2 * h + 2 * y + i) * 2 * w + 2 * x + j) * f + ch];
}
