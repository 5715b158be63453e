/* Host side of cl/detect/scan.cl and the device detector. The pyramid,
 * thresholds, box mapping and NMS repeat engine/detect/hog_scan.c and hog_nms.c, whose
 * helpers are static there. */
#include "engine/detect/hog_scan_cl.h"

#include <limits.h>
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

/* ---- the detector: hog_pyramid.c, hog_scan.c and hog_nms.c on the device */

/* collect: the thresholding of scan_level in hog_scan.c over the score
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
 * pyramid) and the base image are uploaded without waiting; every image
 * (the frame, its upsamplings, the levels) has its own place in one buffer.
 * The levels' features and scores are made in batches of consecutive
 * levels, one launch per kernel per batch, each batch's resizes enqueued
 * just before it; every level's scores go into one buffer, read back once,
 * and are thresholded in the host detector's order.
 *
 * BATCH_BYTES, the scratch and features of a batch, trades launches for
 * cache: one launch for the whole pyramid was slower on a 2-core EPYC
 * through PoCL than one per level (the intermediate data of a 1080p frame,
 * ~85 MB, leaves the cache between kernels), while 8 MiB batches (one level
 * each at the large end, the small levels together: a 480x480 frame in 2
 * batches, not 12 launches per kernel) were as fast as per-level launches
 * at 720p and 1080p and ~10 % faster at 480x480. (bench/detect.sh
 * --profile; on GPUs, where a launch costs more, larger batches would
 * serve.) */
typedef struct level_scores {
  int level, width, height; /* the level's image */
  int rows, cols;           /* its features */
  size_t offset;            /* of its scores, in floats */
  ds_fhog_image img;
  int made_by; /* resizes up to its image */
} level_scores;

/* A frame's resizes: step i makes image i + 1 from image i. */
typedef struct frame_resizes {
  const ds_resize_plan *plan;
  const ds_resize_step *steps;
  const ds_fhog_image *images;
  int done, ch;
} frame_resizes;

enum { MAX_LEVELS = 64, BATCH_BYTES = 8 << 20 };

/* Places an image of width x height in the images' buffer from byte *end
 * on, with ds_fhog's margins. */
static ds_fhog_image place_image(size_t *end, int width, int height, int ch) {
  const size_t pitch = ds_fhog_padded_pitch(width, ch);
  const ds_fhog_image im = {NULL, *end + DS_FHOG_MARGIN, pitch};
  *end = (*end + DS_FHOG_MARGIN + pitch * height + 15) / 16 * 16;
  return im;
}

/* Features and scores of levels lv[0 .. n) (all with scores) in batches of
 * consecutive levels whose scratch and features fit BATCH_BYTES (a level
 * larger than that alone), each batch's features from the start of ws->hog. */
static ds_status score_levels(ds_runtime *rt, ds_hog_cl_workspace *ws, const ds_hog_detector *d,
                              const level_scores *lv, int n, frame_resizes *rs, ds_error *err) {
  const int ch = rs->ch;
  ds_fhog_level fl[MAX_LEVELS];
  ds_hog_score_level sl[MAX_LEVELS];
  size_t bytes_in_batch = 0, hog_floats = 0, hog_max = 0;
  int batch = 0;
  for (int i = 0; i < n; i++) {
    int pitch, plane_rows;
    ds_hog_feature_layout(d, lv[i].rows, lv[i].cols, &pitch, &plane_rows);
    const size_t floats = (size_t)DS_FHOG_PLANES * plane_rows * pitch;
    const size_t bytes =
        ds_fhog_scratch_bytes(lv[i].width, lv[i].height, d->cell_size) + floats * sizeof(float);
    if (i > 0 && bytes_in_batch + bytes > BATCH_BYTES) {
      batch++;
      bytes_in_batch = hog_floats = 0;
    }
    fl[i] =
        (ds_fhog_level){lv[i].img, lv[i].width, lv[i].height, pitch, plane_rows, hog_floats, batch};
    sl[i] = (ds_hog_score_level){lv[i].rows, lv[i].cols, hog_floats, lv[i].offset, batch};
    bytes_in_batch += bytes;
    hog_floats += floats;
    if (hog_floats > hog_max) hog_max = hog_floats;
  }
  ds_status st =
      ds_buffer_ensure(rt, &ws->hog, &ws->hog_bytes, hog_max * sizeof(float), "HOG features", err);
  for (int b = 0, last = 0; b <= batch && st == DS_OK; b++) {
    /* the resizes up to the batch's last image, just before it (in cache) */
    while (last + 1 < n && fl[last + 1].batch == b)
      last++;
    while (rs->done < lv[last].made_by && st == DS_OK) {
      st = ds_resize_cl(rt, rs->plan, &rs->steps[rs->done], ch, rs->images[rs->done],
                        rs->images[rs->done + 1], err);
      rs->done++;
    }
    if (st == DS_OK)
      st = ds_fhog_levels(rt, &ws->fhog, fl, n, b, ch, d->cell_size, d->filter_rows, d->filter_cols,
                          ws->hog, err);
    if (st == DS_OK) st = ds_hog_scores_levels(rt, ws, d, ws->hog, sl, n, b, ws->sal, err);
  }
  return st;
}

