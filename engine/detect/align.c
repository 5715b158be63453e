#include "engine/detect/align.h"

#include <math.h>

#include "engine/tensor/umeyama.h"
#include "host/program.h"

/* mean_face_x / mean_face_y of the original lib/aligner.py (Dec 2017). */
const float ds_mean_face[DS_MEAN_FACE_POINTS][2] = {
    {0.000213256f, 0.106454f}, {0.0752622f, 0.038915f}, {0.18113f, 0.0187482f},
    {0.29077f, 0.0344891f},    {0.393397f, 0.0773906f}, {0.586856f, 0.0773906f},
    {0.689483f, 0.0344891f},   {0.799124f, 0.0187482f}, {0.904991f, 0.038915f},
    {0.98004f, 0.106454f},     {0.490127f, 0.203352f},  {0.490127f, 0.307009f},
    {0.490127f, 0.409805f},    {0.490127f, 0.515625f},  {0.36688f, 0.587326f},
    {0.426036f, 0.609345f},    {0.490127f, 0.628106f},  {0.554217f, 0.609345f},
    {0.613373f, 0.587326f},    {0.121737f, 0.216423f},  {0.187122f, 0.178758f},
    {0.265825f, 0.179852f},    {0.334606f, 0.231733f},  {0.260918f, 0.245099f},
    {0.182743f, 0.244077f},    {0.645647f, 0.231733f},  {0.714428f, 0.179852f},
    {0.793132f, 0.178758f},    {0.858516f, 0.216423f},  {0.79751f, 0.244077f},
    {0.719335f, 0.245099f},    {0.254149f, 0.780233f},  {0.340985f, 0.745405f},
    {0.428858f, 0.727388f},    {0.490127f, 0.742578f},  {0.551395f, 0.727388f},
    {0.639268f, 0.745405f},    {0.726104f, 0.780233f},  {0.642159f, 0.864805f},
    {0.556721f, 0.902192f},    {0.490127f, 0.909281f},  {0.423532f, 0.902192f},
    {0.338094f, 0.864805f},    {0.290379f, 0.784792f},  {0.428096f, 0.778746f},
    {0.490127f, 0.785343f},    {0.552157f, 0.778746f},  {0.689874f, 0.784792f},
    {0.553364f, 0.824182f},    {0.490127f, 0.831803f},  {0.42689f, 0.824182f},
};

void ds_align_matrix(const float landmarks[68][2], int size, int padding, float mat[6]) {
  float unit[6];
  ds_umeyama2d(&landmarks[17][0], &ds_mean_face[0][0], DS_MEAN_FACE_POINTS, unit);
  const float scale = (float)(size - 2 * padding);
  for (int i = 0; i < 6; i++)
    mat[i] = unit[i] * scale;
  mat[2] += (float)padding;
  mat[5] += (float)padding;
}

int ds_affine_invert(const float m[6], float inv[6]) {
  const double det = (double)m[0] * m[4] - (double)m[1] * m[3];
  if (det == 0.0 || !isfinite(det)) return 0;
  const double a = m[4] / det, b = -m[1] / det, c = -m[3] / det, d = m[0] / det;
  inv[0] = (float)a;
  inv[1] = (float)b;
  inv[2] = (float)(-(a * m[2] + b * m[5]));
  inv[3] = (float)c;
  inv[4] = (float)d;
  inv[5] = (float)(-(c * m[2] + d * m[5]));
  return 1;
}

ds_status ds_warp_affine_rgb8(ds_runtime *rt, cl_mem src, int w, int h, cl_mem dst, int dst_w,
                              int dst_h, const float mat[6], ds_error *err) {
  float inv[6];
  if (!ds_affine_invert(mat, inv))
    return ds_error_set(err, DS_ERR_INVALID, "cannot warp with a singular alignment matrix");
  cl_kernel k;
  cl_int a[4] = {w, h, dst_w, dst_h};
  ds_status st = ds_kernel_get(rt, "image/warp", NULL, "warp_affine_rgb8", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof dst, &dst, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof src, &src, err);
  for (int i = 0; i < 4 && st == DS_OK; i++)
    st = ds_kernel_arg(k, 2 + i, sizeof a[i], &a[i], err);
  for (int i = 0; i < 6 && st == DS_OK; i++)
    st = ds_kernel_arg(k, 6 + i, sizeof inv[i], &inv[i], err);
  size_t global[2] = {(size_t)dst_w, (size_t)dst_h}, local[2] = {16, 4};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  return st;
}

static float tap(const uint8_t *src, int w, int h, int x, int y, int c) {
  return (x >= 0 && y >= 0 && x < w && y < h) ? (float)src[((size_t)y * w + x) * 3 + c] : 0.0f;
}

void ds_warp_affine_rgb8_reference(const uint8_t *src, int w, int h, uint8_t *dst, int dst_w,
                                   int dst_h, const float mat[6]) {
  float inv[6];
  if (!ds_affine_invert(mat, inv)) return;
  for (int y = 0; y < dst_h; y++)
    for (int x = 0; x < dst_w; x++) {
      const float sx = fmaf(inv[0], (float)x, fmaf(inv[1], (float)y, inv[2]));
      const float sy = fmaf(inv[3], (float)x, fmaf(inv[4], (float)y, inv[5]));
      const float fx0 = floorf(sx), fy0 = floorf(sy);
      const int x0 = (int)fx0, y0 = (int)fy0;
      const float ax = sx - fx0, ay = sy - fy0;
      for (int c = 0; c < 3; c++) {
        /* mix(a, b, t) = a + (b - a) t, as OpenCL defines it */
        const float t00 = tap(src, w, h, x0, y0, c), t01 = tap(src, w, h, x0 + 1, y0, c);
        const float t10 = tap(src, w, h, x0, y0 + 1, c), t11 = tap(src, w, h, x0 + 1, y0 + 1, c);
        const float top = t00 + (t01 - t00) * ax, bot = t10 + (t11 - t10) * ax;
        const float v = top + (bot - top) * ay;
        float r = floorf(v + 0.5f);
        dst[((size_t)y * dst_w + x) * 3 + c] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
      }
    }
}
