// dlib's fHOG (engine/detect/fhog.c, ds_fhog_reference) for one 8-bit image:
// fhog_gradient (grey, 16 pixels per work-item) or fhog_gradient_rgb (one
// per pixel): orientation bin and magnitude,
// fhog_hist (one per cell: the 18-bin histogram, gathered from the pixels
// that vote into it in the C code's scan order, and the cell's energy) and
// fhog_features (one per output cell: block normalisation, 31 features, zero
// padding). The arithmetic repeats the C code's operation by operation with
// contraction off, so with correctly rounded sqrt and division (PoCL) the
// result is bit-identical; positions that C computes in double ((x + 0.5) /
// cell - 0.5) are computed in float, exact for power-of-two cell sizes.
#pragma OPENCL FP_CONTRACT OFF

constant float fhog_dir[9][2] = {
    {1.0000f, 0.0000f},  {0.9397f, 0.3420f},  {0.7660f, 0.6428f},
    {0.500f, 0.8660f},   {0.1736f, 0.9848f},  {-0.1736f, 0.9848f},
    {-0.5000f, 0.8660f}, {-0.7660f, 0.6428f}, {-0.9397f, 0.3420f},
};

// The orientation bin (0-17) of each gradient: the largest |dot product|
// with fhog_dir, ties to the earlier direction, as the C code's loop.
#define FHOG_ORIENT(T, IT, fx, fy, best_o)                                      \
  do {                                                                          \
    T best_dot = (T)(0.0f);                                                     \
    best_o = (IT)(0);                                                           \
    for (int k_ = 0; k_ < 9; k_++) {                                            \
      const T a = fhog_dir[k_][0] * (fx);                                       \
      const T b = fhog_dir[k_][1] * (fy);                                       \
      const T dot = a + b;                                                      \
      const IT up = dot > best_dot, down = (-dot > best_dot) & ~up;             \
      best_dot = select(best_dot, dot, up);                                     \
      best_dot = select(best_dot, -dot, down);                                  \
      best_o = select(best_o, (IT)(k_), up);                                    \
      best_o = select(best_o, (IT)(k_ + 9), down);                              \
    }                                                                           \
  } while (0)

// Grey images: one work-item per 16 pixels x = 1 + 16 * get_global_id(0) ..
// + 15 of row y = 1 + get_global_id(1), for 1 <= x < visible_nc and
// 1 <= y < visible_nr (the pixels that vote; the hist kernel reads no
// other). orient/mag rows are gpitch apart (>= width + 16). The last block
// of a row loads through clamped indices so as not to read past the image.
kernel void fhog_gradient(global uchar *restrict orient, global float *restrict mag,
                          global const uchar *restrict img, const int width, const int height,
                          const int visible_nr, const int visible_nc, const int gpitch) {
  const int x0 = 1 + 16 * (int)get_global_id(0), y = 1 + (int)get_global_id(1);
  if (x0 >= visible_nc || y >= visible_nr) return;
  global const uchar *p = img + (size_t)y * width + x0;
  int16 l, r, t, b;
  if (x0 + 16 < width) {
    l = convert_int16(vload16(0, p - 1));
    r = convert_int16(vload16(0, p + 1));
    t = convert_int16(vload16(0, p - width));
    b = convert_int16(vload16(0, p + width));
  } else {
    int lv[16], rv[16], tv[16], bv[16];
    for (int i = 0; i < 16; i++) {
      const int x = min(x0 + i, width - 2);
      lv[i] = p[x - x0 - 1];
      rv[i] = p[x - x0 + 1];
      tv[i] = p[x - x0 - width];
      bv[i] = p[x - x0 + width];
    }
    l = vload16(0, lv);
    r = vload16(0, rv);
    t = vload16(0, tv);
    b = vload16(0, bv);
  }
  const int16 gx = r - l, gy = b - t;
  const float16 fx = convert_float16(gx), fy = convert_float16(gy);
  int16 o;
  FHOG_ORIENT(float16, int16, fx, fy, o);
  const size_t i = (size_t)y * gpitch + x0;
  vstore16(convert_uchar16(o), 0, orient + i);
  vstore16(sqrt(convert_float16(gx * gx + gy * gy)), 0, mag + i);
}

