// Patch gathering for convolution as GEMM, NHWC.
//
// Forward and backward-filter use the patch matrix of the input:
//   P[r, (ky, kx, ci)] = X[n, oy*s - pt + ky, ox*s - pl + kx, ci]  (0 outside)
// for output pixels r = (n, oy, ox) of rows [row0, row0 + rows). Then
// Y = P . W with W as [(ky, kx, ci), co].
//
// Backward-data gathers from the output gradient instead:
//   Q[r, (ky, kx, co)] = dZ[n, oy, ox, co] where iy + pt - ky = oy*s (and the
//   same for x), 0 when that is not an exact output position,
// for input pixels r = (n, iy, ix); then dX = Q . Wt with Wt the weights
// transposed to [(ky, kx, co), ci] (weights_transpose).
//
// One work-item per patch element; consecutive work-items walk channels, so
// reads and writes are contiguous.

// One work-item per (row, tap) copies the tap's run of channels: the index
// arithmetic is paid once per run, not once per element, and both the read
// (an NHWC pixel) and the write are contiguous.
kernel void im2col_forward(global float *restrict P, const ulong p_off,
                           global const float *restrict X, const uint row0, const uint rows,
                           const uint h, const uint w, const uint c, const uint oh, const uint ow,
                           const uint k, const uint stride, const uint pad_top,
                           const uint pad_left) {
  const uint kk = k * k;
  const size_t t = get_global_id(0);
  if (t >= (size_t)rows * kk) return;
  // quotients first, remainders by subtraction: a / and % pair on the same
  // operands becomes an LLVM freeze that Oclgrind cannot check
  const uint r = (uint)(t / kk), tap = (uint)(t - (size_t)r * kk);
  const uint ky = tap / k, kx = tap - ky * k;
  const uint m = row0 + r;
  const uint p = m / ow, ox = m - p * ow, n = p / oh, oy = p - n * oh;
  const int iy = (int)(oy * stride + ky) - (int)pad_top;
  const int ix = (int)(ox * stride + kx) - (int)pad_left;
  global float *dst = P + p_off + t * c;
  if (iy >= 0 && iy < (int)h && ix >= 0 && ix < (int)w) {
    global const float *src = X + (((size_t)n * h + (uint)iy) * w + (uint)ix) * c;
    for (uint ci = 0; ci < c; ci++) dst[ci] = src[ci];
  } else {
    for (uint ci = 0; ci < c; ci++) dst[ci] = 0.0f;
  }
}

kernel void im2col_backward(global float *restrict Q, const ulong q_off,
                            global const float *restrict dZ, const uint row0, const uint rows,
                            const uint h, const uint w, const uint cout, const uint oh,
                            const uint ow, const uint k, const uint stride, const uint pad_top,
                            const uint pad_left) {
  const uint kk = k * k;
  const size_t t = get_global_id(0);
  if (t >= (size_t)rows * kk) return;
  const uint r = (uint)(t / kk), tap = (uint)(t - (size_t)r * kk);
  const uint ky = tap / k, kx = tap - ky * k;
  const uint m = row0 + r;
  const uint p = m / w, ix = m - p * w, n = p / h, iy = p - n * h;
  const int ty = (int)(iy + pad_top) - (int)ky, tx = (int)(ix + pad_left) - (int)kx;
  global float *dst = Q + q_off + t * cout;
  if (ty >= 0 && tx >= 0) {
    const uint oy = (uint)ty / stride, ox = (uint)tx / stride;
    if (oy * stride == (uint)ty && ox * stride == (uint)tx && oy < oh && ox < ow) {
      global const float *src = dZ + (((size_t)n * oh + oy) * ow + ox) * cout;
      for (uint co = 0; co < cout; co++) dst[co] = src[co];
      return;
    }
  }
  for (uint co = 0; co < cout; co++) dst[co] = 0.0f;
}

// For each of `slices` matrices of rows x cols: out[s][j][i] = in[s][i][j].
// Conv weights [kh*kw][ci][co] -> [kh*kw][co][ci]; dense weights, one slice.
kernel void weights_transpose(global float *restrict out, global const float *restrict in,
                              const ulong in_off, const uint slices, const uint rows,
                              const uint cols) {
  const size_t e = get_global_id(0);
  const size_t per = (size_t)rows * cols;
  if (e >= per * slices) return;
  const size_t s = e / per;
  const uint rem = (uint)(e - s * per);
  const uint j = rem / rows, i = rem - j * rows; // out index (s, j, i), i fastest
  out[e] = in[in_off + s * per + (size_t)i * cols + j];
}
