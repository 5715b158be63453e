#include "engine/tensor/vector.h"

#include <math.h>
#include <stdint.h>

#include "host/program.h"

static ds_status check_count(size_t n, const char *op, ds_error *err) {
  if (n > UINT32_MAX)
    return ds_error_set(err, DS_ERR_INVALID, "%s: %zu elements exceed the 2^32 kernel limit", op,
                        n);
  return DS_OK;
}

ds_status ds_fill_f32(ds_runtime *rt, cl_mem x, float value, size_t n, ds_error *err) {
  cl_kernel k;
  cl_uint n32 = (cl_uint)n;
  ds_status st = check_count(n, "fill_f32", err);
  if (st == DS_OK) st = ds_kernel_get(rt, "core/vector", NULL, "fill_f32", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof x, &x, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof value, &value, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 2, sizeof n32, &n32, err);
  size_t local = rt->profile->elementwise_local_size;
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &n, &local, err);
  return st;
}

void ds_fill_f32_reference(float *x, float value, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] = value;
}

ds_status ds_axpy_f32(ds_runtime *rt, cl_mem y, cl_mem x, float a, size_t n, ds_error *err) {
  cl_kernel k;
  cl_uint n32 = (cl_uint)n;
  ds_status st = check_count(n, "axpy_f32", err);
  if (st == DS_OK) st = ds_kernel_get(rt, "core/vector", NULL, "axpy_f32", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof y, &y, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof x, &x, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 2, sizeof a, &a, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 3, sizeof n32, &n32, err);
  size_t local = rt->profile->elementwise_local_size;
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &n, &local, err);
  return st;
}

void ds_axpy_f32_reference(float *y, const float *x, float a, size_t n) {
  for (size_t i = 0; i < n; i++)
    y[i] = fmaf(a, x[i], y[i]);
}
