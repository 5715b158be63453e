/* dlib's 68-point shape predictor: the ensemble of regression trees of
 * Kazemi & Sullivan (CVPR 2014), read from dlib's serialized .dat format and
 * evaluated with the same arithmetic as dlib 19.24's shape_predictor, so the
 * landmarks agree with dlib's to float rounding. Host code only. */
#ifndef DS_ENGINE_DETECT_SHAPE_PREDICTOR_H
#define DS_ENGINE_DETECT_SHAPE_PREDICTOR_H

#include <stdint.h>

#include "core/error.h"

/* Debian's libdlib-data installs the model here. */
#define DS_SHAPE_PREDICTOR_DEFAULT_PATH "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

typedef struct ds_shape_predictor ds_shape_predictor;

/* Reads a dlib shape_predictor file. Errors: DS_ERR_NOT_FOUND (no such file;
 * the message names libdlib-data and --landmarks), DS_ERR_CORRUPT (not a
 * shape predictor, truncated or inconsistent; every count read from the file
 * is checked against the bytes left), DS_ERR_IO, DS_ERR_NO_MEMORY. *out is
 * NULL on failure. */
ds_status ds_shape_predictor_load(const char *path, ds_shape_predictor **out, ds_error *err);

/* Number of landmarks (68 for dlib's face model), cascade levels, and trees in
 * one level. */
int ds_shape_predictor_num_parts(const ds_shape_predictor *sp);
int ds_shape_predictor_num_levels(const ds_shape_predictor *sp);
int ds_shape_predictor_num_trees(const ds_shape_predictor *sp, int level);

/* Places the landmarks inside box = {left, top, right, bottom} (dlib's
 * rectangle: right and bottom inclusive, normally whole pixels) of an 8-bit
 * image with 1 (grey), 3 (RGB) or 4 (RGBA) interleaved channels, rows
 * width * channels bytes apart. Colour pixels read as dlib's grey conversion,
 * (r + g + b) / 3 in integers. xy receives num_parts points in pixel
 * coordinates, unrounded: dlib's full_object_detection holds them rounded to
 * floor(v + 0.5). Errors: DS_ERR_INVALID (bad shape or box). */
ds_status ds_shape_predictor_run(const ds_shape_predictor *sp, const uint8_t *gray_or_rgb,
                                 int width, int height, int channels, const float box[4],
                                 float xy[][2], ds_error *err);

void ds_shape_predictor_free(ds_shape_predictor *sp);

#endif
