#include "engine/nn/loss.h"

#include <math.h>

#include "host/buffer.h"
#include "host/program.h"

ds_status ds_loss_forward_backward(ds_runtime *rt, ds_loss kind, cl_mem dy, cl_mem y, cl_mem t,
                                   size_t n, cl_mem partials, double *loss, ds_error *err) {
  cl_kernel k;
  cl_uint kd = (cl_uint)kind, n32 = (cl_uint)n;
  cl_float inv = (cl_float)(1.0 / (double)n);
  ds_status st = ds_kernel_get(rt, "nn/loss", NULL, "loss_forward_backward", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof dy, &dy, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof partials, &partials, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 2, sizeof y, &y, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 3, sizeof t, &t, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 4, sizeof kd, &kd, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 5, sizeof n32, &n32, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 6, sizeof inv, &inv, err);
  size_t global = DS_LOSS_PARTIALS, local = 64;
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &global, &local, err);
  if (st != DS_OK || !loss) return st;
  float part[DS_LOSS_PARTIALS];
  st = ds_buffer_read(rt, partials, 0, sizeof part, part, err);
  double sum = 0.0;
  for (int i = 0; i < DS_LOSS_PARTIALS; i++)
    sum += part[i];
  *loss = sum / (double)n;
  return st;
}

double ds_loss_forward_backward_reference(ds_loss kind, float *dy, const float *y, const float *t,
                                          size_t n) {
  double sum = 0.0;
  const float inv = (float)(1.0 / (double)n);
  for (size_t i = 0; i < n; i++) {
    const float d = y[i] - t[i];
    if (kind == DS_LOSS_KIND_MSE) {
      sum += (double)d * d;
      dy[i] = 2.0f * d * inv;
    } else {
      sum += fabs((double)d);
      dy[i] = d > 0.0f ? inv : (d < 0.0f ? -inv : 0.0f);
    }
  }
  return sum / (double)n;
}
