// GMSD loss (Xue et al. 2014), forward and backward, NHWC, each channel on
// its own. Prewitt gradients over the 'valid' 3 x 3 positions,
//   gx = (sum_i img[py+i][px] - img[py+i][px+2]) / 3, gy likewise down,
//   m = sqrt(gx^2 + gy^2 + GM_EPS),
//   GMS = (2 m_y m_t + K) / (m_y^2 + m_t^2 + K), K = 0.0026 (170 / 255^2),
// GMSD of an image channel = sqrt(var(GMS) + SD_EPS) over its positions; the
// loss is weight * the mean over images and channels. The epsilons keep the
// gradient finite where an image is flat or equal to its target.

#define GMS_K 0.0026f
#define GM_EPS 1.0e-12f
#define SD_EPS 1.0e-12f

inline float prewitt_x(global const float *img, size_t at, uint w, uint c) {
  float s = 0.0f;
  for (uint i = 0; i < 3; i++)
    s += img[at + (size_t)i * w * c] - img[at + (size_t)i * w * c + 2 * c];
  return s * (1.0f / 3.0f);
}

inline float prewitt_y(global const float *img, size_t at, uint w, uint c) {
  float s = 0.0f;
  for (uint j = 0; j < 3; j++)
    s += img[at + (size_t)j * c] - img[at + 2 * (size_t)w * c + (size_t)j * c];
  return s * (1.0f / 3.0f);
}

// maps: three [n, h - 2, w - 2, c] maps (GMS, fx, fy), then the mean and
// the sd of each image channel ([n, c] each).

// One work-item per position (b, py, px, ch) of [n, h - 2, w - 2, c]:
// GMS, and fx, fy = dGMS/dgx, dGMS/dgy of the prediction's gradients.
// (b, y, x, ch) of an NHWC index: quotients first, remainders by subtraction
// (from i % n beside i / n LLVM makes a freeze, which Oclgrind cannot run)
inline uint4 nhwc_index(const uint i, const uint h, const uint w, const uint c) {
  const uint q1 = i / c, q2 = q1 / w, q3 = q2 / h;
  return (uint4)(q3, q2 - q3 * h, q1 - q2 * w, i - q1 * c);
}

kernel void gmsd_map(global float *restrict maps, global const float *restrict y,
                     global const float *restrict t, const uint n, const uint h, const uint w,
                     const uint c) {
  const uint oh = h - 2, ow = w - 2;
  const uint gid = get_global_id(0);
  const uint P = n * oh * ow * c;
  if (gid >= P) return;
  global float *gms = maps, *fx = maps + P, *fy = maps + 2 * (size_t)P;
  const uint4 at4 = nhwc_index(gid, oh, ow, c);
  const uint b = at4.x, py = at4.y, px = at4.z, ch = at4.w;
  const size_t at = ((size_t)(b * h + py) * w + px) * c + ch;
  const float yx = prewitt_x(y, at, w, c), yy = prewitt_y(y, at, w, c);
  const float tx = prewitt_x(t, at, w, c), ty = prewitt_y(t, at, w, c);
  const float my = sqrt(yx * yx + yy * yy + GM_EPS), mt = sqrt(tx * tx + ty * ty + GM_EPS);
  const float den = my * my + mt * mt + GMS_K;
  const float s = (2.0f * my * mt + GMS_K) / den;
  const float dm = (2.0f * mt - 2.0f * my * s) / den; // dGMS/dm_y
  gms[gid] = s;
  fx[gid] = dm * yx / my;
  fy[gid] = dm * yy / my;
}

// One work-item per image channel (b, ch): mean and sqrt(var + SD_EPS) of its
// GMS over the positions, two passes in a fixed order.
kernel void gmsd_stats(global float *restrict maps, const uint n, const uint positions,
                       const uint c) {
  const uint k = get_global_id(0);
  if (k >= n * c) return;
  const size_t P = (size_t)n * positions * c;
  global const float *gms = maps;
  global float *mean = maps + 3 * P, *sd = maps + 3 * P + n * c;
  const uint b = k / c, ch = k - b * c;
  global const float *g = gms + (size_t)b * positions * c + ch;
  float s = 0.0f;
  for (uint p = 0; p < positions; p++)
    s += g[(size_t)p * c];
  const float mu = s / (float)positions;
  float v = 0.0f;
  for (uint p = 0; p < positions; p++) {
    const float d = g[(size_t)p * c] - mu;
    v = fma(d, d, v);
  }
  mean[k] = mu;
  sd[k] = sqrt(v / (float)positions + SD_EPS);
}

// dL/dGMS_p = scale (GMS_p - mean) / (positions * sd), scale = weight / (n c),
// folded into fx, fy in place.
kernel void gmsd_coef(global float *restrict maps, const uint n, const uint positions, const uint c,
                      const float scale) {
  const uint gid = get_global_id(0);
  const size_t P = (size_t)n * positions * c;
  if (gid >= P) return;
  global const float *gms = maps, *mean = maps + 3 * P, *sd = maps + 3 * P + n * c;
  global float *fx = maps + P, *fy = maps + 2 * P;
  const uint q = gid / c, k = (q / positions) * c + (gid - q * c);
  const float d = scale * (gms[gid] - mean[k]) / ((float)positions * sd[k]);
  fx[gid] *= d;
  fy[gid] *= d;
}

// One work-item per input element (b, iy, ix, ch): the Prewitt transpose of
// the coefficients; adds to dy when accumulate.
kernel void gmsd_backward(global float *restrict dy, global const float *restrict maps,
                          const uint n, const uint h, const uint w, const uint c,
                          const uint accumulate) {
  const uint oh = h - 2, ow = w - 2;
  const uint gid = get_global_id(0);
  if (gid >= n * h * w * c) return;
  const size_t P = (size_t)n * oh * ow * c;
  global const float *cx = maps + P, *cy = maps + 2 * P;
  const uint4 at4 = nhwc_index(gid, h, w, c);
  const uint b = at4.x, iy = at4.y, ix = at4.z, ch = at4.w;
  float grad = 0.0f;
  for (uint i = 0; i < 3; i++)
    for (uint j = 0; j < 3; j++) {
      if (iy < i || ix < j || iy - i >= oh || ix - j >= ow) continue;
      const size_t p = ((size_t)(b * oh + iy - i) * ow + ix - j) * c + ch;
      // gx takes +1/3 in column 0 and -1/3 in column 2; gy the same by row
      const float hx = j == 0 ? 1.0f : (j == 2 ? -1.0f : 0.0f);
      const float hy = i == 0 ? 1.0f : (i == 2 ? -1.0f : 0.0f);
      grad += (hx * cx[p] + hy * cy[p]) * (1.0f / 3.0f);
    }
  dy[gid] = accumulate ? dy[gid] + grad : grad;
}