static ds_status device_detect(ds_runtime *rt, ds_hog_cl_workspace *ws, const ds_hog_detector *d,
                               const uint8_t *img, int width, int height, int ch, int upsample,
                               double adjust, ds_hog_candidates *cands, ds_error *err) {
  ds_resize_plan *plan = &ws->plan;
  ds_resize_plan_clear(plan);
  /* The resizes, each from image i to image i + 1, and each level's size
   * and scores. */
  ds_resize_step steps[4 + MAX_LEVELS];
  ds_fhog_image images[4 + MAX_LEVELS + 1];
  int nsteps = 0, w = width, h = height;
  size_t end = 0;
  images[0] = place_image(&end, w, h, ch);
  ds_status st = DS_OK;
  for (int i = 0; i < upsample && st == DS_OK; i++) {
    int uw, uh;
    ds_hog_pyramid_up2_size(w, h, &uw, &uh);
    st = ds_resize_plan_add(plan, w, h, uw, uh, &steps[nsteps++], err);
    w = uw;
    h = uh;
    images[nsteps] = place_image(&end, w, h, ch);
  }
  long levels = ds_hog_pyramid_levels(d, w, h);
  if (levels > MAX_LEVELS) levels = MAX_LEVELS; /* 5/6 per level: 64 deep is below a pixel */
  level_scores lv[MAX_LEVELS];
  size_t total = 0;
  int nlv = 0;
  for (long level = 0; level < levels && st == DS_OK; level++) {
    if (level > 0) {
      int nw, nh;
      ds_hog_pyramid_down6_size(w, h, &nw, &nh);
      st = ds_resize_plan_add(plan, w, h, nw, nh, &steps[nsteps++], err);
      w = nw;
      h = nh;
      images[nsteps] = place_image(&end, w, h, ch);
    }
    int rows, cols, out_rows, out_cols;
    ds_fhog_size(w, h, d->cell_size, d->filter_rows, d->filter_cols, &rows, &cols);
    ds_hog_scores_size(d, rows, cols, &out_rows, &out_cols);
    if (out_rows == 0) continue;
    lv[nlv++] = (level_scores){(int)level, w, h, rows, cols, total, images[nsteps], nsteps};
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
  /* Margin bytes feed only pixels that vote nowhere, so any value serves:
   * zeros from when the buffer is made, or an earlier frame's pixels. */
  const cl_mem before = ws->img;
  st = ds_buffer_ensure(rt, &ws->img, &ws->img_bytes, end, "HOG pyramid images", err);
  if (st == DS_OK && ws->img != before) st = ds_fill_f32(rt, ws->img, 0.0f, end / 4, err);
  for (int i = 0; i <= nsteps; i++)
    images[i].mem = ws->img;
  for (int i = 0; i < nlv; i++)
    lv[i].img.mem = ws->img;
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &ws->sal, &ws->sal_bytes, total * sizeof(float), "HOG scores", err);
  if (st == DS_OK) st = ds_resize_plan_upload(rt, plan, err);
  if (st == DS_OK)
    st = ds_buffer_write_rows_async(rt, ws->img, images[0].offset, images[0].pitch,
                                    (size_t)width * ch, (size_t)height, img, err);
  frame_resizes rs = {plan, steps, images, 0, ch};
  if (st == DS_OK) st = score_levels(rt, ws, d, lv, nlv, &rs, err);
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
