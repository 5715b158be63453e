/* 2-D convolution, NHWC, as GEMM over gathered patches:
 *   forward          Y[(n,oy,ox), co] = act(P . W + b),  P from X (cl/nn/conv.cl)
 *   backward filter  dW = P^T . dZ,  db = column sums of dZ
 *   backward data    dX = Q . Wt,    Q gathered from dZ, Wt = W as [(ky,kx,co), ci]
 * where dZ = dY * act'(Y). Patches are gathered into a caller-provided
 * scratch buffer in chunks of rows, so memory stays bounded for any batch.
 * Weights are [k, k, cin, cout] (Keras HWIO) at w_off in the parameter
 * buffer, the bias [cout] at b_off; gradients use the same offsets. */
#ifndef DS_ENGINE_NN_CONV2D_H
#define DS_ENGINE_NN_CONV2D_H

#include <CL/cl.h>
#include <stddef.h>

#include "engine/nn/act.h"
#include "host/runtime.h"

typedef struct ds_conv2d {
  unsigned n, h, w, cin; /* input */
  unsigned oh, ow, cout; /* output */
  unsigned k, stride;
  unsigned pad_top, pad_left; /* the bottom/right padding follows from the sizes */
  ds_act act;
} ds_conv2d;

/* TF/Keras 'same' padding: out = ceil(in / stride); the total padding
 * max((out - 1) * stride + k - in, 0) is split with the smaller half first
 * (1 before and 2 after for k = 5, stride 2, even in). */
void ds_conv2d_same(ds_conv2d *c, unsigned n, unsigned h, unsigned w, unsigned cin, unsigned cout,
                    unsigned k, unsigned stride, ds_act act);

/* Floats of scratch the passes of c need at least (one row of patches plus
 * the transposed weights). More scratch means fewer, larger GEMMs. */
size_t ds_conv2d_scratch_min(const ds_conv2d *c);

/* Device scratch of a layer pass: buf for gathered patches and transposed
 * weights; pack (may be NULL) for the GEMM's packed operands, which make the
 * GEMM fast on any shape (engine/nn/gemm.h). */
typedef struct ds_scratch {
  cl_mem buf;
  size_t floats;
  cl_mem pack;
  size_t pack_floats;
} ds_scratch;

/* Floats of pack workspace the GEMMs of c's passes need with a patch
 * scratch of scratch_floats (ds_scratch.pack_floats). */
size_t ds_conv2d_pack_floats(const ds_runtime *rt, const ds_conv2d *c, size_t scratch_floats);

ds_status ds_conv2d_forward(ds_runtime *rt, const ds_conv2d *c, cl_mem y, cl_mem x, cl_mem params,
                            size_t w_off, size_t b_off, const ds_scratch *s, ds_error *err);

/* dy holds dL/dY on entry and is overwritten with dZ. dx may be NULL (the
 * first layer needs no input gradient). dW and db are written (not added) at
 * dw_off and db_off of grads. */
ds_status ds_conv2d_backward(ds_runtime *rt, const ds_conv2d *c, cl_mem dx, cl_mem grads,
                             size_t dw_off, size_t db_off, cl_mem dy, cl_mem x, cl_mem y,
                             cl_mem params, size_t w_off, const ds_scratch *s, ds_error *err);

void ds_conv2d_forward_reference(const ds_conv2d *c, float *y, const float *x, const float *w,
                                 const float *b);
/* dy is overwritten with dZ, as on the device; dx may be NULL. */
void ds_conv2d_backward_reference(const ds_conv2d *c, float *dx, float *dw, float *db, float *dy,
                                  const float *x, const float *y, const float *w);

#endif
