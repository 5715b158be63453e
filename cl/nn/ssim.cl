// SSIM-family losses, forward and backward, NHWC, each channel on its own.
// SSIM (Wang et al. 2004) with an 11 x 11 Gaussian window, sigma 1.5, over
// the 'valid' positions only (as tf.image.ssim and pytorch_msssim), data
// range 1: C1 = 0.01^2, C2 = 0.03^2. With y the prediction and t the target,
// at each window position p:
//   S  = (2 my mt + C1)(2 cyt + C2) / ((my^2 + mt^2 + C1)(vy + vt + C2))
//   cs = (2 cyt + C2) / (vy + vt + C2)   (contrast-structure, for MS-SSIM)
// where my, mt are window means and vy, vt, cyt (co)variances, all from the
// five moments my, mt, E[y^2], E[t^2], E[yt].
//
// The backward pass treats a map value V (S or cs) as a function of my,
// E[y^2], E[yt]; with A1, A2, B1, B2 the four factors:
//   dS/dmy  = S (2 mt / A1 - 2 mt / A2 - 2 my / B1 + 2 my / B2)
//   dcs/dmy = cs (-2 mt / A2 + 2 my / B2)
//   dV/dE[y2] = -V / B2,  dV/dE[yt] = 2 V / A2
// so dL/dy_q = sum over windows p holding q of
//   g_pq dL/dV_p (dV/dmy_p + 2 y_q dV/dE[y2]_p + t_q dV/dE[yt]_p)
// with g_pq the window weight. Buffers carry element offsets, so one
// scratch buffer holds a whole image pyramid.

#define WIN 11
#define C1 1.0e-4f
#define C2 9.0e-4f

// exp(-(i - 5)^2 / (2 * 1.5^2)), normalised to sum 1
constant float GAUSS[WIN] = {1.028380084e-03f, 7.598758135e-03f, 3.600077213e-02f, 1.093606895e-01f,
                             2.130055377e-01f, 2.660117249e-01f, 2.130055377e-01f, 1.093606895e-01f,
                             3.600077213e-02f, 7.598758135e-03f, 1.028380084e-03f};

// (b, y, x, ch) of an NHWC index: quotients first, remainders by subtraction
// (from i % n beside i / n LLVM makes a freeze, which Oclgrind cannot run)
inline uint4 nhwc_index(const uint i, const uint h, const uint w, const uint c) {
  const uint q1 = i / c, q2 = q1 / w, q3 = q2 / h;
  return (uint4)(q3, q2 - q3 * h, q1 - q2 * w, i - q1 * c);
}

// The window is separable (g_ij = G[i] G[j]), so each pass runs in two:
// 11 taps across, then 11 down, instead of 121. maps + mo holds four maps of
// the P = n (h - 10)(w - 10) c valid positions -- V, dV/dmy, dV/dE[y2],
// dV/dE[yt], V = S (cs_only 0) or cs (cs_only 1) -- then five row maps of
// Q = n h (w - 10) c: the horizontal sums forward, three of them again for
// the backward pass.

// Forward, across: one work-item per (b, iy, px, ch) of [n, h, w - 10, c].
kernel void ssim_rows(global float *maps, const uint mo, global const float *y, const uint yo,
                      global const float *t, const uint to, const uint n, const uint h,
                      const uint w, const uint c) {
  const uint ow = w - (WIN - 1), oh = h - (WIN - 1);
  const uint gid = get_global_id(0);
  const uint Q = n * h * ow * c;
  if (gid >= Q) return;
  global float *r = maps + mo + 4 * (size_t)n * oh * ow * c;
  const uint4 at4 = nhwc_index(gid, h, ow, c);
  const size_t row = ((size_t)(at4.x * h + at4.y) * w + at4.z) * c + at4.w;
  float sy = 0.0f, st = 0.0f, syy = 0.0f, stt = 0.0f, syt = 0.0f;
  for (uint j = 0; j < WIN; j++) {
    const float g = GAUSS[j], a = y[yo + row + (size_t)j * c], b = t[to + row + (size_t)j * c];
    sy = fma(g, a, sy);
    st = fma(g, b, st);
    syy = fma(g, a * a, syy);
    stt = fma(g, b * b, stt);
    syt = fma(g, a * b, syt);
  }
  r[gid] = sy;
  r[Q + gid] = st;
  r[2 * (size_t)Q + gid] = syy;
  r[3 * (size_t)Q + gid] = stt;
  r[4 * (size_t)Q + gid] = syt;
}

