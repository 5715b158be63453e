/* Host side of cl/convert/mask.cl and the C reference its kernels repeat. */
#include "engine/convert/mask.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/convert/mask_internal.h"
#include "host/program.h"

enum { PREFIX_LOCAL = 64 };

static int kind_bits(ds_mask_kind kind) {
  switch (kind) {
  case DS_MASK_HULL: return MASK_HULL_BIT;
  case DS_MASK_RECT: return MASK_RECT_BIT;
  case DS_MASK_HULL_RECT: return MASK_HULL_BIT | MASK_RECT_BIT;
  case DS_MASK_HULL_BROWS: return MASK_HULL_BIT;
  case DS_MASK_LEARNED: return 0; /* ds_mask_build_learned */
  }
  return 0;
}

const char *ds_mask_kind_name(ds_mask_kind k) {
  switch (k) {
  case DS_MASK_HULL: return "hull";
  case DS_MASK_RECT: return "rect";
  case DS_MASK_HULL_RECT: return "hull-rect";
  case DS_MASK_HULL_BROWS: return "hull-brows";
  case DS_MASK_LEARNED: return "learned";
  }
  return "?";
}

int ds_mask_kind_parse(const char *s, ds_mask_kind *out) {
  static const ds_mask_kind all[] = {DS_MASK_HULL, DS_MASK_RECT, DS_MASK_HULL_RECT,
                                     DS_MASK_HULL_BROWS, DS_MASK_LEARNED};
  for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
    if (strcmp(s, ds_mask_kind_name(all[i])) == 0) {
      *out = all[i];
      return 1;
    }
  return 0;
}

void ds_mask_lift_brows(const float in[68][2], float out[68][2]) {
  memcpy(out, in, 68 * sizeof *out);
  /* dlib's 68: brows 17-21 over the eye 36-41, 22-26 over 42-47 */
  for (int side = 0; side < 2; side++) {
    float ex = 0, ey = 0;
    for (int i = 0; i < 6; i++)
      ex += in[36 + 6 * side + i][0] / 6.0f, ey += in[36 + 6 * side + i][1] / 6.0f;
    for (int b = 17 + 5 * side; b < 22 + 5 * side; b++) {
      out[b][0] = in[b][0] + DS_MASK_BROW_LIFT * (in[b][0] - ex);
      out[b][1] = in[b][1] + DS_MASK_BROW_LIFT * (in[b][1] - ey);
    }
  }
}

/* ---- convex hull ---- */

static int point_order(const void *pa, const void *pb) {
  const float *a = pa, *b = pb;
  if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] != b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
}

/* (a - o) x (b - o) in double, so that the hull itself is exact for any
 * landmarks a face can have */
static double turn(const float *o, const float *a, const float *b) {
  return ((double)a[0] - o[0]) * ((double)b[1] - o[1]) -
         ((double)a[1] - o[1]) * ((double)b[0] - o[0]);
}

int ds_convex_hull(const float (*pts)[2], int n, float (*hull)[2]) {
  if (n <= 0) return 0;
  /* sorted points, then the chains (which may briefly hold more than n) */
  float(*p)[2] = malloc((size_t)n * 3 * sizeof *p);
  if (!p) return 0;
  float(*h)[2] = p + n;
  memcpy(p, pts, (size_t)n * sizeof *p);
  qsort(p, (size_t)n, sizeof *p, point_order);
  int m = 1;
  for (int i = 1; i < n; i++) /* drop repeated points */
    if (point_order(p[i], p[m - 1]) != 0) memcpy(p[m++], p[i], sizeof p[i]);
  if (m < 3) {
    memcpy(hull, p, (size_t)m * sizeof *p);
    free(p);
    return m;
  }
  /* lower chain left to right, then upper chain right to left; a turn that
   * is not strictly left drops the middle point (collinear ones too) */
  int k = 0;
  for (int i = 0; i < m; i++) {
    while (k >= 2 && turn(h[k - 2], h[k - 1], p[i]) <= 0)
      k--;
    memcpy(h[k++], p[i], sizeof p[i]);
  }
  for (int i = m - 2, lower = k + 1; i >= 0; i--) {
    while (k >= lower && turn(h[k - 2], h[k - 1], p[i]) <= 0)
      k--;
    memcpy(h[k++], p[i], sizeof p[i]);
  }
  k--; /* the last point repeats the first */
  memcpy(hull, h, (size_t)k * sizeof *h);
  free(p);
  return k;
}

/* ---- the per-pixel rules, shared in spirit with mask.cl ---- */

void mask_hull(const float landmarks[68][2], int lift, hull_arg *hull) {
  float lifted[DS_MASK_LANDMARKS][2];
  memset(hull, 0, sizeof *hull);
  if (lift) {
    ds_mask_lift_brows(landmarks, lifted);
    landmarks = (const float(*)[2])lifted;
  }
  hull->n = ds_convex_hull(landmarks, DS_MASK_LANDMARKS, (float(*)[2])hull->v);
}