// RGB (dlib's rgb_pixel path): one work-item per pixel, the gradient of the
// strongest channel; simd_end splits dlib's SIMD blocks (x < simd_end) from
// its scalar tail, which breaks ties between channels the other way.
kernel void fhog_gradient_rgb(global uchar *restrict orient, global float *restrict mag,
                              global const uchar *restrict img, const int width,
                              const int visible_nr, const int visible_nc, const int gpitch,
                              const int simd_end) {
  const int x = 1 + (int)get_global_id(0), y = 1 + (int)get_global_id(1);
  if (x >= visible_nc || y >= visible_nr) return;
  const int stride = width * 3;
  global const uchar *p = img + (size_t)y * stride + (size_t)x * 3;
  const int simd = x < simd_end;
  int gx = 0, gy = 0, len = -1;
  for (int ch = 0; ch < 3; ch++) {
    const int dx = (int)p[3 + ch] - (int)p[-3 + ch];
    const int dy = (int)p[stride + ch] - (int)p[-stride + ch];
    const int l = dx * dx + dy * dy;
    if (ch == 0 || (simd ? l >= len : l > len)) {
      gx = dx;
      gy = dy;
      len = l;
    }
  }
  int o;
  FHOG_ORIENT(float, int, (float)gx, (float)gy, o);
  const size_t i = (size_t)y * gpitch + x;
  orient[i] = (uchar)o;
  mag[i] = sqrt((float)len);
}

// hist: cells_nr x cells_nc x 18, cell (r, c) being dlib's padded histogram
// cell (r + 1, c + 1); norm: cells_nr x cells_nc.
kernel void fhog_hist(global float *restrict hist, global float *restrict norm,
                      global const uchar *restrict orient, global const float *restrict mag,
                      const int gpitch, const int cell, const int cells_nr, const int cells_nc,
                      const int visible_nr, const int visible_nc, const int simd_end) {
  const int c = (int)get_global_id(0), r = (int)get_global_id(1);
  if (c >= cells_nc || r >= cells_nr) return;
  const int R = r + 1, C = c + 1;
  // Accumulated in place: only this work-item touches its cell (a private
  // float[18] indexed by orientation crashes Oclgrind 21.10's
  // --uninitialized plugin).
  global float *h = hist + ((size_t)r * cells_nc + c) * 18;
  for (int o = 0; o < 18; o++)
    h[o] = 0;
  const float fcell = (float)cell;
  // The pixels voting into (R, C) lie in y = R * cell - 1.5 cell - 0.5 ..
  // R * cell + 0.5 cell - 0.5 (16 rows for cell 8), the same for x: a
  // superset of whole rows and columns; the tests below pick the exact ones.
  const int y0 = max(1, R * cell - 3 * cell / 2 - 1), y1 = min(visible_nr - 1, R * cell + cell / 2);
  const int x0 = max(1, C * cell - 3 * cell / 2 - 1), x1 = min(visible_nc - 1, C * cell + cell / 2);
  for (int y = y0; y <= y1; y++) {
    const float yp = ((float)y + 0.5f) / fcell - 0.5f;
    const int iyp = (int)floor(yp);
    const float vy0 = yp - (float)iyp;
    const float vy1 = 1.0f - vy0;
    float vy = 0;
    if (iyp + 1 == R)
      vy = vy1;
    else if (iyp + 2 == R)
      vy = vy0;
    else
      continue;
    for (int x = x0; x <= x1; x++) {
      const size_t i = (size_t)y * gpitch + x;
      float add = 0;
      if (x < simd_end) {
        const float xp = ((float)x + 0.5f) / fcell + 0.5f;
        const int ixp = (int)xp;
        const float vx0 = xp - (float)ixp;
        const float vx1 = 1.0f - vx0;
        if (ixp == C)
          add = vy * (vx1 * mag[i]);
        else if (ixp + 1 == C)
          add = vy * (vx0 * mag[i]);
        else
          continue;
      } else {
        const float xp = ((float)x + 0.5f) / fcell - 0.5f;
        const int ixp = (int)floor(xp);
        const float vx0 = xp - (float)ixp;
        const float vx1 = 1.0f - vx0;
        if (ixp + 1 == C)
          add = (vy * vx1) * mag[i];
        else if (ixp + 2 == C)
          add = (vy * vx0) * mag[i];
        else
          continue;
      }
      const int o = orient[i];
      h[o] = h[o] + add;
    }
  }
  float e = 0;
  for (int o = 0; o < 9; o++) {
    const float s = h[o] + h[o + 9];
    e = e + s * s;
  }
  norm[(size_t)r * cells_nc + c] = e;
}