// Forward, down, then the map value and its derivatives: one work-item per
// valid position (b, py, px, ch) of [n, h - 10, w - 10, c].
kernel void ssim_forward(global float *maps, const uint mo, const uint n, const uint h,
                         const uint w, const uint c, const uint cs_only) {
  const uint oh = h - (WIN - 1), ow = w - (WIN - 1);
  const uint gid = get_global_id(0);
  const uint P = n * oh * ow * c;
  if (gid >= P) return;
  const size_t Q = (size_t)n * h * ow * c;
  global float *v = maps + mo, *dm = v + P, *dyy = v + 2 * (size_t)P, *dyt = v + 3 * (size_t)P;
  global const float *r = v + 4 * (size_t)P;
  const uint4 at4 = nhwc_index(gid, oh, ow, c);
  const size_t base = ((size_t)(at4.x * h + at4.y) * ow + at4.z) * c + at4.w;
  const size_t down = (size_t)ow * c;
  float my = 0.0f, mt = 0.0f, eyy = 0.0f, ett = 0.0f, eyt = 0.0f;
  for (uint i = 0; i < WIN; i++) {
    const float g = GAUSS[i];
    const size_t q = base + i * down;
    my = fma(g, r[q], my);
    mt = fma(g, r[Q + q], mt);
    eyy = fma(g, r[2 * Q + q], eyy);
    ett = fma(g, r[3 * Q + q], ett);
    eyt = fma(g, r[4 * Q + q], eyt);
  }
  const float a1 = 2.0f * my * mt + C1, a2 = 2.0f * (eyt - my * mt) + C2;
  const float b1 = my * my + mt * mt + C1, b2 = (eyy - my * my) + (ett - mt * mt) + C2;
  // No division by a1 or a2: a2 = 2 cov + C2 reaches 0 where y and t
  // anticorrelate, and s times 1 / a2 is then 0 x inf (a NaN mid-training).
  const float cs = a2 / b2;
  if (cs_only) {
    v[gid] = cs;
    dm[gid] = 2.0f * (my * cs - mt) / b2;
    dyy[gid] = -cs / b2;
    dyt[gid] = 2.0f / b2;
  } else {
    const float b12 = b1 * b2, s = (a1 * a2) / b12;
    v[gid] = s;
    dm[gid] = 2.0f * mt * (a2 - a1) / b12 - 2.0f * my * s * (1.0f / b1 - 1.0f / b2);
    dyy[gid] = -s / b2;
    dyt[gid] = 2.0f * a1 / b12;
  }
}

// Backward, up: one work-item per (b, iy, px, ch) of [n, h, w - 10, c], the
// window transpose down the column, into the first three row maps.
kernel void ssim_back_rows(global float *maps, const uint mo, const uint n, const uint h,
                           const uint w, const uint c) {
  const uint oh = h - (WIN - 1), ow = w - (WIN - 1);
  const uint gid = get_global_id(0);
  const uint Q = n * h * ow * c;
  if (gid >= Q) return;
  const size_t P = (size_t)n * oh * ow * c;
  global const float *dm = maps + mo + P, *dyy = maps + mo + 2 * P, *dyt = maps + mo + 3 * P;
  global float *r = maps + mo + 4 * P;
  const uint4 at4 = nhwc_index(gid, h, ow, c);
  const uint iy = at4.y;
  const uint py0 = iy >= WIN - 1 ? iy - (WIN - 1) : 0, py1 = iy < oh ? iy : oh - 1;
  float sm = 0.0f, syy = 0.0f, syt = 0.0f;
  for (uint py = py0; py <= py1; py++) {
    const float g = GAUSS[iy - py];
    const size_t p = ((size_t)(at4.x * oh + py) * ow + at4.z) * c + at4.w;
    sm = fma(g, dm[p], sm);
    syy = fma(g, dyy[p], syy);
    syt = fma(g, dyt[p], syt);
  }
  r[gid] = sm;
  r[Q + gid] = syy;
  r[2 * (size_t)Q + gid] = syt;
}