/* round(sqrt(n)) for n >= 0 in integers: k with k(k-1) < n <= k(k+1). A tie
 * k + 1/2 would need n = k^2 + k + 1/4, so the rounding of cv2's
 * floating-point formula never differs. */
static int round_sqrt(int n) {
  int k = (int)sqrt((double)n);
  while ((k + 1) * k < n)
    k++;
  while (k > 0 && k * (k - 1) >= n)
    k--;
  return k;
}

void ds_ellipse_runs(int e, int *lo, int *hi) {
  /* getStructuringElement(MORPH_ELLIPSE, (e, e)): radius r = e/2 on both
   * axes, centre column c = e/2; row i spans c -/+ round(c sqrt(1 -
   * dy^2/r^2)) = round(sqrt(r^2 - dy^2)), clipped to the e columns */
  const int r = e / 2;
  for (int i = 0; i < e; i++) {
    const int dy = i - r, dx = round_sqrt(r * r - dy * dy);
    lo[i] = -(dx < r ? dx : r);
    hi[i] = dx < e - 1 - r ? dx : e - 1 - r;
  }
}

static void morph_reference(const float *src, float *dst, int w, int h, int e, int dilate) {
  int *lo = malloc((size_t)e * sizeof *lo), *hi = malloc((size_t)e * sizeof *hi);
  if (!lo || !hi) {
    free(lo), free(hi);
    return;
  }
  ds_ellipse_runs(e, lo, hi);
  const int r = e / 2;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      /* min (erosion) or max (dilation) of src(x + dx, y + dy) over the
       * element, 0 outside the ROI */
      float v = dilate ? 0.0f : 1.0f;
      for (int i = 0; i < e; i++)
        for (int dx = lo[i]; dx <= hi[i]; dx++) {
          const int yy = y + i - r, xx = x + dx;
          const float s = (xx >= 0 && yy >= 0 && xx < w && yy < h) ? src[(size_t)yy * w + xx] : 0;
          v = dilate ? fmaxf(v, s) : fminf(v, s);
        }
      dst[(size_t)y * w + x] = v;
    }
  free(lo), free(hi);
}

static void blur_reference(const float *src, float *dst, int w, int h, int b) {
  const int a = b / 2;
  const float scale = (float)(1.0 / ((double)b * b));
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      float sum = 0;
      for (int i = 0; i < b; i++)
        for (int j = 0; j < b; j++) {
          int yy = y - a + i, xx = x - a + j;
          yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
          xx = xx < 0 ? 0 : xx >= w ? w - 1 : xx;
          sum += src[(size_t)yy * w + xx];
        }
      dst[(size_t)y * w + x] = sum * scale;
    }
}

void mask_binary_reference(int bits, int lift, const float landmarks[68][2],
                           const float face_mat[6], int square, int x0, int y0, int w, int h,
                           float *mask) {
  hull_arg hull;
  mask_hull(landmarks, lift, &hull);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const float px = (float)(x0 + x), py = (float)(y0 + y);
      int in = 1;
      if (bits & MASK_HULL_BIT) in = in && mask_inside_hull(&hull, px, py);
      if (bits & MASK_RECT_BIT) in = in && mask_inside_square(face_mat, (float)square, px, py);
      mask[(size_t)y * w + x] = in ? 1.0f : 0.0f;
    }
}

void mask_finish_reference(int w, int h, int erode, int blur, float *mask) {
  if (erode == 0 && blur <= 1) return;
  float *tmp = malloc((size_t)w * h * sizeof *tmp);
  if (!tmp) return;
  if (erode != 0) {
    memcpy(tmp, mask, (size_t)w * h * sizeof *tmp);
    morph_reference(tmp, mask, w, h, abs(erode), erode < 0);
  }
  if (blur > 1) {
    memcpy(tmp, mask, (size_t)w * h * sizeof *tmp);
    blur_reference(tmp, mask, w, h, blur);
  }
  free(tmp);
}

void ds_mask_build_reference(ds_mask_kind kind, const float landmarks[68][2],
                             const float face_mat[6], int square, int x0, int y0, int w, int h,
                             int erode, int blur, float *mask) {
  mask_binary_reference(kind_bits(kind), kind == DS_MASK_HULL_BROWS, landmarks, face_mat, square,
                        x0, y0, w, h, mask);
  mask_finish_reference(w, h, erode, blur, mask);
}

/* ---- device ---- */

ds_status mask_set_ints(cl_kernel k, cl_uint first, const cl_int *v, int n, ds_error *err) {
  ds_status st = DS_OK;
  for (int i = 0; i < n && st == DS_OK; i++)
    st = ds_kernel_arg(k, first + (cl_uint)i, sizeof v[i], &v[i], err);
  return st;
}

