/* The learned mask (a decoder.mask model's own mask, merged with the hull)
 * and the Poisson guide of every mask kind: host side of mask_learned in
 * cl/convert/mask.cl and the C reference it repeats. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/convert/mask.h"
#include "engine/convert/mask_internal.h"
#include "host/program.h"

/* ---- reference ---- */

static float plane_tap(const float *p, int s, int x, int y) {
  x = x < 0 ? 0 : x > s - 1 ? s - 1 : x;
  y = y < 0 ? 0 : y > s - 1 ? s - 1 : y;
  return p[(size_t)y * s + x];
}

/* a + t (b - a) with one rounding, as the kernel's fma */
static float lerp(float a, float b, float t) { return fmaf(b - a, t, a); }

/* The model draws this pixel: m takes it into [0, square) and the plane's
 * bilinear sample there is >= 0.5. */
static int learned_on(const float *plane, const float m[6], int square, float px, float py) {
  const float u = fmaf(m[0], px, fmaf(m[1], py, m[2]));
  const float v = fmaf(m[3], px, fmaf(m[4], py, m[5]));
  const float s = (float)square;
  if (!(u >= 0.0f && u < s && v >= 0.0f && v < s)) return 0;
  const float u0f = floorf(u), v0f = floorf(v);
  const int u0 = (int)u0f, v0 = (int)v0f;
  const float au = u - u0f, av = v - v0f;
  const float top =
      lerp(plane_tap(plane, square, u0, v0), plane_tap(plane, square, u0 + 1, v0), au);
  const float bot =
      lerp(plane_tap(plane, square, u0, v0 + 1), plane_tap(plane, square, u0 + 1, v0 + 1), au);
  return lerp(top, bot, av) >= 0.5f;
}

/* hull OR learned, AND inside clip's square when clip is given */
static void learned_binary_reference(const float landmarks[68][2], const float face_mat[6],
                                     int square, const float *plane, const float *clip,
                                     int clip_square, int x0, int y0, int w, int h, float *mask) {
  hull_arg hull;
  mask_hull(landmarks, 0, &hull);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const float px = (float)(x0 + x), py = (float)(y0 + y);
      int in = mask_inside_hull(&hull, px, py) || learned_on(plane, face_mat, square, px, py);
      if (clip) in = in && mask_inside_square(clip, (float)clip_square, px, py);
      mask[(size_t)y * w + x] = in ? 1.0f : 0.0f;
    }
}

void ds_mask_build_learned_reference(const float landmarks[68][2], const float face_mat[6],
                                     int square, const float *plane, int x0, int y0, int w, int h,
                                     int erode, int blur, float *mask) {
  learned_binary_reference(landmarks, face_mat, square, plane, NULL, 0, x0, y0, w, h, mask);
  mask_finish_reference(w, h, erode, blur, mask);
}

/* The guide's square: face_mat's, inset by square / 32 on each side. */
static int inset_square(const float face_mat[6], int square, float inset_mat[6]) {
  const int inset = square / 32;
  memcpy(inset_mat, face_mat, 6 * sizeof *inset_mat);
  inset_mat[2] -= (float)inset, inset_mat[5] -= (float)inset;
  return square - 2 * inset;
}

void ds_mask_build_guide_reference(ds_mask_kind kind, const float landmarks[68][2],
                                   const float face_mat[6], int square, const float *plane, int x0,
                                   int y0, int w, int h, int erode, float *guide) {
  float inset_mat[6];
  const int inner = inset_square(face_mat, square, inset_mat);
  if (kind == DS_MASK_LEARNED)
    learned_binary_reference(landmarks, face_mat, square, plane, inset_mat, inner, x0, y0, w, h,
                             guide);
  else
    mask_binary_reference(kind == DS_MASK_RECT ? MASK_RECT_BIT : MASK_HULL_BIT | MASK_RECT_BIT,
                          kind == DS_MASK_HULL_BROWS, landmarks, inset_mat, inner, x0, y0, w, h,
                          guide);
  mask_finish_reference(w, h, erode, 0, guide);
}

