// Patch gathering for convolution as GEMM, NHWC.
//
// Forward and backward-filter use the patch matrix of the input:
//   P[r, (ky, kx, ci)] = X[n, oy*s - pt + ky, ox*s - pl + kx, ci]  (0 outside)
// for output pixels r = (n, oy, ox) of rows [row0, row0 + rows). Then
// Y = P . W with W as [(ky, kx, ci), co].
//
// Backward-data gathers from the output gradient instead, one input phase
// (iy, ix mod s) at a time and only the taps that reach it (below:
// im2col_backward_phase, weights_transpose, scatter_phase).
//
// One work-item per patch element; consecutive work-items walk channels, so
// reads and writes are contiguous. Rows lie `pitch` floats apart (the row
// width, or 16 more where the width is a multiple of 512 floats: rows 2 KiB
// apart share cache sets, and the GEMM that reads them would thrash).

// One work-item per (row, tap) copies the tap's run of channels: the index
// arithmetic is paid once per run, not once per element, and both the read
// (an NHWC pixel) and the write are contiguous.
kernel void im2col_forward(global float *restrict P, const ulong p_off, const uint pitch,
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
  global float *dst = P + p_off + (size_t)r * pitch + (size_t)tap * c;
  if (iy >= 0 && iy < (int)h && ix >= 0 && ix < (int)w) {
    global const float *src = X + (((size_t)n * h + (uint)iy) * w + (uint)ix) * c;
    for (uint ci = 0; ci < c; ci++) dst[ci] = src[ci];
  } else {
    for (uint ci = 0; ci < c; ci++) dst[ci] = 0.0f;
  }
}

// The weights of the taps (ky0 + jy * stride, kx0 + jx * stride), jy < nky,
// jx < nkx, of [k][k][cin][cout] weights from in_off, transposed to [(jy, jx,
// co)][ci]: out[(j * cout + co) * cin + ci] = W[ky, kx, ci, co], j = jy * nkx
// + jx (a backward-data phase's taps; a dense layer's [in][out] is k = 1,
// one tap). One work-item per column co of 16 rows ci of a tap: it reads
// them down the column and writes 16 consecutive floats of out, and its
// neighbours (co + 1) read the next floats of the same rows, so both sides
// stream (one element per work-item, reading down a column of a 32768 x 512
// matrix, ran at 1.5 GB/s on PoCL).
kernel void weights_transpose(global float *restrict out, global const float *restrict in,
                              const ulong in_off, const uint k, const uint cin, const uint cout,
                              const uint stride, const uint ky0, const uint kx0, const uint nky,
                              const uint nkx) {
  const uint blocks = (cin + 15) / 16;
  const size_t e = get_global_id(0);
  if (e >= (size_t)nky * nkx * blocks * cout) return;
  // quotients first, remainders by subtraction (no LLVM freeze for Oclgrind)
  const size_t jb = e / cout;
  const uint co = (uint)(e - jb * cout);
  const uint j = (uint)(jb / blocks), b = (uint)(jb - (size_t)j * blocks);
  const uint jy = j / nkx, jx = j - jy * nkx;
  const uint ky = ky0 + jy * stride, kx = kx0 + jx * stride;
  const uint i0 = 16 * b, n = min(16u, cin - i0);
  global const float *src = in + in_off + (((size_t)ky * k + kx) * cin + i0) * cout + co;
  global float *dst = out + ((size_t)j * cout + co) * cin + i0;
  for (uint i = 0; i < n; i++) dst[i] = src[(size_t)i * cout];
}

// dW[(k) * cout + co] = dWt[co * kc + k] from dW^T at the front of the
// scratch (a narrow layer's weight gradient, engine/nn/conv2d.c). One
// work-item per element, reading dWt in order.
kernel void weights_untranspose(global float *restrict dw, const ulong dw_off,
                                global const float *restrict dwt, const uint kc,
                                const uint cout) {
  const size_t e = get_global_id(0);
  if (e >= (size_t)kc * cout) return;
  const uint co = (uint)(e / kc), k = (uint)(e - (size_t)co * kc);
  dw[dw_off + (size_t)k * cout + co] = dwt[e];
}

// ---- backward data of a strided convolution, one input phase at a time
// (engine/nn/conv2d.c): the input pixels (n, iy = a * stride + py, ix = b *
// stride + px), numbered r = (n * hy + a) * wx + b, receive gradient only
// through the taps ky = ky0 + jy * stride (jy < nky) and kx = kx0 + jx *
// stride (jx < nkx), for which iy + pad_top - ky is a multiple of the
// stride. Quotients first, remainders by subtraction, as above.

// Q[r, (jy, jx, co)] = dZ[n, oy, ox, co], oy = (iy + pad_top - ky) / stride
// (exact), 0 outside the output. One work-item per (row, tap).
kernel void im2col_backward_phase(global float *restrict Q, const ulong q_off, const uint pitch,
                                  global const float *restrict dZ, const uint row0,
                                  const uint rows, const uint cout, const uint oh, const uint ow,
                                  const uint stride, const uint pad_top, const uint pad_left,
                                  const uint py, const uint px, const uint hy, const uint wx,
                                  const uint ky0, const uint kx0, const uint nky,
                                  const uint nkx) {
  const uint taps = nky * nkx;
  const size_t t = get_global_id(0);
  if (t >= (size_t)rows * taps) return;
  const uint r = (uint)(t / taps), j = (uint)(t - (size_t)r * taps);
  const uint jy = j / nkx, jx = j - jy * nkx;
  const uint m = row0 + r;
  const uint p = m / wx, b = m - p * wx, n = p / hy, a = p - n * hy;
  const int ty = (int)(a * stride + py + pad_top) - (int)(ky0 + jy * stride);
  const int tx = (int)(b * stride + px + pad_left) - (int)(kx0 + jx * stride);
  global float *dst = Q + q_off + (size_t)r * pitch + (size_t)j * cout;
  if (ty >= 0 && tx >= 0) {
    const uint oy = (uint)ty / stride, ox = (uint)tx / stride;
    if (oy < oh && ox < ow) {
      global const float *src = dZ + (((size_t)n * oh + oy) * ow + ox) * cout;
      for (uint co = 0; co < cout; co++) dst[co] = src[co];
      return;
    }
  }
  for (uint co = 0; co < cout; co++) dst[co] = 0.0f;
}

// dX[n, iy, ix, :] = src[r, :] for the rows [row0, row0 + rows) of a phase
// (src holds those rows from src_off). One work-item per element.
kernel void scatter_phase(global float *restrict dx, global const float *restrict src,
                          const ulong src_off, const uint row0, const uint rows, const uint h,
                          const uint w, const uint cin, const uint stride, const uint py,
                          const uint px, const uint hy, const uint wx) {
  const size_t e = get_global_id(0);
  if (e >= (size_t)rows * cin) return;
  const uint r = (uint)(e / cin), ci = (uint)(e - (size_t)r * cin);
  const uint m = row0 + r;
  const uint p = m / wx, b = m - p * wx, n = p / hy, a = p - n * hy;
  const size_t iy = (size_t)a * stride + py, ix = (size_t)b * stride + px;
  dx[(((size_t)n * h + iy) * w + ix) * cin + ci] = src[src_off + e];
}