/* sums[y][x] = src[y][0] + ... + src[y][x], one work-group per row */
static ds_status row_prefix(ds_runtime *rt, cl_mem src, cl_mem sums, int w, int h, ds_error *err) {
  cl_kernel k;
  const cl_int a[3] = {w, h, (w + PREFIX_LOCAL - 1) / PREFIX_LOCAL};
  ds_status st = ds_kernel_get(rt, "convert/mask", NULL, "row_prefix", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof sums, &sums, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof src, &src, err);
  if (st == DS_OK) st = mask_set_ints(k, 2, a, 3, err);
  const size_t global[2] = {PREFIX_LOCAL, (size_t)h}, local[2] = {PREFIX_LOCAL, 1};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  return st;
}

static const size_t pixel_local[2] = {16, 4};

ds_status mask_check(const float face_mat[6], int square, int w, int h, int erode, int blur,
                     ds_error *err) {
  if (w < 1 || h < 1 || square < 1)
    return ds_error_set(err, DS_ERR_INVALID,
                        "mask of %d x %d pixels for a %d px face: sizes must be at least 1", w, h,
                        square);
  if (abs(erode) > DS_MASK_MAX_KERNEL || blur < 0 || blur > DS_MASK_MAX_KERNEL)
    return ds_error_set(err, DS_ERR_INVALID,
                        "mask erosion %d / blur %d px: use -%d..%d erosion and 0..%d blur", erode,
                        blur, DS_MASK_MAX_KERNEL, DS_MASK_MAX_KERNEL, DS_MASK_MAX_KERNEL);
  for (int i = 0; i < 6; i++)
    if (!isfinite(face_mat[i]))
      return ds_error_set(err, DS_ERR_INVALID, "mask: the face matrix is not finite");
  return DS_OK;
}

ds_status mask_binary(ds_runtime *rt, int bits, int lift, const float landmarks[68][2],
                      const float face_mat[6], int square, int x0, int y0, int w, int h,
                      cl_mem mask, ds_error *err) {
  hull_arg hull;
  mask_hull(landmarks, lift, &hull);
  cl_kernel k;
  const size_t global[2] = {(size_t)w, (size_t)h};
  const cl_int geo[6] = {bits, square, x0, y0, w, h};
  ds_status st = ds_kernel_get(rt, "convert/mask", NULL, "mask_build", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof mask, &mask, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof hull, &hull, err);
  for (int i = 0; i < 6 && st == DS_OK; i++)
    st = ds_kernel_arg(k, 2 + (cl_uint)i, sizeof(cl_float), &face_mat[i], err);
  if (st == DS_OK) st = mask_set_ints(k, 8, geo, 6, err);
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, pixel_local, err);
  return st;
}

/* The binary mask is in mask; each step reads its row sums from tmp and
 * writes mask again. */
ds_status mask_finish(ds_runtime *rt, int w, int h, int erode, int blur, cl_mem tmp, cl_mem mask,
                      ds_error *err) {
  cl_kernel k;
  const size_t global[2] = {(size_t)w, (size_t)h};
  ds_status st = DS_OK;
  if (erode != 0) {
    const cl_int a[4] = {w, h, abs(erode), erode < 0};
    st = row_prefix(rt, mask, tmp, w, h, err);
    if (st == DS_OK) st = ds_kernel_get(rt, "convert/mask", NULL, "mask_erode", &k, err);
    if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof mask, &mask, err);
    if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof tmp, &tmp, err);
    if (st == DS_OK) st = mask_set_ints(k, 2, a, 4, err);
    if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, pixel_local, err);
  }
  if (blur > 1 && st == DS_OK) {
    const cl_int a[3] = {w, h, blur};
    const cl_float scale = (cl_float)(1.0 / ((double)blur * blur));
    st = row_prefix(rt, mask, tmp, w, h, err);
    if (st == DS_OK) st = ds_kernel_get(rt, "convert/mask", NULL, "mask_blur", &k, err);
    if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof mask, &mask, err);
    if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof tmp, &tmp, err);
    if (st == DS_OK) st = mask_set_ints(k, 2, a, 3, err);
    if (st == DS_OK) st = ds_kernel_arg(k, 5, sizeof scale, &scale, err);
    if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, pixel_local, err);
  }
  return st;
}

ds_status ds_mask_build(ds_runtime *rt, ds_mask_kind kind, const float landmarks[68][2],
                        const float face_mat[6], int square, int x0, int y0, int w, int h,
                        int erode, int blur, cl_mem tmp, cl_mem mask, ds_error *err) {
  const int bits = kind_bits(kind);
  if (kind == DS_MASK_LEARNED)
    return ds_error_set(err, DS_ERR_INVALID,
                        "the learned mask needs the model's mask plane: ds_mask_build_learned");
  if (!bits) return ds_error_set(err, DS_ERR_INVALID, "unknown mask kind %d", (int)kind);
  ds_status st = mask_check(face_mat, square, w, h, erode, blur, err);
  if (st == DS_OK)
    st = mask_binary(rt, bits, kind == DS_MASK_HULL_BROWS, landmarks, face_mat, square, x0, y0, w,
                     h, mask, err);
  if (st == DS_OK) st = mask_finish(rt, w, h, erode, blur, tmp, mask, err);
  return st;
}