// min(v, nn_k) * n_k, as the C code (plain scalars: Oclgrind 21.10's
// --uninitialized plugin crashes on the vector form).
inline float fhog_clip(const float v, const float nn, const float n) {
  return (v < nn ? v : nn) * n;
}

// dlib's SSE2 horizontal sum of lanes a, b, c, d: (a + c) + (b + d).
inline float fhog_sum4(const float a, const float b, const float c, const float d) {
  return (a + c) + (b + d);
}

// hog: 31 planes of plane_rows x pitch (>= rows x cols, ds_hog_feature_layout);
// cell (y, x) of the hog_nr x hog_nc cells lands at (y + row_off, x +
// col_off), everything else is 0, the padding up to pitch and plane_rows too.
kernel void fhog_features(global float *restrict hog, global const float *restrict hist,
                          global const float *restrict norm, const int pitch,
                          const int plane_rows, const int hog_nr, const int hog_nc,
                          const int cells_nc, const int row_off, const int col_off) {
  const int xx = (int)get_global_id(0), yy = (int)get_global_id(1);
  if (xx >= pitch || yy >= plane_rows) return;
  const size_t plane = (size_t)plane_rows * pitch, at = (size_t)yy * pitch + xx;
  const int y = yy - row_off, x = xx - col_off;
  if (y < 0 || x < 0 || y >= hog_nr || x >= hog_nc) {
    for (int o = 0; o < 31; o++)
      hog[o * plane + at] = 0;
    return;
  }
#define NORM(r, c) norm[(size_t)(r)*cells_nc + (c)]
  // The 4 blocks around the cell, lane by lane as the C code's z1..z4.
  const float a00 = NORM(y, x), a01 = NORM(y, x + 1), a02 = NORM(y, x + 2);
  const float a10 = NORM(y + 1, x), a11 = NORM(y + 1, x + 1), a12 = NORM(y + 1, x + 2);
  const float a20 = NORM(y + 2, x), a21 = NORM(y + 2, x + 1), a22 = NORM(y + 2, x + 2);
#undef NORM
  const float eps = 0.0001f;
  const float nn0 = 0.2f * sqrt(a11 + a12 + a21 + a22 + eps);
  const float nn1 = 0.2f * sqrt(a01 + a02 + a11 + a12 + eps);
  const float nn2 = 0.2f * sqrt(a10 + a11 + a20 + a21 + eps);
  const float nn3 = 0.2f * sqrt(a00 + a01 + a10 + a11 + eps);
  const float n0 = 0.1f / nn0, n1 = 0.1f / nn1, n2 = 0.1f / nn2, n3 = 0.1f / nn3;
  global const float *h = hist + ((size_t)(y + 1) * cells_nc + (x + 1)) * 18;
  float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  for (int o = 0; o < 18; o += 3) {
#define CLIP(v, k) fhog_clip(v, nn##k, n##k)
    const float h00 = CLIP(h[o], 0), h01 = CLIP(h[o], 1), h02 = CLIP(h[o], 2), h03 = CLIP(h[o], 3);
    const float h10 = CLIP(h[o + 1], 0), h11 = CLIP(h[o + 1], 1), h12 = CLIP(h[o + 1], 2),
                h13 = CLIP(h[o + 1], 3);
    const float h20 = CLIP(h[o + 2], 0), h21 = CLIP(h[o + 2], 1), h22 = CLIP(h[o + 2], 2),
                h23 = CLIP(h[o + 2], 3);
    t0 += h00 + h10 + h20;
    t1 += h01 + h11 + h21;
    t2 += h02 + h12 + h22;
    t3 += h03 + h13 + h23;
    hog[o * plane + at] = fhog_sum4(h00, h01, h02, h03);
    hog[(o + 1) * plane + at] = fhog_sum4(h10, h11, h12, h13);
    hog[(o + 2) * plane + at] = fhog_sum4(h20, h21, h22, h23);
  }
  for (int o = 0; o < 9; o++) {
    const float s = h[o] + h[o + 9];
    hog[(o + 18) * plane + at] = fhog_sum4(CLIP(s, 0), CLIP(s, 1), CLIP(s, 2), CLIP(s, 3));
  }
#undef CLIP
  hog[27 * plane + at] = t0 * 0.4714f;
  hog[28 * plane + at] = t1 * 0.4714f;
  hog[29 * plane + at] = t2 * 0.4714f;
  hog[30 * plane + at] = t3 * 0.4714f;
}
