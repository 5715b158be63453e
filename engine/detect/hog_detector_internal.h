/* The detector's fields, shared by the host code (hog_detector.c) and the
 * device path (hog_scan_cl.c); nothing else includes this. */
#ifndef DS_ENGINE_DETECT_HOG_DETECTOR_INTERNAL_H
#define DS_ENGINE_DETECT_HOG_DETECTOR_INTERNAL_H

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

#endif
