// Training-data augmentation: the original faceswap random_transform then
// random_warp (engine/train/augment.h explains the maths; augment.c holds the
// plain-C reference, which performs these operations in the same order).
//
// Contraction is off and every multiply-add that matters is an explicit
// fma(), so the device and the C reference round identically: a source
// coordinate one ulp apart would move a value by up to 3e-5 on sharp edges.
#pragma OPENCL FP_CONTRACT OFF

// Per-sample parameters, 64 floats (augment.c: pack_sample).
#define P_INV_TRANSFORM 0 // 6: intermediate pixel (before the flip) -> face pixel
#define P_FLIP 6          // 1.0f when the intermediate is mirrored
#define P_FACE 7          // face index, the bits of an int
#define P_GRID_X 8        // 25: control points, face pixels, row-major
#define P_GRID_Y 33       // 25
#define P_INV_TARGET 58   // 6: output pixel -> intermediate pixel
#define P_STRIDE 64

// Bilinear interpolation of four taps in the reference's order.
inline float3 bilinear(float3 t00, float3 t01, float3 t10, float3 t11, float ax, float ay) {
  const float bx = 1.0f - ax, by = 1.0f - ay;
  float3 v = t00 * (bx * by);
  v = fma(t01, (float3)(ax * by), v);
  v = fma(t10, (float3)(bx * ay), v);
  return fma(t11, (float3)(ax * ay), v);
}

// A face pixel with cv2's BORDER_REPLICATE: coordinates clamp to the edge.
inline float3 face_tap(global const uchar *face, int s, int x, int y) {
  x = clamp(x, 0, s - 1);
  y = clamp(y, 0, s - 1);
  return convert_float3(vload3((size_t)y * s + x, face));
}

// An intermediate pixel with cv2's BORDER_CONSTANT (0) outside the image.
inline float3 inter_tap(global const float *img, int s, int x, int y) {
  if (x < 0 || y < 0 || x >= s || y >= s) return (float3)(0.0f);
  return vload3((size_t)y * s + x, img);
}

// Clamping to [-1, s] first changes no result (beyond it every tap is the
// border) and keeps the int conversion defined for any coordinate.
inline float3 sample_inter(global const float *img, int s, float x, float y) {
  x = fmin(fmax(x, -1.0f), (float)s);
  y = fmin(fmax(y, -1.0f), (float)s);
  const float x0f = floor(x), y0f = floor(y);
  const int x0 = (int)x0f, y0 = (int)y0f;
  return bilinear(inter_tap(img, s, x0, y0), inter_tap(img, s, x0 + 1, y0),
                  inter_tap(img, s, x0, y0 + 1), inter_tap(img, s, x0 + 1, y0 + 1), x - x0f,
                  y - y0f);
}

// cv2.resize (INTER_LINEAR) of a 5x5 map read at grid position (u, v):
// cells clamp at the edge with weight 0, rows are interpolated first.
inline float grid_at(global const float *g, float u, float v) {
  float a = u - floor(u), b = v - floor(v);
  int c0 = (int)floor(u), r0 = (int)floor(v);
  if (c0 < 0 || c0 >= 4) {
    c0 = clamp(c0, 0, 4);
    a = 0.0f;
  }
  if (r0 < 0 || r0 >= 4) {
    r0 = clamp(r0, 0, 4);
    b = 0.0f;
  }
  const int c1 = min(c0 + 1, 4), r1 = min(r0 + 1, 4);
  const float h0 = fma(g[r0 * 5 + c1], a, g[r0 * 5 + c0] * (1.0f - a));
  const float h1 = fma(g[r1 * 5 + c1], a, g[r1 * 5 + c0] * (1.0f - a));
  return fma(h1, b, h0 * (1.0f - b));
}

// random_transform: one work-item per intermediate pixel of every sample.
// faces: uchar [count][s][s][3]; inter: float [n][s][s][3] in [0, 1].
kernel void augment_transform(global const uchar *restrict faces,
                              global const float *restrict params, global float *restrict inter,
                              const int s, const uint total) {
  const uint g = get_global_id(0);
  if (g >= total) return;
  // Quotients and remainders written out by hand: LLVM pairs a / and % of
  // the same operands with a freeze instruction that Oclgrind cannot run.
  const uint plane = (uint)s * (uint)s;
  const uint i = g / plane, r = g - i * plane;
  const uint ry = r / (uint)s;
  const int y = (int)ry;
  int x = (int)(r - ry * (uint)s);
  global const float *p = params + i * P_STRIDE;
  if (p[P_FLIP] != 0.0f) x = s - 1 - x;
  global const uchar *face = faces + (size_t)as_int(p[P_FACE]) * plane * 3;

  const global float *m = p + P_INV_TRANSFORM;
  const float fx = (float)x, fy = (float)y;
  float sx = fma(m[0], fx, fma(m[1], fy, m[2]));
  float sy = fma(m[3], fx, fma(m[4], fy, m[5]));
  sx = fmin(fmax(sx, -1.0f), (float)s);
  sy = fmin(fmax(sy, -1.0f), (float)s);
  const float x0f = floor(sx), y0f = floor(sy);
  const int x0 = (int)x0f, y0 = (int)y0f;
  const float3 v = bilinear(face_tap(face, s, x0, y0), face_tap(face, s, x0 + 1, y0),
                            face_tap(face, s, x0, y0 + 1), face_tap(face, s, x0 + 1, y0 + 1),
                            sx - x0f, sy - y0f);
  vstore3(v * (1.0f / 255.0f), g, inter);
}

// random_warp: one work-item per output pixel, writing both the warped
// input and the target. step = 4 / out: grid cells per output pixel.
kernel void augment_warp(global const float *restrict inter, global const float *restrict params,
                         global float *restrict warped, global float *restrict target, const int s,
                         const int out, const float step, const uint total) {
  const uint g = get_global_id(0);
  if (g >= total) return;
  const uint plane = (uint)out * (uint)out;
  const uint i = g / plane, r = g - i * plane;
  const uint ry = r / (uint)out;
  const int y = (int)ry, x = (int)(r - ry * (uint)out);
  global const float *p = params + i * P_STRIDE;
  global const float *img = inter + (size_t)i * s * s * 3;

  // The crop [out/8, 9 out/8) of the 1.25 out resize starts half a cell in,
  // so output pixel x sits at grid position (x + 0.5) * 4 / out.
  const float u = ((float)x + 0.5f) * step, v = ((float)y + 0.5f) * step;
  const float mx = grid_at(p + P_GRID_X, u, v), my = grid_at(p + P_GRID_Y, u, v);
  vstore3(sample_inter(img, s, mx, my), g, warped);

  const global float *t = p + P_INV_TARGET;
  const float fx = (float)x, fy = (float)y;
  const float tx = fma(t[0], fx, fma(t[1], fy, t[2]));
  const float ty = fma(t[3], fx, fma(t[4], fy, t[5]));
  vstore3(sample_inter(img, s, tx, ty), g, target);
}
