/* dlib's frontal HOG detector (engine/detect/hog_detector.h) with the
 * per-level work on the device: fHOG (engine/detect/fhog_cl.h) and the filter
 * responses (cl/detect/scan.cl). The pyramid, thresholds, box mapping and
 * non-max suppression stay on the host and repeat ds_hog_detect's. */
#ifndef DS_ENGINE_DETECT_HOG_SCAN_CL_H
#define DS_ENGINE_DETECT_HOG_SCAN_CL_H

#include <CL/cl.h>

#include "engine/detect/fhog_cl.h"
#include "engine/detect/hog_detector.h"
#include "engine/detect/pyramid_cl.h"
#include "host/runtime.h"

/* Valid window area of a rows x cols feature level for d's filters: the
 * score map has out_rows x out_cols entries per filter (both 0 when the
 * level is smaller than a filter). */
void ds_hog_scores_size(const ds_hog_detector *d, int rows, int cols, int *out_rows, int *out_cols);

/* Device scratch for ds_hog_scores and ds_hog_detect_cl_ws: zero-initialise, release with
 * ds_hog_cl_workspace_release. It keeps the filter bank of the first
 * detector it scores with: release it before scoring with another. */
typedef struct ds_hog_cl_workspace {
  ds_fhog_workspace fhog;
  cl_mem sep, term_plane, first, count, weights; /* the filter bank, uploaded once */
  const ds_hog_detector *bank_of;
  ds_table levels;      /* the scores' level table (cl/detect/scan.cl scan_level) */
  cl_mem img, hog, sal; /* every pyramid image, a batch's features, every level's scores */
  size_t img_bytes, hog_bytes, sal_bytes;
  ds_resize_plan plan; /* the frame's resizes */
  float *sal_host;
  size_t sal_host_cap;
} ds_hog_cl_workspace;

void ds_hog_cl_workspace_release(ds_hog_cl_workspace *ws);

/* The layout ds_hog_scores reads a rows x cols feature level in: planes of
 * plane_rows x pitch floats (ds_fhog's layout arguments), zero beyond rows
 * and cols, so the scan reads whole strips without bounds checks. */
void ds_hog_feature_layout(const ds_hog_detector *d, int rows, int cols, int *pitch,
                           int *plane_rows);

/* Enqueues the responses of every filter of d at every window position of
 * the level hog (rows x cols features in ds_hog_feature_layout on the
 * device) into sal from float sal_offset on (num_filters x out_rows x
 * out_cols floats): sal[k][r][c] is the response of filter k centred on
 * feature cell (r + fr / 2, c + fc / 2), the filter's threshold not
 * subtracted. Separable or full bank as d is set
 * (ds_hog_detector_set_separable), each in the C detector's order; the
 * separable bank with fused multiply-adds (within float rounding of the
 * reference), the full bank with plain sums (bit-identical on PoCL).
 * Errors: what the buffers and kernels report. */
ds_status ds_hog_scores(ds_runtime *rt, ds_hog_cl_workspace *ws, const ds_hog_detector *d,
                        cl_mem hog, int rows, int cols, cl_mem sal, size_t sal_offset,
                        ds_error *err);

/* One level of ds_hog_scores_levels: rows x cols features in
 * ds_hog_feature_layout from float hog_offset of hog, its scores from float
 * sal_offset of sal, and its batch. */
typedef struct ds_hog_score_level {
  int rows, cols;
  size_t hog_offset, sal_offset;
  int batch; /* consecutive levels with the same number form a batch */
} ds_hog_score_level;

/* ds_hog_scores of the levels of one batch (.batch == batch) in one
 * launch; levels lists every level of every batch, as ds_fhog_levels.
 * Offsets and sizes must stay below 2^31 floats (DS_ERR_INVALID
 * otherwise: smaller batches). */
ds_status ds_hog_scores_levels(ds_runtime *rt, ds_hog_cl_workspace *ws, const ds_hog_detector *d,
                               cl_mem hog, const ds_hog_score_level *levels, int n, int batch,
                               cl_mem sal, ds_error *err);

/* The same on the host, the sums of hog_scan.c's scan_level. */
void ds_hog_scores_reference(const ds_hog_detector *d, const float *hog, int rows, int cols,
                             float *sal);

/* ds_hog_detect with fHOG and the filter responses on rt's device: same
 * arguments, same results (features bit-identical on PoCL; scores within
 * float rounding, ~1e-6, of the host's). Only the image goes up and the
 * scores of every level come back, in one read: the pyramid
 * (engine/detect/pyramid_cl.h), features and scores are made on the device. Errors: as
 * ds_hog_detect, plus what the device reports. */
ds_status ds_hog_detect_cl(ds_runtime *rt, const ds_hog_detector *d, const uint8_t *pixels,
                           int width, int height, int channels, int upsample,
                           double adjust_threshold, ds_detection **dets, int *count, ds_error *err);

/* The same with the device buffers kept in ws between calls (frames of a
 * video): ds_hog_detect_cl is this with a fresh workspace. */
ds_status ds_hog_detect_cl_ws(ds_runtime *rt, ds_hog_cl_workspace *ws, const ds_hog_detector *d,
                              const uint8_t *pixels, int width, int height, int channels,
                              int upsample, double adjust_threshold, ds_detection **dets,
                              int *count, ds_error *err);

#endif
