/* The HOG detector's scan on the host: every window of every pyramid level
 * scored with every filter (the reference the device path is checked
 * against), the windows mapped back to image boxes, and ds_hog_detect. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/detect/fhog.h"
#include "engine/detect/hog_detector.h"
#include "engine/detect/hog_detector_internal.h"

/* ---- scanning */

static int push(ds_hog_candidates *l, ds_hog_candidate c) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    ds_hog_candidate *p = realloc(l->items, cap * sizeof *p);
    if (!p) return -1;
    l->items = p;
    l->cap = cap;
  }
  l->items[l->n++] = c;
  return 0;
}

/* fhog_to_image for one coordinate: the centre of the feature cell in the
 * level's pixels (cells are padded by (pad - 1) / 2 and the image has a
 * 1-pixel and a 1-cell border), moved by half a cell away from zero. */
static long fhog_to_image(long p, int cell, int pad) {
  long v = (p + 1 - (pad - 1) / 2) * cell + 1;
  return v + (v >= 0 ? cell / 2 : -(cell / 2));
}

/* pyramid_down<6>::point_up applied `levels` times: p * 6 / 5 + 0.3. */
static double point_up6(double v, int levels) {
  for (int i = 0; i < levels; i++)
    v = v * (6 / 5.0) + 0.3;
  return v;
}

int ds_hog_add_window(const ds_hog_detector *d, ds_hog_candidates *out, int r, int c, int level,
                      double s, int k) {
  const int fr = d->filter_rows, fc = d->filter_cols;
  const int det_rows = fr - 2 * d->padding, det_cols = fc - 2 * d->padding;
  /* centered_rect(point(c, r), det_cols, det_rows) in feature space, then
   * fhog_to_image and rect_up to level 0. */
  const long fl = c - det_cols / 2, ft = r - det_rows / 2;
  const long fright = fl + det_cols - 1, fbottom = ft + det_rows - 1;
  ds_hog_candidate cand;
  cand.rect.l = ds_hog_round_half_up(point_up6(fhog_to_image(fl, d->cell_size, fc), level));
  cand.rect.t = ds_hog_round_half_up(point_up6(fhog_to_image(ft, d->cell_size, fr), level));
  cand.rect.r = ds_hog_round_half_up(point_up6(fhog_to_image(fright, d->cell_size, fc), level));
  cand.rect.b = ds_hog_round_half_up(point_up6(fhog_to_image(fbottom, d->cell_size, fr), level));
  cand.score = s;
  cand.weight_index = k;
  cand.order = (long)out->n;
  return push(out, cand);
}

/* Scores every window position of one level with every filter and appends
 * those at or above the filter's threshold + adjust. The full 31 x fr x fc
 * filters (dlib applies an SVD-separable approximation of the same filters),
 * summed in float into a saliency map in the order plane, filter row, filter
 * column: sal[r][c] = sum w[o][i][j] * hog[o][r - fr/2 + i][c - fc/2 + j]. */
static int scan_level(const ds_hog_detector *d, const float *hog, int rows, int cols, int level,
                      double adjust, float *sal, float *scratch, ds_hog_candidates *out) {
  const int fr = d->filter_rows, fc = d->filter_cols;
  const size_t fsize = (size_t)fr * fc;
  /* float_spatially_filter_image_separable's valid area: rows fr / 2 to
   * rows - (fr - 1) / 2 - 1, the same for columns. */
  const int first_row = fr / 2, first_col = fc / 2;
  const int last_row = rows - (fr - 1) / 2, last_col = cols - (fc - 1) / 2;
  const int out_rows = last_row - first_row, out_cols = last_col - first_col;
  if (out_rows <= 0 || out_cols <= 0) return 0;
  for (int k = 0; k < d->num_filters; k++) {
    const float *w = d->weights + (size_t)k * DS_FHOG_PLANES * fsize;
    const double thresh = d->thresholds[k];
    memset(sal, 0, (size_t)out_rows * out_cols * sizeof *sal);
    for (int o = 0; o < DS_FHOG_PLANES; o++) {
      const float *plane = hog + (size_t)o * rows * cols;
      if (d->separable) {
        /* Each rank-1 term: the row filter along every feature row into
         * scratch, then the column filter down scratch into sal. */
        const int first = d->sep_first[k * DS_FHOG_PLANES + o];
        for (int t = 0; t < d->sep_count[k * DS_FHOG_PLANES + o]; t++) {
          const float *col = d->sep + (size_t)(first + t) * (fr + fc), *row = col + fr;
          for (int r = 0; r < rows; r++) {
            const float *f = plane + (size_t)r * cols;
            float *x = scratch + (size_t)r * out_cols;
            for (int c = 0; c < out_cols; c++)
              x[c] = 0;
            for (int j = 0; j < fc; j++)
              for (int c = 0; c < out_cols; c++)
                x[c] += row[j] * f[c + j];
          }
          for (int r = 0; r < out_rows; r++) {
            float *y = sal + (size_t)r * out_cols;
            for (int i = 0; i < fr; i++) {
              const float *x = scratch + (size_t)(r + i) * out_cols;
              for (int c = 0; c < out_cols; c++)
                y[c] += col[i] * x[c];
            }
          }
        }
        continue;
      }
      for (int i = 0; i < fr; i++)
        for (int j = 0; j < fc; j++) {
          const float wv = w[o * fsize + (size_t)i * fc + j];
          if (wv == 0) continue;
          for (int r = 0; r < out_rows; r++) {
            const float *f = plane + (size_t)(r + i) * cols + j;
            float *y = sal + (size_t)r * out_cols;
            for (int c = 0; c < out_cols; c++)
              y[c] += wv * f[c];
          }
        }
    }
    for (int r = first_row; r < last_row; r++)
      for (int c = first_col; c < last_col; c++) {
        const double s = sal[(size_t)(r - first_row) * out_cols + (c - first_col)];
        if (s < thresh + adjust) continue;
        if (ds_hog_add_window(d, out, r, c, level, s - thresh, k)) return -1;
      }
  }
  return 0;
}

