/* The detector's fields, shared by the host code (hog_detector.c) and the
 * device path (hog_scan_cl.c); nothing else includes this. */
#ifndef DS_ENGINE_DETECT_HOG_DETECTOR_INTERNAL_H
#define DS_ENGINE_DETECT_HOG_DETECTOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/detect/hog_detector.h"

struct ds_hog_detector {
  int cell_size, padding;
  int window_width, window_height;
  long max_levels, min_level_width, min_level_height;
  int filter_rows, filter_cols; /* in cells, padding included */
  double iou_thresh, covered_thresh;
  int num_filters;
  /* num_filters x 31 planes x filter_rows x filter_cols, as float like
   * dlib's filter bank */
  float *weights;
  double *thresholds; /* num_filters */
  /* dlib's build_fhog_filterbank: each 2-D plane of each filter as a sum of
   * rank-1 terms col * row from its SVD, singular values below
   * max(1e-4, 0.001 * largest) dropped. Term t of plane o of filter k is
   * sep[(sep_first[k * 31 + o] + t) * (filter_rows + filter_cols)]: the
   * column filter (filter_rows values, sqrt(sigma) * u), then the row filter
   * (filter_cols values, sqrt(sigma) * v). */
  float *sep;
  int *sep_first, *sep_count;
  int separable; /* score with the separable bank (default) or in full */
  int sep_next;  /* terms stored so far, while loading */
  int color;     /* RGB input: dlib's colour gradient (1) or grey (0) */
};

/* ---- the scan shared by the host and device paths ---- */

typedef struct ds_hog_box {
  long l, t, r, b;
} ds_hog_box;

typedef struct ds_hog_candidate {
  ds_hog_box rect;
  double score;
  int weight_index;
  long order; /* scan order, to break score ties deterministically */
} ds_hog_candidate;

typedef struct ds_hog_candidates {
  ds_hog_candidate *items;
  size_t n, cap;
} ds_hog_candidates;

/* Appends the window of filter k centred on feature cell (r, c) of pyramid
 * level `level`, whose response s reached the filter's threshold + adjust:
 * the box mapped back to level-0 pixels as dlib does. -1 when out of memory. */
int ds_hog_add_window(const ds_hog_detector *d, ds_hog_candidates *out, int r, int c, int level,
                      double s, int k);

/* Scores one grey (ch 1) or RGB (ch 3) pyramid level of w x h pixels and
 * appends the windows at or above threshold + adjust, filter by filter, in
 * row-major order. */
typedef ds_status (*ds_hog_level_fn)(void *user, const ds_hog_detector *d, const uint8_t *img,
                                     int w, int h, int ch, int level, double adjust,
                                     ds_hog_candidates *out, ds_error *err);

/* Called once after the last level, before the non-max suppression: for a
 * score_level that only enqueues work, to append every level's windows in
 * the order score_level would have (level by level). */
typedef ds_status (*ds_hog_finish_fn)(void *user, const ds_hog_detector *d, double adjust,
                                      ds_hog_candidates *out, ds_error *err);

/* ds_hog_detect with the level scoring supplied: input checks, upsampling,
 * the pyramid, then dlib's NMS and the mapping back through the upsampling.
 * Each level's image stays valid until ds_hog_detect_with returns; finish
 * may be NULL. */
ds_status ds_hog_detect_with(const ds_hog_detector *d, const uint8_t *pixels, int width, int height,
                             int channels, int upsample, double adjust_threshold,
                             ds_hog_level_fn score_level, ds_hog_finish_fn finish, void *user,
                             ds_detection **dets, int *count, ds_error *err);

/* The out-of-memory error of a detection on a width x height image. */
ds_status ds_hog_no_memory(ds_error *err, int width, int height);

#endif
