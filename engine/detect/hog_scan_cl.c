/* Host side of cl/detect/scan.cl: the filter bank on the device, the score
 * maps of a batch of pyramid levels, and their C reference. The detector that
 * runs them frame by frame: hog_detect_cl.c. */
#include "engine/detect/hog_scan_cl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/detect/fhog.h"
#include "engine/detect/hog_detector_internal.h"
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
  ds_table_release(&ws->levels);
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

/* struct scan_level of cl/detect/scan.cl, field for field. */
typedef struct scan_level {
  cl_int hog_at, pitch, plane_rows, out_rows, out_cols, sal_at, tile0;
} scan_level;

ds_status ds_hog_scores(ds_runtime *rt, ds_hog_cl_workspace *ws, const ds_hog_detector *d,
                        cl_mem hog, int rows, int cols, cl_mem sal, size_t sal_offset,
                        ds_error *err) {
  const ds_hog_score_level level = {rows, cols, 0, sal_offset, 0};
  return ds_hog_scores_levels(rt, ws, d, hog, &level, 1, 0, sal, err);
}

ds_status ds_hog_scores_levels(ds_runtime *rt, ds_hog_cl_workspace *ws, const ds_hog_detector *d,
                               cl_mem hog, const ds_hog_score_level *levels, int n, int batch,
                               cl_mem sal, ds_error *err) {
  if (n <= 0) return DS_OK;
  const int full = !d->separable || d->sep_next == 0;
  scan_level *table = malloc((size_t)n * sizeof *table);
  if (!table)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "HOG scores: cannot allocate a table of %d levels",
                        n);
  size_t tiles = 0, batch_tiles = 0; /* counted from the batch's start */
  int ok = 1, first = 0, count = 0;
  for (int i = 0; i < n; i++) {
    const ds_hog_score_level *l = &levels[i];
    if (i > 0 && l->batch != levels[i - 1].batch) tiles = 0;
    if (l->batch == batch && count++ == 0) first = i;
    int out_rows, out_cols, pitch, plane_rows;
    ds_hog_scores_size(d, l->rows, l->cols, &out_rows, &out_cols);
    ds_hog_feature_layout(d, l->rows, l->cols, &pitch, &plane_rows);
    const size_t nx = full ? (size_t)out_cols : ((size_t)out_cols + 15) / 16;
    const size_t ny =
        full ? (size_t)out_rows : ((size_t)out_rows + SCAN_STRIP_ROWS - 1) / SCAN_STRIP_ROWS;
    const size_t n_tiles = nx * ny * (size_t)d->num_filters;
    const size_t hog_end = l->hog_offset + (size_t)DS_FHOG_PLANES * plane_rows * pitch;
    const size_t sal_end = l->sal_offset + (size_t)d->num_filters * out_rows * out_cols;
    ok = ok && hog_end <= INT_MAX && sal_end <= INT_MAX && tiles + n_tiles <= INT_MAX;
    table[i] = (scan_level){(cl_int)l->hog_offset, pitch,        plane_rows, out_rows, out_cols,
                            (cl_int)l->sal_offset, (cl_int)tiles};
    tiles += n_tiles;
    if (l->batch == batch) batch_tiles = tiles;
  }
  ds_status st = DS_OK;
  if (!ok)
    st = ds_error_set(err, DS_ERR_INVALID,
                      "HOG scores: a batch of %d levels from %dx%d features is too large for one "
                      "launch; split it",
                      n, levels[0].rows, levels[0].cols);
  if (st == DS_OK && batch_tiles > 0)
    st = ds_table_upload(rt, &ws->levels, table, (size_t)n * sizeof *table, "HOG level table", err);
  free(table);
  if (st != DS_OK || batch_tiles == 0) return st;
  st = upload_bank(rt, ws, d, err);
  if (st != DS_OK) return st;
  char options[64];
  snprintf(options, sizeof options, "-DFR=%d -DFC=%d -DRB=%d", d->filter_rows, d->filter_cols,
           (int)SCAN_STRIP_ROWS);
  const cl_int level0 = first, nl = count, t = (cl_int)batch_tiles;
  tiles = batch_tiles;
  cl_kernel k;
  if (full) {
    const size_t local = 64, global = (tiles + local - 1) / local * local;
    st = ds_kernel_get(rt, "detect/scan", options, "scan_full", &k, err);
    if (st == DS_OK)
      st = ds_kernel_args(k, err, 7, DS_ARG(sal), DS_ARG(hog), DS_ARG(ws->weights),
                          DS_ARG(ws->levels.mem), DS_ARG(level0), DS_ARG(nl), DS_ARG(t));
    if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &global, &local, err);
    return st;
  }
  /* A tile kernel: the vendor profile's GEMM work-group size (one work-item
   * per group on CPUs). */
  const size_t local = (size_t)rt->profile->gemm_local[0] * rt->profile->gemm_local[1];
  const size_t global = (tiles + local - 1) / local * local;
  st = ds_kernel_get(rt, "detect/scan", options, "scan_strip", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 10, DS_ARG(sal), DS_ARG(hog), DS_ARG(ws->sep),
                        DS_ARG(ws->term_plane), DS_ARG(ws->first), DS_ARG(ws->count),
                        DS_ARG(ws->levels.mem), DS_ARG(level0), DS_ARG(nl), DS_ARG(t));
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &global, &local, err);
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
