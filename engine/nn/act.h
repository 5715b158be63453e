/* Activations: LeakyReLU(0.1) and sigmoid. Forward passes are fused into the
 * GEMM epilogue (cl/nn/gemm.cl); the backward pass works from the stored
 * output y, since both derivatives are functions of it:
 * lrelu' = (y > 0 ? 1 : 0.1), sigmoid' = y (1 - y). */
#ifndef DS_ENGINE_NN_ACT_H
#define DS_ENGINE_NN_ACT_H

#include <CL/cl.h>
#include <stddef.h>

#include "host/runtime.h"

typedef enum ds_act { DS_ACT_NONE = 0, DS_ACT_LRELU = 1, DS_ACT_SIGMOID = 2 } ds_act;

#define DS_LRELU_SLOPE 0.1f

float ds_act_reference(ds_act act, float x);

/* dz[i] = dy[i] * act'(y[i]) for i < n; dz may be dy. */
ds_status ds_act_backward(ds_runtime *rt, cl_mem dz, cl_mem dy, cl_mem y, ds_act act, size_t n,
                          ds_error *err);
void ds_act_backward_reference(float *dz, const float *dy, const float *y, ds_act act, size_t n);

#endif
