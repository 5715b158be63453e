// DSSIM loss, forward and backward, NHWC, each channel on its own.
// SSIM (Wang et al. 2004) with an 11 x 11 Gaussian window, sigma 1.5, over
// the 'valid' positions only (as tf.image.ssim and pytorch_msssim), data
// range 1: C1 = 0.01^2, C2 = 0.03^2. With y the prediction and t the target,
// at each window position p:
//   S = (2 my mt + C1)(2 cyt + C2) / ((my^2 + mt^2 + C1)(vy + vt + C2))
// where my, mt are window means and vy, vt, cyt (co)variances, all from the
// five moments my, mt, E[y^2], E[t^2], E[yt]. The loss is
// weight * (1 - mean S) / 2.
//
// The backward pass treats S as a function of my, E[y^2], E[yt]:
//   dS/dmy    = S (2 mt / A1 - 2 mt / A2 - 2 my / B1 + 2 my / B2)
//   dS/dE[y2] = -S / B2,  dS/dE[yt] = 2 S / A2
// (A1, A2, B1, B2 the four factors), so
//   dL/dy_q = sum over windows p holding q of g_pq (cm_p + 2 y_q cyy_p + t_q cyt_p)
// with c*_p = dL/dS_p * dS/d*_p and g_pq the window weight.

#define WIN 11
#define C1 1.0e-4f
#define C2 9.0e-4f

// exp(-(i - 5)^2 / (2 * 1.5^2)), normalised to sum 1
constant float GAUSS[WIN] = {1.028380084e-03f, 7.598758135e-03f, 3.600077213e-02f,
                             1.093606895e-01f, 2.130055377e-01f, 2.660117249e-01f,
                             2.130055377e-01f, 1.093606895e-01f, 3.600077213e-02f,
                             7.598758135e-03f, 1.028380084e-03f};


// (b, y, x, ch) of an NHWC index: quotients first, remainders by subtraction
// (from i % n beside i / n LLVM makes a freeze, which Oclgrind cannot run)
inline uint4 nhwc_index(const uint i, const uint h, const uint w, const uint c) {
  const uint q1 = i / c, q2 = q1 / w, q3 = q2 / h;
  return (uint4)(q3, q2 - q3 * h, q1 - q2 * w, i - q1 * c);
}

// One work-item per valid position (b, py, px, ch) of [n, h - 10, w - 10, c].
// dlds = dL/dS, the same at every position: -weight / (2 * positions).
// maps holds four [n, h - 10, w - 10, c] maps: S, cm, cyy, cyt.
kernel void ssim_forward(global float *restrict maps, global const float *restrict y, global const float *restrict t,
                         const uint n, const uint h, const uint w, const uint c,
                         const float dlds) {
  const uint oh = h - (WIN - 1), ow = w - (WIN - 1);
  const uint gid = get_global_id(0);
  const uint P = n * oh * ow * c;
  if (gid >= P) return;
  global float *smap = maps, *cm = maps + P, *cyy = maps + 2 * (size_t)P, *cyt = maps + 3 * (size_t)P;
  const uint4 at4 = nhwc_index(gid, oh, ow, c);
  const uint b = at4.x, py = at4.y, px = at4.z, ch = at4.w;
  float my = 0.0f, mt = 0.0f, eyy = 0.0f, ett = 0.0f, eyt = 0.0f;
  for (uint i = 0; i < WIN; i++) {
    const size_t row = ((size_t)(b * h + py + i) * w + px) * c + ch;
    for (uint j = 0; j < WIN; j++) {
      const float g = GAUSS[i] * GAUSS[j];
      const float a = y[row + (size_t)j * c], r = t[row + (size_t)j * c];
      my = fma(g, a, my);
      mt = fma(g, r, mt);
      eyy = fma(g, a * a, eyy);
      ett = fma(g, r * r, ett);
      eyt = fma(g, a * r, eyt);
    }
  }
  const float a1 = 2.0f * my * mt + C1, a2 = 2.0f * (eyt - my * mt) + C2;
  const float b1 = my * my + mt * mt + C1, b2 = (eyy - my * my) + (ett - mt * mt) + C2;
  const float s = (a1 * a2) / (b1 * b2);
  const float ds = dlds * s;
  smap[gid] = s;
  cm[gid] = ds * (2.0f * mt / a1 - 2.0f * mt / a2 - 2.0f * my / b1 + 2.0f * my / b2);
  cyy[gid] = -ds / b2;
  cyt[gid] = 2.0f * ds / a2;
}

// One work-item per input element (b, iy, ix, ch); adds to dy when
// accumulate, else overwrites it.
kernel void ssim_backward(global float *restrict dy, global const float *restrict maps,
                          global const float *restrict y, global const float *restrict t,
                          const uint n, const uint h, const uint w, const uint c,
                          const uint accumulate) {
  const uint oh = h - (WIN - 1), ow = w - (WIN - 1);
  const uint gid = get_global_id(0);
  if (gid >= n * h * w * c) return;
  const size_t P = (size_t)n * oh * ow * c;
  global const float *cm = maps + P, *cyy = maps + 2 * P, *cyt = maps + 3 * P;
  const uint4 at4 = nhwc_index(gid, h, w, c);
  const uint b = at4.x, iy = at4.y, ix = at4.z, ch = at4.w;
  const uint py0 = iy >= WIN - 1 ? iy - (WIN - 1) : 0, py1 = iy < oh ? iy : oh - 1;
  const uint px0 = ix >= WIN - 1 ? ix - (WIN - 1) : 0, px1 = ix < ow ? ix : ow - 1;
  float sm = 0.0f, syy = 0.0f, syt = 0.0f;
  for (uint py = py0; py <= py1; py++)
    for (uint px = px0; px <= px1; px++) {
      const float g = GAUSS[iy - py] * GAUSS[ix - px];
      const size_t p = ((size_t)(b * oh + py) * ow + px) * c + ch;
      sm = fma(g, cm[p], sm);
      syy = fma(g, cyy[p], syy);
      syt = fma(g, cyt[p], syt);
    }
  const float grad = sm + 2.0f * y[gid] * syy + t[gid] * syt;
  dy[gid] = accumulate ? dy[gid] + grad : grad;
}
