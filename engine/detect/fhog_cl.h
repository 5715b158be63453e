/* dlib's fHOG (engine/detect/fhog.h) on the device: the same features, in
 * the same planar layout, as ds_fhog_reference, computed by the kernels of
 * cl/detect/fhog.cl. */
#ifndef DS_ENGINE_DETECT_FHOG_CL_H
#define DS_ENGINE_DETECT_FHOG_CL_H

#include <CL/cl.h>
#include <stddef.h>

#include "host/buffer.h"
#include "host/runtime.h"

/* An 8-bit image on the device: row y starts at byte offset + y * pitch,
 * pixels interleaved (1 or 3 channels). */
typedef struct ds_fhog_image {
  cl_mem mem;
  size_t offset, pitch;
} ds_fhog_image;

/* Margins that let the grey cell-8 gradient kernel read whole vectors on
 * every row: an image whose offset is >= DS_FHOG_MARGIN and whose pitch is
 * >= DS_FHOG_MARGIN + width + DS_FHOG_RIGHT_MARGIN, both multiples of 4, in
 * a buffer with DS_FHOG_RIGHT_MARGIN readable bytes (any values) after its
 * last row, takes the fast loads everywhere (ds_fhog_padded_pitch gives such
 * a pitch). Other images are read through bounds-checked loads at their left
 * and right edges. */
enum { DS_FHOG_MARGIN = 16, DS_FHOG_RIGHT_MARGIN = 144 };
size_t ds_fhog_padded_pitch(int width, int channels);

/* Device scratch for ds_fhog and ds_fhog_levels, grown as needed;
 * zero-initialise it and release it with ds_fhog_workspace_release. */
typedef struct ds_fhog_workspace {
  cl_mem orient, mag, part, hist, norm;
  size_t orient_bytes, mag_bytes, part_bytes, hist_bytes, norm_bytes;
  ds_table levels; /* the batch's parameters (cl/detect/fhog.cl fhog_level) */
} ds_fhog_workspace;

void ds_fhog_workspace_release(ds_fhog_workspace *ws);

/* Device scratch bytes ds_fhog needs for a width x height image (a batch:
 * the sum over its images). */
size_t ds_fhog_scratch_bytes(int width, int height, int cell_size);

/* Enqueues the fHOG of img (width x height 8-bit pixels, 1 or 3 interleaved
 * channels) into hog: DS_FHOG_PLANES planes of plane_rows x
 * pitch floats (rows x cols sized by ds_fhog_size, plane_rows >= rows, pitch
 * >= cols; plane o, row r, column c at hog[(o * plane_rows + r) * pitch +
 * c]; every element is written, the padding with 0). Same maths as
 * ds_fhog_reference, the histograms summed in another order
 * (cl/detect/fhog.cl), so features agree to float rounding. Measured against
 * the reference: see tests/test_hog_cl.c. Nothing is enqueued for an image
 * too small to give a cell (rows == 0). Errors: DS_ERR_INVALID, what the
 * buffers and kernels report. */
ds_status ds_fhog(ds_runtime *rt, ds_fhog_workspace *ws, ds_fhog_image img, int width, int height,
                  int channels, int cell_size, int pad_rows, int pad_cols, int pitch,
                  int plane_rows, cl_mem hog, ds_error *err);

/* One image of ds_fhog_levels: where it is, where and how its features go
 * (as ds_fhog's arguments; hog_offset in floats), and its batch. */
typedef struct ds_fhog_level {
  ds_fhog_image img; /* every image in the same buffer */
  int width, height, pitch, plane_rows;
  size_t hog_offset;
  int batch; /* consecutive images with the same number form a batch */
} ds_fhog_level;

/* ds_fhog of the images of one batch (those with .batch == batch) at once,
 * one launch per kernel for them all, into hog. levels lists every image of
 * every batch (the table goes to the device only when it changes, so a
 * pyramid's batches, made in turn with the same list, share one upload);
 * each batch has its own scratch. Offsets and sizes within a batch must
 * stay below 2^31 elements (DS_ERR_INVALID otherwise: smaller batches). */
ds_status ds_fhog_levels(ds_runtime *rt, ds_fhog_workspace *ws, const ds_fhog_level *levels, int n,
                         int batch, int channels, int cell_size, int pad_rows, int pad_cols,
                         cl_mem hog, ds_error *err);

#endif
