/* The detector's fields, shared by the host code (hog_model.c: the file;
 * hog_pyramid.c, hog_scan.c, hog_nms.c: the detection) and the device path
 * (hog_scan_cl.c, hog_detect_cl.c); nothing else includes this. */
#ifndef DS_ENGINE_DETECT_HOG_DETECTOR_INTERNAL_H
#define DS_ENGINE_DETECT_HOG_DETECTOR_INTERNAL_H

#include <math.h>
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

/* dlib's drectangle -> rectangle conversion. */
static inline long ds_hog_round_half_up(double v) { return (long)floor(v + 0.5); }

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

/* ds_hog_detect's steps, shared with the device path:
 * input checks (DS_ERR_INVALID naming the shape); */
ds_status ds_hog_check_input(int width, int height, int channels, int upsample, ds_error *err);
/* the number of pyramid levels of a width x height (upsampled) image; */
long ds_hog_pyramid_levels(const ds_hog_detector *d, int width, int height);
/* and, once every level's windows are in cands (level by level, each filter
 * by filter in row-major order), dlib's non-max suppression by decreasing
 * score and the mapping back through the upsampling: *dets malloc'd (NULL
 * when *count is 0). cands is sorted in place. width x height is the input
 * image, for the out-of-memory message. */
ds_status ds_hog_suppress(const ds_hog_detector *d, ds_hog_candidates *cands, int upsample,
                          int width, int height, ds_detection **dets, int *count, ds_error *err);

/* The out-of-memory error of a detection on a width x height image. */
ds_status ds_hog_no_memory(ds_error *err, int width, int height);

#endif
