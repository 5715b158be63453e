/* The HOG detector on the device: a frame's pyramid (pyramid_cl.c), fHOG
 * (fhog_cl.c) and score maps (hog_scan_cl.c) in batches of levels, then the
 * thresholds, box mapping and non-max suppression of the host path
 * (hog_scan.c, hog_nms.c) over the maps read back. */
#include <stdlib.h>
#include <string.h>

#include "engine/detect/fhog.h"
#include "engine/detect/hog_detector_internal.h"
#include "engine/detect/hog_scan_cl.h"
#include "engine/detect/pyramid_cl.h"
#include "engine/tensor/vector.h"
#include "host/buffer.h"
#include "host/program.h"

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
