/* Elementwise float32 vector operations on device buffers, each beside its
 * plain-C reference (cl/core/vector.cl). */
#ifndef DS_ENGINE_TENSOR_VECTOR_H
#define DS_ENGINE_TENSOR_VECTOR_H

#include <CL/cl.h>
#include <stddef.h>

#include "host/runtime.h"

/* x[i] = value for i < n */
ds_status ds_fill_f32(ds_runtime *rt, cl_mem x, float value, size_t n, ds_error *err);
void ds_fill_f32_reference(float *x, float value, size_t n);

/* y[i] = a * x[i] + y[i] for i < n, fused multiply-add */
ds_status ds_axpy_f32(ds_runtime *rt, cl_mem y, cl_mem x, float a, size_t n, ds_error *err);
void ds_axpy_f32_reference(float *y, const float *x, float a, size_t n);

#endif
