/* Host side of cl/detect/scan.cl and the device detector. The pyramid,
 * thresholds, box mapping and NMS repeat engine/detect/hog_detector.c, whose
 * helpers are static there. */
#include "engine/detect/hog_scan_cl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/detect/fhog.h"
#include "engine/detect/hog_detector_internal.h"
#include "engine/detect/pyramid_cl.h"
#include "engine/tensor/vector.h"
#include "host/buffer.h"
#include "host/program.h"

void ds_hog_scores_size(const ds_hog_detector *d, int rows, int cols, int *out_rows,
                        int *out_cols) {
  const int fr = d->filter_rows, fc = d->filter_cols;
  *out_rows = (rows - (fr - 1) / 2) - fr / 2;
  *out_cols = (cols - (fc - 1) / 2) - fc / 2;
  if (*out_rows <= 0 || *out_cols <= 0) *out_rows = *out_cols = 0;
}

enum { SCAN_STRIP_ROWS = 8 }; /* RB of scan_strip: output rows per work-item */

void ds_hog_feature_layout(const ds_hog_detector *d, int rows, int cols, int *pitch,
                           int *plane_rows) {
  int out_rows, out_cols;
  ds_hog_scores_size(d, rows, cols, &out_rows, &out_cols);
  *pitch = cols;
  *plane_rows = rows;
  if (out_rows == 0) return;
  /* Whole 16-column vectors and RB-row strips of windows, each reading
   * filter_cols - 1 columns and filter_rows - 1 rows beyond. */
  const int p = (out_cols + 15) / 16 * 16 + d->filter_cols - 1;
  *pitch = (p + 15) / 16 * 16;
  *plane_rows =
      (out_rows + SCAN_STRIP_ROWS - 1) / SCAN_STRIP_ROWS * SCAN_STRIP_ROWS + d->filter_rows - 1;
}

void ds_hog_cl_workspace_release(ds_hog_cl_workspace *ws) {
  ds_fhog_workspace_release(&ws->fhog);
  ds_buffer_release(&ws->sep);
  ds_buffer_release(&ws->term_plane);
  ds_buffer_release(&ws->first);
  ds_buffer_release(&ws->count);
  ds_buffer_release(&ws->weights);
  ds_buffer_release(&ws->img);
  ds_buffer_release(&ws->hog);
  ds_buffer_release(&ws->sal);
  ds_buffer_release(&ws->img2);
  ds_resize_plan_free(&ws->plan);
  free(ws->sal_host);
  memset(ws, 0, sizeof *ws);
}

static ds_status upload_bank(ds_runtime *rt, ds_hog_cl_workspace *ws, const ds_hog_detector *d,
                             ds_error *err) {
  if (ws->bank_of == d && ws->sep) return DS_OK;
  ds_status st = DS_OK;
  ds_buffer_release(&ws->sep);
  ds_buffer_release(&ws->term_plane);
  ds_buffer_release(&ws->first);
  ds_buffer_release(&ws->count);
  ds_buffer_release(&ws->weights);
  ws->bank_of = NULL;
  const int K = d->num_filters, G = d->sep_next, fr = d->filter_rows, fc = d->filter_cols;
  const size_t sep_bytes = (size_t)(G ? G : 1) * (fr + fc) * sizeof(float);
  const size_t w_bytes = (size_t)K * DS_FHOG_PLANES * fr * fc * sizeof(float);
  int *plane = malloc((size_t)(G ? G : 1) * sizeof *plane);
  int *first = malloc((size_t)K * sizeof *first), *count = malloc((size_t)K * sizeof *count);
  if (!plane || !first || !count) {
    free(plane);
    free(first);
    free(count);
    return ds_error_set(err, DS_ERR_NO_MEMORY, "HOG detector: cannot allocate the filter bank");
  }
  for (int k = 0; k < K; k++) {
    first[k] = d->sep_first[k * DS_FHOG_PLANES];
    count[k] = 0;
    for (int o = 0; o < DS_FHOG_PLANES; o++) {
      const int f = d->sep_first[k * DS_FHOG_PLANES + o];
      for (int t = 0; t < d->sep_count[k * DS_FHOG_PLANES + o]; t++)
        plane[f + t] = o;
      count[k] += d->sep_count[k * DS_FHOG_PLANES + o];
    }
  }
  st = ds_buffer_create(rt, sep_bytes, CL_MEM_READ_ONLY, "HOG separable filters", &ws->sep, err);
  if (st == DS_OK && G) st = ds_buffer_write(rt, ws->sep, 0, sep_bytes, d->sep, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, (size_t)(G ? G : 1) * sizeof(int), CL_MEM_READ_ONLY,
                          "HOG filter term planes", &ws->term_plane, err);
  if (st == DS_OK && G)
    st = ds_buffer_write(rt, ws->term_plane, 0, (size_t)G * sizeof(int), plane, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, (size_t)K * sizeof(int), CL_MEM_READ_ONLY, "HOG filter terms",
                          &ws->first, err);
  if (st == DS_OK) st = ds_buffer_write(rt, ws->first, 0, (size_t)K * sizeof(int), first, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, (size_t)K * sizeof(int), CL_MEM_READ_ONLY, "HOG filter terms",
                          &ws->count, err);
  if (st == DS_OK) st = ds_buffer_write(rt, ws->count, 0, (size_t)K * sizeof(int), count, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, w_bytes, CL_MEM_READ_ONLY, "HOG filters", &ws->weights, err);
  if (st == DS_OK) st = ds_buffer_write(rt, ws->weights, 0, w_bytes, d->weights, err);
  free(plane);
  free(first);
  free(count);
  if (st == DS_OK) ws->bank_of = d;
  return st;
}

