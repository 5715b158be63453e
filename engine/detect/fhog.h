/* Felzenszwalb HOG (31 features per cell) exactly as dlib 19.24 computes it
 * in extract_fhog_features (dlib/image_transforms/fhog.h), for grey or RGB
 * 8-bit images. Host reference code; the OpenCL kernels are checked against
 * it.
 *
 * Output layout: 31 planes, plane-major, each rows x cols floats:
 *   hog[(o * rows + y) * cols + x]
 * Planes 0-17 are the contrast-sensitive orientations (20 degrees each),
 * 18-26 the contrast-insensitive ones, 27-30 the four texture (gradient
 * energy) features. As in dlib, a filter padding of pad_rows x pad_cols adds
 * a zero border around the hog_nr x hog_nc cells that the image yields:
 * (pad - 1) / 2 cells before and pad / 2 after, so a pad x pad filter can be
 * centred on every cell. dlib's face detector uses cell 8 and padding 10. */
#ifndef DS_ENGINE_DETECT_FHOG_H
#define DS_ENGINE_DETECT_FHOG_H

#include <stdint.h>

#include "core/error.h"

enum { DS_FHOG_PLANES = 31 };

/* Plane size for an image of width x height pixels; both 0 when the image
 * is too small to give a cell (dlib then returns 31 empty planes). */
void ds_fhog_size(int width, int height, int cell_size, int pad_rows, int pad_cols, int *rows,
                  int *cols);

/* Computes the features of an 8-bit image with 1 (grey) or 3 (RGB,
 * interleaved) channels, rows width * channels bytes apart, into hog
 * (DS_FHOG_PLANES * rows * cols floats, sized by ds_fhog_size). RGB follows
 * dlib's rgb_pixel path: per pixel, the gradient of the channel with the
 * largest squared magnitude, with dlib's tie-breaking (which differs between
 * its SIMD blocks of 8 pixels and the scalar tail of each row).
 *
 * The float arithmetic repeats dlib's as compiled for plain x86-64 (SSE2, no
 * FMA): same operation order, the same horizontal-sum order ((a0 + a2) +
 * (a1 + a3)), so the result is bit-identical to such a build. Builds of dlib
 * with SSE4.1 or AVX sum in another order and differ by float rounding.
 * Errors: DS_ERR_INVALID (bad shape), DS_ERR_NO_MEMORY. */
ds_status ds_fhog_reference(const uint8_t *pixels, int width, int height, int channels,
                            int cell_size, int pad_rows, int pad_cols, float *hog, ds_error *err);

#endif
