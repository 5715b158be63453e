#include "engine/nn/adam.h"

#include <math.h>

#include "host/program.h"

double ds_adam_lr(const ds_adam *a, long long step) {
  double s = (double)step;
  return a->lr * sqrt(1.0 - pow(a->beta2, s)) / (1.0 - pow(a->beta1, s));
}

ds_status ds_adam_step(ds_runtime *rt, const ds_adam *a, long long step, cl_mem p, cl_mem g,
                       cl_mem m, cl_mem v, size_t offset, size_t n, ds_error *err) {
  cl_kernel k;
  cl_ulong off = offset;
  cl_uint n32 = (cl_uint)n;
  cl_float lr_t = (cl_float)ds_adam_lr(a, step), b1 = a->beta1, b2 = a->beta2, eps = a->epsilon;
  ds_status st = ds_kernel_get(rt, "nn/adam", NULL, "adam_step", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof p, &p, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof g, &g, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 2, sizeof m, &m, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 3, sizeof v, &v, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 4, sizeof off, &off, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 5, sizeof n32, &n32, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 6, sizeof lr_t, &lr_t, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 7, sizeof b1, &b1, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 8, sizeof b2, &b2, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 9, sizeof eps, &eps, err);
  size_t local = rt->profile->elementwise_local_size;
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &n, &local, err);
  return st;
}

void ds_adam_step_reference(const ds_adam *a, long long step, float *p, const float *g, float *m,
                            float *v, size_t n) {
  const float lr_t = (float)ds_adam_lr(a, step);
  for (size_t i = 0; i < n; i++) {
    m[i] = fmaf(a->beta1, m[i], (1.0f - a->beta1) * g[i]);
    v[i] = fmaf(a->beta2, v[i], (1.0f - a->beta2) * g[i] * g[i]);
    p[i] -= lr_t * m[i] / (sqrtf(v[i]) + a->epsilon);
  }
}