ds_status ds_hog_scores(ds_runtime *rt, ds_hog_cl_workspace *ws, const ds_hog_detector *d,
                        cl_mem hog, int rows, int cols, cl_mem sal, size_t sal_offset,
                        ds_error *err) {
  int out_rows, out_cols;
  ds_hog_scores_size(d, rows, cols, &out_rows, &out_cols);
  if (out_rows == 0) return DS_OK;
  ds_status st = upload_bank(rt, ws, d, err);
  if (st != DS_OK) return st;
  int pitch, plane_rows;
  ds_hog_feature_layout(d, rows, cols, &pitch, &plane_rows);
  const cl_int K = d->num_filters, P = pitch, PR = plane_rows, OR = out_rows, OC = out_cols;
  const cl_ulong at = sal_offset;
  char options[64];
  snprintf(options, sizeof options, "-DFR=%d -DFC=%d -DRB=%d", d->filter_rows, d->filter_cols,
           (int)SCAN_STRIP_ROWS);
  cl_kernel k;
  if (!d->separable || d->sep_next == 0) {
    static const size_t local[3] = {16, 4, 1};
    const size_t global[3] = {(size_t)OC, (size_t)OR, (size_t)K};
    st = ds_kernel_get(rt, "detect/scan", options, "scan_full", &k, err);
    if (st == DS_OK)
      st = ds_kernel_args(k, err, 9, DS_ARG(sal), DS_ARG(at), DS_ARG(hog), DS_ARG(ws->weights),
                          DS_ARG(K), DS_ARG(P), DS_ARG(PR), DS_ARG(OR), DS_ARG(OC));
    if (st == DS_OK) st = ds_kernel_launch(rt, k, 3, global, local, err);
    return st;
  }
  /* A tile kernel: the vendor profile's GEMM work-group shape (one
   * work-item per group on CPUs). */
  const size_t local[3] = {rt->profile->gemm_local[0], rt->profile->gemm_local[1], 1};
  const size_t global[3] = {(size_t)(OC + 15) / 16,
                            (size_t)(OR + SCAN_STRIP_ROWS - 1) / SCAN_STRIP_ROWS, (size_t)K};
  st = ds_kernel_get(rt, "detect/scan", options, "scan_strip", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 11, DS_ARG(sal), DS_ARG(at), DS_ARG(hog), DS_ARG(ws->sep),
                        DS_ARG(ws->term_plane), DS_ARG(ws->first), DS_ARG(ws->count), DS_ARG(P),
                        DS_ARG(PR), DS_ARG(OR), DS_ARG(OC));
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 3, global, local, err);
  return st;
}

void ds_hog_scores_reference(const ds_hog_detector *d, const float *hog, int rows, int cols,
                             float *sal) {
  const int fr = d->filter_rows, fc = d->filter_cols;
  const size_t fsize = (size_t)fr * fc;
  int out_rows, out_cols;
  ds_hog_scores_size(d, rows, cols, &out_rows, &out_cols);
  if (out_rows == 0) return;
  float *scratch = d->separable ? malloc((size_t)rows * out_cols * sizeof *scratch) : NULL;
  if (d->separable && !scratch) return;
  for (int k = 0; k < d->num_filters; k++) {
    const float *w = d->weights + (size_t)k * DS_FHOG_PLANES * fsize;
    float *s = sal + (size_t)k * out_rows * out_cols;
    memset(s, 0, (size_t)out_rows * out_cols * sizeof *s);
    for (int o = 0; o < DS_FHOG_PLANES; o++) {
      const float *plane = hog + (size_t)o * rows * cols;
      if (d->separable) {
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
            float *y = s + (size_t)r * out_cols;
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
            float *y = s + (size_t)r * out_cols;
            for (int c = 0; c < out_cols; c++)
              y[c] += wv * f[c];
          }
        }
    }
  }
  free(scratch);
}

