/* What mask.c (the landmark and square masks) and mask_learned.c (the
 * learned mask and the Poisson guide) share: the hull as the kernels take
 * it, the per-pixel rules on the host, the argument checks and the erosion
 * and blur every kind ends with. Nothing else includes this. */
#ifndef DS_ENGINE_CONVERT_MASK_INTERNAL_H
#define DS_ENGINE_CONVERT_MASK_INTERNAL_H

#include <math.h>

#include "engine/convert/mask.h"

/* The hull as the kernels receive it, by value (68 vertices fit the 1024
 * bytes of arguments every OpenCL 1.2 device takes). Layout matches
 * hull_arg in cl/convert/mask.cl. */
typedef struct hull_arg {
  cl_float v[2 * DS_MASK_LANDMARKS];
  cl_int n;
} hull_arg;

enum { MASK_HULL_BIT = 1, MASK_RECT_BIT = 2 };

/* The hull of the landmarks, with the brows lifted when lift is set. */
void mask_hull(const float landmarks[68][2], int lift, hull_arg *hull);

/* Inside or on the hull. The same float operations as the kernel, with the
 * one product fused explicitly, so host and device agree bit for bit. */
static inline int mask_inside_hull(const hull_arg *hull, float px, float py) {
  const int n = hull->n;
  if (n < 3) return 0;
  for (int i = 0; i < n; i++) {
    const int j = i + 1 == n ? 0 : i + 1;
    const float ax = hull->v[2 * i], ay = hull->v[2 * i + 1];
    const float dx = hull->v[2 * j] - ax, dy = hull->v[2 * j + 1] - ay;
    if (fmaf(dx, py - ay, -(dy * (px - ax))) < 0.0f) return 0;
  }
  return 1;
}

/* m (frame -> model pixels) takes (px, py) into [0, square) on both axes. */
static inline int mask_inside_square(const float m[6], float square, float px, float py) {
  const float u = fmaf(m[0], px, fmaf(m[1], py, m[2]));
  const float v = fmaf(m[3], px, fmaf(m[4], py, m[5]));
  return u >= 0.0f && u < square && v >= 0.0f && v < square;
}

/* DS_ERR_INVALID unless the sizes, erode, blur and the matrix are usable. */
ds_status mask_check(const float face_mat[6], int square, int w, int h, int erode, int blur,
                     ds_error *err);

/* The binary mask of the bits (MASK_HULL_BIT, MASK_RECT_BIT: all must hold)
 * into mask, on the device and on the host. */
ds_status mask_binary(ds_runtime *rt, int bits, int lift, const float landmarks[68][2],
                      const float face_mat[6], int square, int x0, int y0, int w, int h,
                      cl_mem mask, ds_error *err);
void mask_binary_reference(int bits, int lift, const float landmarks[68][2],
                           const float face_mat[6], int square, int x0, int y0, int w, int h,
                           float *mask);

/* Erosion (or dilation) and blur of a binary mask in place, as ds_mask_build
 * describes them; tmp is device scratch of w * h floats. */
ds_status mask_finish(ds_runtime *rt, int w, int h, int erode, int blur, cl_mem tmp, cl_mem mask,
                      ds_error *err);
void mask_finish_reference(int w, int h, int erode, int blur, float *mask);

/* Sets n int arguments from first on. */
ds_status mask_set_ints(cl_kernel k, cl_uint first, const cl_int *v, int n, ds_error *err);

#endif
