/* Convert's moves between frame, model and face region (cl/convert/face.cl),
 * each with its plain-C reference. A region of interest (ROI) is w x h frame
 * pixels from (x0, y0), held as float RGB 0..255; model tensors are float
 * RGB 0..1, s x s, NHWC. */
#ifndef DS_ENGINE_CONVERT_FACE_IO_H
#define DS_ENGINE_CONVERT_FACE_IO_H

#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

#include "host/runtime.h"

/* input (from float offset input_off) = frame warped by mat (frame -> face
 * pixels) to s x s, bilinear, black outside the frame, / 255. */
ds_status ds_face_input(ds_runtime *rt, cl_mem input, size_t input_off, cl_mem frame, int fw,
                        int fh, int s, const float mat[6], ds_error *err);
void ds_face_input_reference(float *input, const uint8_t *frame, int fw, int fh, int s,
                             const float mat[6]);

/* roi = the frame's pixels of the ROI as floats. */
ds_status ds_roi_load(ds_runtime *rt, cl_mem roi, cl_mem frame, int fw, int x0, int y0, int w,
                      int h, ds_error *err);

/* out = the generated face (from float offset face_off, s x s, 0..1) at mat
 * (frame -> face pixels) of each ROI pixel, bilinear, * 255; where a pixel
 * falls outside the face square by over half a pixel, old shows through. */
ds_status ds_face_unwarp(ds_runtime *rt, cl_mem out, cl_mem face, size_t face_off, cl_mem old,
                         int s, const float mat[6], int x0, int y0, int w, int h, ds_error *err);
void ds_face_unwarp_reference(float *out, const float *face, const float *old, int s,
                              const float mat[6], int x0, int y0, int w, int h);

/* The ROI of frame = round(mask * blended + (1 - mask) * old). */
ds_status ds_roi_compose(ds_runtime *rt, cl_mem frame, int fw, cl_mem blended, cl_mem old,
                         cl_mem mask, int x0, int y0, int w, int h, ds_error *err);
void ds_roi_compose_reference(uint8_t *frame, int fw, const float *blended, const float *old,
                              const float *mask, int x0, int y0, int w, int h);

#endif
