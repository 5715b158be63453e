/* Fully connected layer: y[n, out] = act(x[n, in] . W[in, out] + b[out]).
 * The input is any NHWC tensor read flat in (h, w, c) order, as Keras'
 * Flatten does. Backward: dZ = dY * act'(y); dW = x^T . dZ; db = column sums
 * of dZ; dx = dZ . W^T with W^T built in the scratch buffer. */
#ifndef DS_ENGINE_NN_DENSE_H
#define DS_ENGINE_NN_DENSE_H

#include <CL/cl.h>
#include <stddef.h>

#include "engine/nn/act.h"
#include "engine/nn/conv2d.h"
#include "host/runtime.h"

typedef struct ds_dense {
  unsigned n, in, out;
  ds_act act;
} ds_dense;

size_t ds_dense_scratch_min(const ds_dense *d);
/* Floats of pack workspace the GEMMs of d's passes need. */
size_t ds_dense_pack_floats(const ds_runtime *rt, const ds_dense *d);

/* s may be NULL (no packed GEMM). */
ds_status ds_dense_forward(ds_runtime *rt, const ds_dense *d, cl_mem y, cl_mem x, cl_mem params,
                           size_t w_off, size_t b_off, const ds_scratch *s, ds_error *err);
/* dy is overwritten with dZ; dx may be NULL. */
ds_status ds_dense_backward(ds_runtime *rt, const ds_dense *d, cl_mem dx, cl_mem grads,
                            size_t dw_off, size_t db_off, cl_mem dy, cl_mem x, cl_mem y,
                            cl_mem params, size_t w_off, const ds_scratch *s, ds_error *err);

void ds_dense_forward_reference(const ds_dense *d, float *y, const float *x, const float *w,
                                const float *b);
void ds_dense_backward_reference(const ds_dense *d, float *dx, float *dw, float *db, float *dy,
                                 const float *x, const float *y, const float *w);

#endif
