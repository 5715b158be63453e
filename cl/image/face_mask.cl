// The per-face loss weights through the training augmentation, moved exactly
// as cl/image/augment.cl moves the face: the same inverse transform, flip and
// target matrix from the same parameter block, bilinear with the same taps
// and the same fma order, one channel instead of three. Only the target is
// made: the loss compares the decoder's output with the target.
#pragma OPENCL FP_CONTRACT OFF

#define P_INV_TRANSFORM 0
#define P_FLIP 6
#define P_FACE 7
#define P_INV_TARGET 58
#define P_STRIDE 64

inline float bilinear1(float t00, float t01, float t10, float t11, float ax, float ay) {
  const float bx = 1.0f - ax, by = 1.0f - ay;
  float v = t00 * (bx * by);
  v = fma(t01, ax * by, v);
  v = fma(t10, bx * ay, v);
  return fma(t11, ax * ay, v);
}

inline float mask_tap(global const uchar *m, int s, int x, int y) {
  x = clamp(x, 0, s - 1);
  y = clamp(y, 0, s - 1);
  return (float)m[(size_t)y * s + x];
}

inline float inter_tap1(global const float *img, int s, int x, int y) {
  if (x < 0 || y < 0 || x >= s || y >= s) return 0.0f;
  return img[(size_t)y * s + x];
}

// masks: uchar [count][s][s], weight = value * scale; inter: float [n][s][s].
kernel void mask_transform(global const uchar *restrict masks, global const float *restrict params,
                           global float *restrict inter, const int s, const float scale,
                           const uint total) {
  const uint g = get_global_id(0);
  if (g >= total) return;
  const uint plane = (uint)s * (uint)s;
  const uint i = g / plane, r = g - i * plane;
  const uint ry = r / (uint)s;
  const int y = (int)ry;
  int x = (int)(r - ry * (uint)s);
  global const float *p = params + i * P_STRIDE;
  if (p[P_FLIP] != 0.0f) x = s - 1 - x;
  global const uchar *m = masks + (size_t)as_int(p[P_FACE]) * plane;
  const global float *t = p + P_INV_TRANSFORM;
  const float fx = (float)x, fy = (float)y;
  float sx = fma(t[0], fx, fma(t[1], fy, t[2]));
  float sy = fma(t[3], fx, fma(t[4], fy, t[5]));
  sx = fmin(fmax(sx, -1.0f), (float)s);
  sy = fmin(fmax(sy, -1.0f), (float)s);
  const float x0f = floor(sx), y0f = floor(sy);
  const int x0 = (int)x0f, y0 = (int)y0f;
  const float v =
      bilinear1(mask_tap(m, s, x0, y0), mask_tap(m, s, x0 + 1, y0), mask_tap(m, s, x0, y0 + 1),
                mask_tap(m, s, x0 + 1, y0 + 1), sx - x0f, sy - y0f);
  inter[g] = v * scale;
}

// target: float [n][out][out], the weights under the target face.
kernel void mask_target(global const float *restrict inter, global const float *restrict params,
                        global float *restrict target, const int s, const int out,
                        const uint total) {
  const uint g = get_global_id(0);
  if (g >= total) return;
  const uint plane = (uint)out * (uint)out;
  const uint i = g / plane, r = g - i * plane;
  const uint ry = r / (uint)out;
  const int y = (int)ry, x = (int)(r - ry * (uint)out);
  global const float *p = params + i * P_STRIDE;
  global const float *img = inter + (size_t)i * s * s;
  const global float *t = p + P_INV_TARGET;
  const float fx = (float)x, fy = (float)y;
  float tx = fma(t[0], fx, fma(t[1], fy, t[2]));
  float ty = fma(t[3], fx, fma(t[4], fy, t[5]));
  tx = fmin(fmax(tx, -1.0f), (float)s);
  ty = fmin(fmax(ty, -1.0f), (float)s);
  const float x0f = floor(tx), y0f = floor(ty);
  const int x0 = (int)x0f, y0 = (int)y0f;
  target[g] = bilinear1(inter_tap1(img, s, x0, y0), inter_tap1(img, s, x0 + 1, y0),
                        inter_tap1(img, s, x0, y0 + 1), inter_tap1(img, s, x0 + 1, y0 + 1),
                        tx - x0f, ty - y0f);
}