ds_status ds_hog_no_memory(ds_error *err, int width, int height) {
  return ds_error_set(err, DS_ERR_NO_MEMORY,
                      "HOG detector: cannot allocate the pyramid of a %dx%d image; free memory or "
                      "use a smaller --upsample",
                      width, height);
}

ds_status ds_hog_check_input(int width, int height, int channels, int upsample, ds_error *err) {
  if (width < 1 || height < 1 || (channels != 1 && channels != 3) || upsample < 0 || upsample > 4 ||
      (long)width * height > (1L << 28) >> (2 * upsample))
    return ds_error_set(err, DS_ERR_INVALID,
                        "HOG detector: cannot run on a %dx%d image with %d channels at upsample "
                        "%d (1 or 3 channels, upsample 0 to 4, at most 2^28 pixels upsampled)",
                        width, height, channels, upsample);
  return DS_OK;
}

/* The host path: fHOG and filter scoring of each level in C, the pyramid
 * made level by level, buffers kept across levels. */
typedef struct host_level {
  float *hog, *sal;
  size_t hog_cap, sal_cap;
} host_level;

static ds_status score_level_host(host_level *b, const ds_hog_detector *d, const uint8_t *img,
                                  int w, int h, int ch, int level, double adjust,
                                  ds_hog_candidates *out, ds_error *err) {
  int rows, cols;
  ds_fhog_size(w, h, d->cell_size, d->filter_rows, d->filter_cols, &rows, &cols);
  if (rows == 0) return DS_OK;
  const size_t hog_n = (size_t)DS_FHOG_PLANES * rows * cols, sal_n = (size_t)2 * rows * cols;
  if (hog_n > b->hog_cap) {
    free(b->hog);
    b->hog = malloc(hog_n * sizeof *b->hog);
    b->hog_cap = b->hog ? hog_n : 0;
  }
  if (sal_n > b->sal_cap) {
    free(b->sal);
    b->sal = malloc(sal_n * sizeof *b->sal);
    b->sal_cap = b->sal ? sal_n : 0;
  }
  if (!b->hog || !b->sal) return ds_hog_no_memory(err, w, h);
  ds_status st =
      ds_fhog_reference(img, w, h, ch, d->cell_size, d->filter_rows, d->filter_cols, b->hog, err);
  if (st == DS_OK &&
      scan_level(d, b->hog, rows, cols, level, adjust, b->sal, b->sal + (size_t)rows * cols, out))
    st = ds_hog_no_memory(err, w, h);
  return st;
}

/* Replaces the w x h image *img by its resize to nw x nh (width x height:
 * the input, for the error message). */
static ds_status resize_to(uint8_t **img, int *w, int *h, int ch, int nw, int nh, ds_error *err,
                           int width, int height) {
  uint8_t *next = malloc((size_t)nw * nh * ch + 1);
  if (!next) return ds_hog_no_memory(err, width, height);
  ds_hog_resize_bilinear(*img, *w, *h, ch, next, nw, nh);
  free(*img);
  *img = next;
  *w = nw;
  *h = nh;
  return DS_OK;
}

ds_status ds_hog_detect(const ds_hog_detector *d, const uint8_t *pixels, int width, int height,
                        int channels, int upsample, double adjust_threshold, ds_detection **dets,
                        int *count, ds_error *err) {
  *dets = NULL;
  *count = 0;
  ds_status st = ds_hog_check_input(width, height, channels, upsample, err);
  if (st != DS_OK) return st;
  host_level b = {0};
  ds_hog_candidates cands = {0};
  /* Colour runs dlib's rgb_pixel detector; otherwise RGB becomes grey. */
  const int ch = (channels == 3 && d->color) ? 3 : 1;
  uint8_t *img = malloc((size_t)width * height * ch);
  if (!img) return ds_hog_no_memory(err, width, height);
  if (channels == 3 && ch == 1)
    ds_hog_rgb_to_gray(pixels, width, height, img);
  else
    memcpy(img, pixels, (size_t)width * height * ch);
  int w = width, h = height;
  for (int i = 0; i < upsample && st == DS_OK; i++) {
    int uw, uh;
    ds_hog_pyramid_up2_size(w, h, &uw, &uh);
    st = resize_to(&img, &w, &h, ch, uw, uh, err, width, height);
  }
  const long levels = ds_hog_pyramid_levels(d, w, h);
  for (long level = 0; level < levels && st == DS_OK; level++) {
    if (level > 0) {
      int nw, nh;
      ds_hog_pyramid_down6_size(w, h, &nw, &nh);
      st = resize_to(&img, &w, &h, ch, nw, nh, err, width, height);
      if (st != DS_OK) break;
    }
    st = score_level_host(&b, d, img, w, h, ch, (int)level, adjust_threshold, &cands, err);
  }
  if (st == DS_OK) st = ds_hog_suppress(d, &cands, upsample, width, height, dets, count, err);
  free(cands.items);
  free(img);
  free(b.hog);
  free(b.sal);
  return st;
}
