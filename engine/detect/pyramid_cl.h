/* The HOG detector's image pyramid on the device: ds_hog_resize_bilinear
 * (engine/detect/hog_detector.h) as the kernel of cl/detect/pyramid.cl.
 * The C resize walks its sample positions with running float and double
 * sums; the host runs those recurrences once per resize into tables
 * (ds_resize_plan), so the kernel computes every pixel independently and
 * bit for bit as the C code (on devices with cl_khr_fp64; without it the
 * few columns of the C code's scalar tail are computed in float). */
#ifndef DS_ENGINE_DETECT_PYRAMID_CL_H
#define DS_ENGINE_DETECT_PYRAMID_CL_H

#include <CL/cl.h>
#include <stddef.h>

#include "engine/detect/fhog_cl.h"
#include "host/runtime.h"

/* One resize of a plan: sizes and where its tables start. */
typedef struct ds_resize_step {
  int in_width, in_height, out_width, out_height;
  int simd_cols;        /* columns of the C code's 4-wide float path */
  size_t at, at_double; /* offsets into ints / floats, and into doubles */
} ds_resize_step;

/* The tables of any number of resizes (the levels of one frame), uploaded
 * together. Zero-initialise; release with ds_resize_plan_free. */
typedef struct ds_resize_plan {
  int *ints;
  float *floats;
  double *doubles;
  size_t n, n_double, cap_int, cap_float, cap_double;
  cl_mem ints_cl, floats_cl, doubles_cl;
  size_t ints_bytes, floats_bytes, doubles_bytes;
} ds_resize_plan;

/* Appends the tables of a resize from in_width x in_height to out_width x
 * out_height (all >= 1). Errors: DS_ERR_NO_MEMORY. */
ds_status ds_resize_plan_add(ds_resize_plan *p, int in_width, int in_height, int out_width,
                             int out_height, ds_resize_step *step, ds_error *err);

/* Forgets the tables, keeping the memory (the next frame's plan). */
void ds_resize_plan_clear(ds_resize_plan *p);

/* Enqueues the upload of every table (without waiting: the plan must stay
 * unchanged until the queue has run it). */
ds_status ds_resize_plan_upload(ds_runtime *rt, ds_resize_plan *p, ds_error *err);

/* Enqueues one uploaded resize of an 8-bit image with channels 1 or 3
 * (interleaved) from in to out (rows pitch bytes apart from offset; the
 * bytes between rows are left as they are). */
ds_status ds_resize_cl(ds_runtime *rt, const ds_resize_plan *p, const ds_resize_step *step,
                       int channels, ds_fhog_image in, ds_fhog_image out, ds_error *err);

void ds_resize_plan_free(ds_resize_plan *p);

#endif