/* ---- device ---- */

static const size_t pixel_local[2] = {16, 4};

static ds_status learned_binary(ds_runtime *rt, const float landmarks[68][2],
                                const float face_mat[6], int square, cl_mem plane, size_t plane_off,
                                const float *clip, int clip_square, int x0, int y0, int w, int h,
                                cl_mem mask, ds_error *err) {
  if (!plane)
    return ds_error_set(err, DS_ERR_INVALID,
                        "mask learned: the model has no mask; train a config with "
                        "\"decoder\": {\"mask\": true}");
  if (plane_off > (size_t)UINT32_MAX)
    return ds_error_set(err, DS_ERR_INVALID, "mask learned: offset %zu beyond 2^32 floats",
                        plane_off);
  hull_arg hull;
  mask_hull(landmarks, 0, &hull);
  const float none[6] = {0, 0, 0, 0, 0, 0};
  if (!clip) clip = none, clip_square = 0;
  const cl_uint off = (cl_uint)plane_off;
  const cl_int geo[5] = {clip_square, x0, y0, w, h};
  cl_kernel k;
  ds_status st = ds_kernel_get(rt, "convert/mask", NULL, "mask_learned", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof mask, &mask, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof hull, &hull, err);
  for (int i = 0; i < 6 && st == DS_OK; i++)
    st = ds_kernel_arg(k, 2 + (cl_uint)i, sizeof(cl_float), &face_mat[i], err);
  if (st == DS_OK) st = ds_kernel_arg(k, 8, sizeof plane, &plane, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 9, sizeof off, &off, err);
  if (st == DS_OK) st = mask_set_ints(k, 10, &(cl_int){square}, 1, err);
  for (int i = 0; i < 6 && st == DS_OK; i++)
    st = ds_kernel_arg(k, 11 + (cl_uint)i, sizeof(cl_float), &clip[i], err);
  if (st == DS_OK) st = mask_set_ints(k, 17, geo, 5, err);
  const size_t global[2] = {(size_t)w, (size_t)h};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, pixel_local, err);
  return st;
}

ds_status ds_mask_build_learned(ds_runtime *rt, const float landmarks[68][2],
                                const float face_mat[6], int square, cl_mem plane, size_t plane_off,
                                int x0, int y0, int w, int h, int erode, int blur, cl_mem tmp,
                                cl_mem mask, ds_error *err) {
  ds_status st = mask_check(face_mat, square, w, h, erode, blur, err);
  if (st == DS_OK)
    st = learned_binary(rt, landmarks, face_mat, square, plane, plane_off, NULL, 0, x0, y0, w, h,
                        mask, err);
  if (st == DS_OK) st = mask_finish(rt, w, h, erode, blur, tmp, mask, err);
  return st;
}

ds_status ds_mask_build_guide(ds_runtime *rt, ds_mask_kind kind, const float landmarks[68][2],
                              const float face_mat[6], int square, cl_mem plane, size_t plane_off,
                              int x0, int y0, int w, int h, int erode, cl_mem tmp, cl_mem guide,
                              ds_error *err) {
  float inset_mat[6];
  const int inner = inset_square(face_mat, square, inset_mat);
  ds_status st = mask_check(face_mat, square, w, h, erode, 0, err);
  if (st == DS_OK && kind == DS_MASK_LEARNED)
    st = learned_binary(rt, landmarks, face_mat, square, plane, plane_off, inset_mat, inner, x0, y0,
                        w, h, guide, err);
  else if (st == DS_OK)
    st = mask_binary(rt, kind == DS_MASK_RECT ? MASK_RECT_BIT : MASK_HULL_BIT | MASK_RECT_BIT,
                     kind == DS_MASK_HULL_BROWS, landmarks, inset_mat, inner, x0, y0, w, h, guide,
                     err);
  if (st == DS_OK) st = mask_finish(rt, w, h, erode, 0, tmp, guide, err);
  return st;
}