/* ---- the detector: hog_detector.c's pyramid, box mapping and NMS */

/* collect: the thresholding of scan_level in hog_detector.c over the score
 * maps, in its order. */
static int collect(const ds_hog_detector *d, const float *sal, int rows, int cols, int level,
                   double adjust, ds_hog_candidates *out) {
  const int fr = d->filter_rows, fc = d->filter_cols;
  const int first_row = fr / 2, first_col = fc / 2;
  const int last_row = rows - (fr - 1) / 2, last_col = cols - (fc - 1) / 2;
  const int out_rows = last_row - first_row, out_cols = last_col - first_col;
  if (out_rows <= 0 || out_cols <= 0) return 0;
  for (int k = 0; k < d->num_filters; k++) {
    const double thresh = d->thresholds[k];
    const float *s = sal + (size_t)k * out_rows * out_cols;
    for (int r = first_row; r < last_row; r++)
      for (int c = first_col; c < last_col; c++) {
        const double v = s[(size_t)(r - first_row) * out_cols + (c - first_col)];
        if (v < thresh + adjust) continue;
        if (ds_hog_add_window(d, out, r, c, level, v - thresh, k)) return -1;
      }
  }
  return 0;
}

/* The device path. One plan of resizes for the frame (upsampling, then the
 * pyramid) and the base image are uploaded without waiting; the levels are
 * made on the device in two images used in turn (the queue runs in order, so
 * a level is consumed before its image is overwritten), each level's
 * features and scores enqueued after it, every level's scores into one
 * buffer read back once, then thresholded in the host detector's order. */
typedef struct level_scores {
  int level, width, height; /* the level's image */
  int rows, cols;           /* its features */
  size_t offset;            /* of its scores, in floats */
} level_scores;

/* A pyramid image buffer of at least bytes, zeroed when made. */
static ds_status ensure_image(ds_runtime *rt, cl_mem *buf, size_t *have, size_t bytes,
                              ds_error *err) {
  const cl_mem before = *buf;
  bytes = (bytes + 3) / 4 * 4;
  ds_status st = ds_buffer_ensure(rt, buf, have, bytes, "HOG pyramid level", err);
  if (st == DS_OK && *buf != before) st = ds_fill_f32(rt, *buf, 0.0f, bytes / 4, err);
  return st;
}

