#include "engine/convert/face_io.h"

#include <math.h>

#include "engine/detect/align.h"
#include "host/buffer.h"
#include "host/program.h"

static const size_t LOCAL[2] = {16, 4};

ds_status ds_face_input(ds_runtime *rt, cl_mem input, size_t input_off, cl_mem frame, int fw,
                        int fh, int s, const float mat[6], ds_error *err) {
  float inv[6];
  if (!ds_affine_invert(mat, inv))
    return ds_error_set(err, DS_ERR_INVALID, "cannot warp a face with a singular matrix");
  const cl_uint off = (cl_uint)input_off;
  cl_kernel k;
  ds_status st = ds_kernel_get(rt, "convert/face", NULL, "face_input", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 12, DS_ARG(input), DS_ARG(off), DS_ARG(frame), DS_ARG(fw),
                        DS_ARG(fh), DS_ARG(s), DS_ARG(inv[0]), DS_ARG(inv[1]), DS_ARG(inv[2]),
                        DS_ARG(inv[3]), DS_ARG(inv[4]), DS_ARG(inv[5]));
  const size_t global[2] = {(size_t)s, (size_t)s};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, LOCAL, err);
  return st;
}

static float lerp(float a, float b, float t) { return a + (b - a) * t; }

static float frame_tap(const uint8_t *f, int w, int h, int x, int y, int c) {
  return (x < 0 || y < 0 || x >= w || y >= h) ? 0.0f : (float)f[((size_t)y * w + x) * 3 + c];
}

void ds_face_input_reference(float *input, const uint8_t *frame, int fw, int fh, int s,
                             const float mat[6]) {
  float m[6];
  if (!ds_affine_invert(mat, m)) return;
  for (int y = 0; y < s; y++)
    for (int x = 0; x < s; x++) {
      const float sx = fmaf(m[0], (float)x, fmaf(m[1], (float)y, m[2]));
      const float sy = fmaf(m[3], (float)x, fmaf(m[4], (float)y, m[5]));
      const float fx0 = floorf(sx), fy0 = floorf(sy);
      const int x0 = (int)fx0, y0 = (int)fy0;
      for (int c = 0; c < 3; c++) {
        const float top = lerp(frame_tap(frame, fw, fh, x0, y0, c),
                               frame_tap(frame, fw, fh, x0 + 1, y0, c), sx - fx0);
        const float bot = lerp(frame_tap(frame, fw, fh, x0, y0 + 1, c),
                               frame_tap(frame, fw, fh, x0 + 1, y0 + 1, c), sx - fx0);
        input[((size_t)y * s + x) * 3 + c] = lerp(top, bot, sy - fy0) * (1.0f / 255.0f);
      }
    }
}

ds_status ds_roi_load(ds_runtime *rt, cl_mem roi, cl_mem frame, int fw, int x0, int y0, int w,
                      int h, ds_error *err) {
  cl_kernel k;
  ds_status st = ds_kernel_get(rt, "convert/face", NULL, "roi_load", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 7, DS_ARG(roi), DS_ARG(frame), DS_ARG(fw), DS_ARG(x0), DS_ARG(y0),
                        DS_ARG(w), DS_ARG(h));
  const size_t global[2] = {(size_t)w, (size_t)h};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, LOCAL, err);
  return st;
}

ds_status ds_face_unwarp(ds_runtime *rt, cl_mem out, cl_mem face, size_t face_off, cl_mem old,
                         int s, const float mat[6], int x0, int y0, int w, int h, ds_error *err) {
  const cl_uint off = (cl_uint)face_off;
  cl_kernel k;
  ds_status st = ds_kernel_get(rt, "convert/face", NULL, "face_unwarp", &k, err);
  if (st == DS_OK)
    st =
        ds_kernel_args(k, err, 15, DS_ARG(out), DS_ARG(face), DS_ARG(off), DS_ARG(old), DS_ARG(s),
                       DS_ARG(x0), DS_ARG(y0), DS_ARG(w), DS_ARG(h), DS_ARG(mat[0]), DS_ARG(mat[1]),
                       DS_ARG(mat[2]), DS_ARG(mat[3]), DS_ARG(mat[4]), DS_ARG(mat[5]));
  const size_t global[2] = {(size_t)w, (size_t)h};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, LOCAL, err);
  return st;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void ds_face_unwarp_reference(float *out, const float *face, const float *old, int s,
                              const float mat[6], int x0, int y0, int w, int h) {
  const float lim = (float)s - 0.5f;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const float fx = (float)(x0 + x), fy = (float)(y0 + y);
      const float u = fmaf(mat[0], fx, fmaf(mat[1], fy, mat[2]));
      const float v = fmaf(mat[3], fx, fmaf(mat[4], fy, mat[5]));
      float *o = out + ((size_t)y * w + x) * 3;
      if (!(u >= -0.5f && v >= -0.5f && u <= lim && v <= lim)) {
        for (int c = 0; c < 3; c++)
          o[c] = old[((size_t)y * w + x) * 3 + c];
        continue;
      }
      const float u0f = floorf(u), v0f = floorf(v);
      const int u0 = (int)u0f, v0 = (int)v0f;
      const int ua = clampi(u0, 0, s - 1), ub = clampi(u0 + 1, 0, s - 1);
      const int va = clampi(v0, 0, s - 1), vb = clampi(v0 + 1, 0, s - 1);
      for (int c = 0; c < 3; c++) {
        const float top =
            lerp(face[((size_t)va * s + ua) * 3 + c], face[((size_t)va * s + ub) * 3 + c], u - u0f);
        const float bot =
            lerp(face[((size_t)vb * s + ua) * 3 + c], face[((size_t)vb * s + ub) * 3 + c], u - u0f);
        const float t = lerp(top, bot, v - v0f);
        o[c] = (t < 0 ? 0 : t > 1 ? 1 : t) * 255.0f;
      }
    }
}

ds_status ds_roi_compose(ds_runtime *rt, cl_mem frame, int fw, cl_mem blended, cl_mem old,
                         cl_mem mask, int x0, int y0, int w, int h, ds_error *err) {
  cl_kernel k;
  ds_status st = ds_kernel_get(rt, "convert/face", NULL, "roi_compose", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 9, DS_ARG(frame), DS_ARG(blended), DS_ARG(old), DS_ARG(mask),
                        DS_ARG(fw), DS_ARG(x0), DS_ARG(y0), DS_ARG(w), DS_ARG(h));
  const size_t global[2] = {(size_t)w, (size_t)h};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, LOCAL, err);
  return st;
}

void ds_roi_compose_reference(uint8_t *frame, int fw, const float *blended, const float *old,
                              const float *mask, int x0, int y0, int w, int h) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const size_t i = (size_t)y * w + x;
      const float a = mask[i] < 0 ? 0 : mask[i] > 1 ? 1 : mask[i];
      uint8_t *p = frame + ((size_t)(y0 + y) * fw + (x0 + x)) * 3;
      for (int c = 0; c < 3; c++) {
        const float v = floorf(lerp(old[i * 3 + c], blended[i * 3 + c], a) + 0.5f);
        p[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
    }
}
