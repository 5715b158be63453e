/* dlib's frontal HOG face detector (get_frontal_face_detector(), an
 * object_detector<scan_fhog_pyramid<pyramid_down<6>>>), reimplemented in C:
 * the serialized model, the pyramid_down<6> image pyramid, fHOG features
 * (engine/detect/fhog.h), linear filters scored on every level, thresholds
 * and dlib's non-max suppression. Host reference code; the OpenCL path is
 * checked against it. */
#ifndef DS_ENGINE_DETECT_HOG_DETECTOR_H
#define DS_ENGINE_DETECT_HOG_DETECTOR_H

#include <stdint.h>

#include "core/error.h"

typedef struct ds_hog_detector ds_hog_detector;

/* A face box as dlib's rectangle: whole pixels, right and bottom inclusive
 * (width = right - left + 1), possibly partly outside the image. score is
 * dlib's detection_confidence (filter response minus the filter's
 * threshold); weight_index the filter that fired (0-4 for the frontal
 * model). */
typedef struct ds_detection {
  float left, top, right, bottom;
  double score;
  int weight_index;
} ds_detection;

/* Reads dlib's serialized object_detector<scan_fhog_pyramid<pyramid_down<6>,
 * default_fhog_feature_extractor>> (dlib::serialize, object_detector version
 * 2 or 1). Errors: DS_ERR_NOT_FOUND, DS_ERR_IO, DS_ERR_CORRUPT (not such a
 * detector, truncated, or sizes that disagree; every count is checked
 * against the bytes left), DS_ERR_NO_MEMORY. *out is NULL on failure. */
ds_status ds_hog_detector_load(const char *path, ds_hog_detector **out, ds_error *err);

int ds_hog_detector_num_filters(const ds_hog_detector *d);

/* Filters are scored, as in dlib, through their separable decomposition:
 * each 10 x 10 plane as a sum of rank-1 terms (column filter x row filter)
 * from its SVD, singular values below max(1e-4, 0.001 x the largest)
 * dropped (dlib's frontal model: 61, 58, 54, 66, 66 terms). Setting
 * separable to 0 scores with the full filters instead, the exact linear
 * model. */
int ds_hog_detector_num_separable_terms(const ds_hog_detector *d, int filter);
void ds_hog_detector_set_separable(ds_hog_detector *d, int separable);

/* dlib's rgb_pixel -> unsigned char conversion, (r + g + b) / 3 in integers,
 * for width * height interleaved RGB pixels. */
void ds_hog_rgb_to_gray(const uint8_t *rgb, int width, int height, uint8_t *gray);

/* How RGB input is read. 0 (the default): converted with
 * ds_hog_rgb_to_gray, results equal dlib's detector on the grey image. 1: as
 * dlib's detector on an rgb_pixel image (what dlib's Python binding does
 * with a colour array): the pyramid is resized in colour and each pixel's
 * gradient is that of its strongest channel. The two can find different
 * faces. */
void ds_hog_detector_set_color(ds_hog_detector *d, int color);

/* Runs the detector on an 8-bit image of width x height pixels with 1 (grey)
 * or 3 (RGB, interleaved) channels, RGB read as ds_hog_detector_set_color
 * says. upsample (0 to 4) doubles the image that many times first with
 * dlib's pyramid_up(img, pyramid_down<2>) and maps the boxes back with its
 * rect_down, as dlib's Python binding does, finding faces down to ~40 px at
 * 1. A window is kept when its score >= adjust_threshold (dlib's default 0).
 * *dets (malloc'd, caller frees; NULL when *count is 0) holds the boxes by
 * decreasing score after dlib's non-max suppression.
 *
 * Agreement with dlib: same features and pyramid bit for bit; the filter
 * responses are float sums in another order than dlib's SIMD code (and our
 * SVD is not LAPACK's), so scores differ from dlib's by float rounding
 * (~1e-5) and a window exactly at the threshold may flip. Errors: DS_ERR_INVALID, DS_ERR_NO_MEMORY.
 */
ds_status ds_hog_detect(const ds_hog_detector *d, const uint8_t *pixels, int width, int height,
                        int channels, int upsample, double adjust_threshold, ds_detection **dets,
                        int *count, ds_error *err);

void ds_hog_detector_free(ds_hog_detector *d);

/* dlib's pyramid_down<6> of an image: a bilinear resize to
 * (5 * h) / 6 x (5 * w) / 6 with the arithmetic of dlib's resize_image for
 * grey (channels 1) or rgb_pixel (3) images. ds_hog_pyramid_up2 is
 * pyramid_up with pyramid_down<2>: (2 h + 1) x (2 w + 2). out must hold the
 * size given by the _size functions. Exposed for tests and kernels. */
void ds_hog_pyramid_down6_size(int width, int height, int *out_width, int *out_height);
void ds_hog_pyramid_up2_size(int width, int height, int *out_width, int *out_height);
void ds_hog_resize_bilinear(const uint8_t *in, int in_width, int in_height, int channels,
                            uint8_t *out, int out_width, int out_height);

#endif