static ds_status device_detect(ds_runtime *rt, ds_hog_cl_workspace *ws, const ds_hog_detector *d,
                               const uint8_t *img, int width, int height, int ch, int upsample,
                               double adjust, ds_hog_candidates *cands, ds_error *err) {
  ds_resize_plan *plan = &ws->plan;
  ds_resize_plan_clear(plan);
  /* The resizes and each level's size and scores. */
  ds_resize_step steps[4 + 64];
  int nsteps = 0, w = width, h = height;
  ds_status st = DS_OK;
  for (int i = 0; i < upsample && st == DS_OK; i++) {
    int uw, uh;
    ds_hog_pyramid_up2_size(w, h, &uw, &uh);
    st = ds_resize_plan_add(plan, w, h, uw, uh, &steps[nsteps++], err);
    w = uw;
    h = uh;
  }
  /* Every level in the largest one's rows, with margins (ds_fhog's fast
   * loads). Margin bytes feed only pixels that vote nowhere, so any value
   * serves: zeros from when a buffer is made, or an earlier, larger frame's
   * pixels. */
  const size_t img_pitch = ds_fhog_padded_pitch(w, ch);
  const size_t image_bytes = DS_FHOG_MARGIN + img_pitch * h;
  long levels = ds_hog_pyramid_levels(d, w, h);
  if (levels > 64) levels = 64; /* 5/6 per level: a level 64 deep is below a pixel */
  level_scores lv[64];
  size_t total = 0;
  int nlv = 0;
  for (long level = 0; level < levels && st == DS_OK; level++) {
    if (level > 0) {
      int nw, nh;
      ds_hog_pyramid_down6_size(w, h, &nw, &nh);
      st = ds_resize_plan_add(plan, w, h, nw, nh, &steps[nsteps++], err);
      w = nw;
      h = nh;
    }
    int rows, cols, out_rows, out_cols;
    ds_fhog_size(w, h, d->cell_size, d->filter_rows, d->filter_cols, &rows, &cols);
    ds_hog_scores_size(d, rows, cols, &out_rows, &out_cols);
    lv[nlv++] = (level_scores){(int)level, w, h, rows, cols, total};
    total += (size_t)d->num_filters * out_rows * out_cols;
  }
  if (st != DS_OK) return st;
  if (total == 0) return DS_OK;
  if (total > ws->sal_host_cap) {
    free(ws->sal_host);
    ws->sal_host = malloc(total * sizeof *ws->sal_host);
    ws->sal_host_cap = ws->sal_host ? total : 0;
    if (!ws->sal_host) return ds_hog_no_memory(err, width, height);
  }
  st = ensure_image(rt, &ws->img, &ws->img_bytes, image_bytes, err);
  if (st == DS_OK) st = ensure_image(rt, &ws->img2, &ws->img2_bytes, image_bytes, err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &ws->sal, &ws->sal_bytes, total * sizeof(float), "HOG scores", err);
  if (st == DS_OK) st = ds_resize_plan_upload(rt, plan, err);
  if (st == DS_OK)
    st = ds_buffer_write_rows_async(rt, ws->img, DS_FHOG_MARGIN, img_pitch, (size_t)width * ch,
                                    (size_t)height, img, err);
  /* The upsamplings, then the levels, each after its pyramid_down step;
   * every resize reads one image and writes the other. */
  ds_fhog_image cur = {ws->img, DS_FHOG_MARGIN, img_pitch};
  ds_fhog_image other = {ws->img2, DS_FHOG_MARGIN, img_pitch};
  int step = 0;
  for (int i = 0; i < upsample + nlv && st == DS_OK; i++) {
    const int level = i - upsample; /* < 0: an upsampling */
    if (level != 0) {
      st = ds_resize_cl(rt, plan, &steps[step++], ch, cur, other, err);
      const ds_fhog_image t = cur;
      cur = other;
      other = t;
    }
    if (st != DS_OK || level < 0) continue;
    const level_scores *l = &lv[level];
    int out_rows, out_cols, pitch, plane_rows;
    ds_hog_scores_size(d, l->rows, l->cols, &out_rows, &out_cols);
    if (out_rows == 0) continue;
    ds_hog_feature_layout(d, l->rows, l->cols, &pitch, &plane_rows);
    st = ds_buffer_ensure(rt, &ws->hog, &ws->hog_bytes,
                          (size_t)DS_FHOG_PLANES * plane_rows * pitch * sizeof(float),
                          "HOG features", err);
    if (st == DS_OK)
      st = ds_fhog(rt, &ws->fhog, cur, l->width, l->height, ch, d->cell_size, d->filter_rows,
                   d->filter_cols, pitch, plane_rows, ws->hog, err);
    if (st == DS_OK)
      st = ds_hog_scores(rt, ws, d, ws->hog, l->rows, l->cols, ws->sal, l->offset, err);
  }
  if (st == DS_OK) st = ds_buffer_read(rt, ws->sal, 0, total * sizeof(float), ws->sal_host, err);
  for (int i = 0; i < nlv && st == DS_OK; i++) {
    const level_scores *l = &lv[i];
    if (collect(d, ws->sal_host + l->offset, l->rows, l->cols, l->level, adjust, cands))
      st = ds_hog_no_memory(err, width, height);
  }
  return st;
}

ds_status ds_hog_detect_cl(ds_runtime *rt, const ds_hog_detector *d, const uint8_t *pixels,
                           int width, int height, int channels, int upsample,
                           double adjust_threshold, ds_detection **dets, int *count,
                           ds_error *err) {
  ds_hog_cl_workspace ws;
  memset(&ws, 0, sizeof ws);
  ds_status st = ds_hog_detect_cl_ws(rt, &ws, d, pixels, width, height, channels, upsample,
                                     adjust_threshold, dets, count, err);
  ds_hog_cl_workspace_release(&ws);
  return st;
}

ds_status ds_hog_detect_cl_ws(ds_runtime *rt, ds_hog_cl_workspace *ws, const ds_hog_detector *d,
                              const uint8_t *pixels, int width, int height, int channels,
                              int upsample, double adjust_threshold, ds_detection **dets,
                              int *count, ds_error *err) {
  *dets = NULL;
  *count = 0;
  ds_status st = ds_hog_check_input(width, height, channels, upsample, err);
  if (st != DS_OK) return st;
  /* Colour runs dlib's rgb_pixel detector; otherwise RGB becomes grey. */
  const int ch = (channels == 3 && d->color) ? 3 : 1;
  uint8_t *grey = NULL;
  if (channels == 3 && ch == 1) {
    grey = malloc((size_t)width * height);
    if (!grey) return ds_hog_no_memory(err, width, height);
    ds_hog_rgb_to_gray(pixels, width, height, grey);
  }
  ds_hog_candidates cands = {0};
  st = device_detect(rt, ws, d, grey ? grey : pixels, width, height, ch, upsample, adjust_threshold,
                     &cands, err);
  if (st != DS_OK) { /* nothing may still read the image or the plan */
    ds_error ignored = {0};
    ds_runtime_finish(rt, &ignored);
  }
  if (st == DS_OK) st = ds_hog_suppress(d, &cands, upsample, width, height, dets, count, err);
  free(cands.items);
  free(grey);
  return st;
}