// Backward, across: one work-item per input element (b, iy, ix, ch) of
// dy + dyo. dL/dV_p is scale, times factor[fo + b c + ch] when use_factor
// (MS-SSIM's per-channel weights). Adds to dy when accumulate, else
// overwrites it.
kernel void ssim_backward(global float *dy, const uint dyo, global const float *maps, const uint mo,
                          global const float *y, const uint yo, global const float *t,
                          const uint to, const uint n, const uint h, const uint w, const uint c,
                          const float scale, global const float *factor, const uint fo,
                          const uint use_factor, const uint accumulate) {
  const uint oh = h - (WIN - 1), ow = w - (WIN - 1);
  const uint gid = get_global_id(0);
  if (gid >= n * h * w * c) return;
  const size_t P = (size_t)n * oh * ow * c, Q = (size_t)n * h * ow * c;
  global const float *r = maps + mo + 4 * P;
  const uint4 at4 = nhwc_index(gid, h, w, c);
  const uint b = at4.x, iy = at4.y, ix = at4.z, ch = at4.w;
  const uint px0 = ix >= WIN - 1 ? ix - (WIN - 1) : 0, px1 = ix < ow ? ix : ow - 1;
  float sm = 0.0f, syy = 0.0f, syt = 0.0f;
  for (uint px = px0; px <= px1; px++) {
    const float g = GAUSS[ix - px];
    const size_t q = ((size_t)(b * h + iy) * ow + px) * c + ch;
    sm = fma(g, r[q], sm);
    syy = fma(g, r[Q + q], syy);
    syt = fma(g, r[2 * Q + q], syt);
  }
  const float k = use_factor ? scale * factor[fo + b * c + ch] : scale;
  const float grad = k * (sm + 2.0f * y[yo + gid] * syy + t[to + gid] * syt);
  dy[dyo + gid] = accumulate ? dy[dyo + gid] + grad : grad;
}

// maps[meo + b c + ch] = the mean of map V (maps + mo) over the positions
// of image b, channel ch; one work-item each, a fixed order.
kernel void ssim_channel_means(global float *maps, const uint meo, const uint mo, const uint n,
                               const uint positions, const uint c) {
  const uint k = get_global_id(0);
  if (k >= n * c) return;
  const uint b = k / c, ch = k - b * c;
  global const float *v = maps + mo + (size_t)b * positions * c + ch;
  float s = 0.0f;
  for (uint p = 0; p < positions; p++)
    s += v[(size_t)p * c];
  maps[meo + k] = s / (float)positions;
}

// MS-SSIM of each image channel k from its per-scale means m_j (maps[meo +
// j n c + k]): V = prod_j max(m_j, MS_FLOOR)^w_j (cs at the finer scales, S
// at the last). Writes V to maps[vo + k] and dL/dV_j-map = dlv * w_j V / m_j
// / positions_j to maps[fo + j n c + k] (0 where the floor holds: its slope).
#define MS_FLOOR 1.0e-6f
kernel void ms_ssim_combine(global float *maps, const uint fo, const uint vo, const uint meo,
                            const uint n, const uint c, const uint scales, const float4 wts,
                            const float wt4, const uint4 positions, const uint positions4,
                            const float dlv) {
  const uint k = get_global_id(0), nc = n * c;
  if (k >= nc) return;
  global float *factor = maps + fo, *value = maps + vo;
  global const float *means = maps + meo;
  const float wj[5] = {wts.x, wts.y, wts.z, wts.w, wt4};
  const uint pj[5] = {positions.x, positions.y, positions.z, positions.w, positions4};
  float v = 1.0f;
  for (uint j = 0; j < scales; j++)
    v *= pow(fmax(means[j * nc + k], MS_FLOOR), wj[j]);
  value[k] = v;
  for (uint j = 0; j < scales; j++) {
    const float m = means[j * nc + k];
    factor[j * nc + k] = m > MS_FLOOR ? dlv * wj[j] * v / m / (float)pj[j] : 0.0f;
  }
}

// 2 x 2 average pooling, NHWC, [n, h, w, c] -> [n, h / 2, w / 2, c] (floor,
// as F.avg_pool2d); one work-item per output element.
kernel void avg_pool2_forward(global float *out, const uint oo, global const float *in,
                              const uint io, const uint n, const uint h, const uint w,
                              const uint c) {
  const uint oh = h / 2, ow = w / 2;
  const uint gid = get_global_id(0);
  if (gid >= n * oh * ow * c) return;
  const uint4 at4 = nhwc_index(gid, oh, ow, c);
  const size_t i = io + ((size_t)(at4.x * h + 2 * at4.y) * w + 2 * at4.z) * c + at4.w;
  out[oo + gid] =
      0.25f * ((in[i] + in[i + c]) + (in[i + (size_t)w * c] + in[i + (size_t)w * c + c]));
}

// din += the pooling's transpose of dout: a quarter of each output's
// gradient to its four inputs (a last odd row or column gets none).
kernel void avg_pool2_backward(global float *din, const uint dio, global const float *dout,
                               const uint doo, const uint n, const uint h, const uint w,
                               const uint c) {
  const uint oh = h / 2, ow = w / 2;
  const uint gid = get_global_id(0);
  if (gid >= n * h * w * c) return;
  const uint4 at4 = nhwc_index(gid, h, w, c);
  const uint oy = at4.y / 2, ox = at4.z / 2;
  if (oy >= oh || ox >= ow) return;
  din[dio + gid] += 0.25f * dout[doo + ((size_t)(at4.x * oh + oy) * ow + ox) * c + at4.w];
}
