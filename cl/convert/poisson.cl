// Poisson blending by Hockney's method (engine/convert/poisson.h): a DST-I
// along the "line" axis t (nt interior points) and exact tridiagonal solves
// along the "sweep" axis s (ms points).
//
// Transform rows are line-major, line = c * ms + s for channel c. Where the
// value v of frequency or position k = t + 1 of a line goes in a transform's
// input row, and where it is read back from the transform's complex output,
// depends on the DST's construction (real FFT of the odd extension, or a
// chirp-z convolution), so the host passes per-t tables instead of a mode:
//   off[t] = (o1, o2, ro, -): float offsets of the two input slots, complex
//            offset of the output slot, within a row;
//   wt[t]  = (w1, w2, ra, rb): input slots get v * w1 and v * w2; the value
//            read back is ra * re + rb * im of the output slot.
// Input slots no table names (the odd extension's zeros, the convolution's
// padding) are zeroed by the host once per layout.

inline void put(global float *row, const int4 o, const float4 q, const float v) {
  row[o.x] = v * q.x;
  row[o.y] = v * q.y;
}

inline float get(global const float2 *row, const int4 o, const float4 q) {
  const float2 z = row[o.z];
  return q.z * z.x + q.w * z.y;
}

// r = div(m grad(src - dst)) at each interior pixel (the right-hand side of
// lap u = r for f = dst + u): forward differences for the gradient, taken
// where the mask at their pixel is > 0.5, backward differences for the
// divergence. Written into the forward transform's rows.
kernel void poisson_rhs(global float *restrict rows, global const float *restrict src,
                        global const float *restrict dst, global const float *restrict mask,
                        global const int4 *restrict off, global const float4 *restrict wt,
                        const int w, const int h, const int transpose, const int pitch) {
  const int x = (int)get_global_id(0) + 1, y = (int)get_global_id(1) + 1;
  if (x > w - 2 || y > h - 2) return;
  const int t = transpose ? y - 1 : x - 1, s = transpose ? x - 1 : y - 1;
  const int ms = transpose ? w - 2 : h - 2;
  const int i = y * w + x;
  const float m = mask[i] > 0.5f ? 1.0f : 0.0f;
  const float ml = mask[i - 1] > 0.5f ? 1.0f : 0.0f;
  const float mu = mask[i - w] > 0.5f ? 1.0f : 0.0f;
  const int4 o = off[t];
  const float4 q = wt[t];
  for (int c = 0; c < 3; c++) {
    const int j = i * 3 + c, r3 = w * 3;
    const float e = src[j] - dst[j];
    const float el = src[j - 3] - dst[j - 3], er = src[j + 3] - dst[j + 3];
    const float eu = src[j - r3] - dst[j - r3], ed = src[j + r3] - dst[j + r3];
    const float r = m * (er - e) - ml * (e - el) + m * (ed - e) - mu * (e - eu);
    put(rows + (size_t)(c * ms + s) * pitch, o, q, r);
  }
}

// One work-item per frequency t, all three channels: Gaussian elimination of
//   u(s-1) + d_t u(s) + u(s+1) = r(s),  u(-1) = u(ms) = 0,
// with the pivots piv[s * nt + t] = 1 / (d_t - piv[(s-1) * nt + t]) from the
// host. The forward sweep keeps its partial results in the real slot of the
// transform output it read; the back substitution writes the solution into
// the inverse transform's input rows.
kernel void poisson_sweep(global float2 *restrict spec, global float *restrict rows,
                          global const float *restrict piv, global const int4 *restrict off,
                          global const float4 *restrict wt, const int nt, const int ms,
                          const int spec_pitch, const int pitch) {
  const int t = (int)get_global_id(0);
  if (t >= nt) return;
  const int4 o = off[t];
  const float4 q = wt[t];
  const size_t plane = (size_t)ms * spec_pitch;
  float d0 = 0.0f, d1 = 0.0f, d2 = 0.0f;
  for (int s = 0; s < ms; s++) {
    const float p = piv[(size_t)s * nt + t];
    global float2 *z = spec + (size_t)s * spec_pitch;
    d0 = (get(z, o, q) - d0) * p;
    d1 = (get(z + plane, o, q) - d1) * p;
    d2 = (get(z + 2 * plane, o, q) - d2) * p;
    z[o.z].x = d0;
    z[plane + o.z].x = d1;
    z[2 * plane + o.z].x = d2;
  }
  float u0 = 0.0f, u1 = 0.0f, u2 = 0.0f;
  const size_t rplane = (size_t)ms * pitch;
  for (int s = ms - 1; s >= 0; s--) {
    const float p = piv[(size_t)s * nt + t];
    global const float2 *z = spec + (size_t)s * spec_pitch + o.z;
    u0 = z[0].x - p * u0;
    u1 = z[plane].x - p * u1;
    u2 = z[2 * plane].x - p * u2;
    global float *row = rows + (size_t)s * pitch;
    put(row, o, q, u0);
    put(row + rplane, o, q, u1);
    put(row + 2 * rplane, o, q, u2);
  }
}

// The chirp-z convolution's pointwise product with the transformed kernel.
kernel void poisson_chirp_mul(global float *restrict spec, global const float *restrict kern,
                              const int n, const int pitch, const int lines) {
  const int j = (int)get_global_id(0), line = (int)get_global_id(1);
  if (j >= n || line >= lines) return;
  global float *z = spec + ((size_t)line * pitch + j) * 2;
  const float ar = z[0], ai = z[1], br = kern[2 * j], bi = kern[2 * j + 1];
  z[0] = ar * br - ai * bi;
  z[1] = ar * bi + ai * br;
}

// out = dst on the ring, dst + scale * (inverse DST) inside.
kernel void poisson_finish(global float *restrict out, global const float *restrict dst,
                           global const float2 *restrict spec, global const int4 *restrict off,
                           global const float4 *restrict wt, const int w, const int h,
                           const int transpose, const int spec_pitch, const float scale) {
  const int x = (int)get_global_id(0), y = (int)get_global_id(1);
  if (x >= w || y >= h) return;
  const size_t j = ((size_t)y * w + x) * 3;
  if (x == 0 || y == 0 || x == w - 1 || y == h - 1) {
    out[j] = dst[j];
    out[j + 1] = dst[j + 1];
    out[j + 2] = dst[j + 2];
    return;
  }
  const int t = transpose ? y - 1 : x - 1, s = transpose ? x - 1 : y - 1;
  const int ms = transpose ? w - 2 : h - 2;
  const int4 o = off[t];
  const float4 q = wt[t];
  for (int c = 0; c < 3; c++)
    out[j + c] = dst[j + c] + scale * get(spec + (size_t)(c * ms + s) * spec_pitch, o, q);
}
