/* The elementwise loss terms and the device reduction of partial sums
 * (cl/nn/loss.cl), each beside its plain-C reference. */
#include "engine/nn/loss.h"

#include <math.h>

#include "host/buffer.h"
#include "host/program.h"

ds_status ds_loss_elementwise(ds_runtime *rt, ds_loss kind, float weight, int accumulate, cl_mem dy,
                              cl_mem y, cl_mem t, size_t n, cl_mem partials, unsigned off,
                              ds_error *err) {
  cl_kernel k;
  cl_uint kd = (cl_uint)kind, n32 = (cl_uint)n, acc = accumulate ? 1u : 0u, off32 = off;
  /* weight 1 gives (float)(1 / n), the original's factor, bit for bit */
  cl_float inv = (cl_float)((double)weight / (double)n);
  ds_status st = ds_kernel_get(rt, "nn/loss", NULL, "loss_forward_backward", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 9, DS_ARG(dy), DS_ARG(partials), DS_ARG(off32), DS_ARG(y),
                        DS_ARG(t), DS_ARG(kd), DS_ARG(n32), DS_ARG(inv), DS_ARG(acc));
  size_t global = DS_LOSS_PARTIALS, local = 64;
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &global, &local, err);
  return st;
}

ds_status ds_loss_partial_sums(ds_runtime *rt, cl_mem partials, unsigned off, cl_mem x,
                               size_t x_off, size_t n, ds_error *err) {
  cl_kernel k;
  cl_uint off32 = off, xo = (cl_uint)x_off, n32 = (cl_uint)n;
  ds_status st = ds_kernel_get(rt, "nn/loss", NULL, "loss_partial_sums", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 5, DS_ARG(partials), DS_ARG(off32), DS_ARG(x), DS_ARG(xo),
                        DS_ARG(n32));
  size_t global = DS_LOSS_PARTIALS, local = 64;
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &global, &local, err);
  return st;
}

ds_status ds_loss_reduce(ds_runtime *rt, cl_mem out, unsigned slot, cl_mem partials, int count,
                         const float *scale, const float *offset, ds_error *err) {
  cl_kernel k;
  cl_uint s32 = slot, g32 = DS_LOSS_PARTIALS, c32 = (cl_uint)count;
  cl_float4 sc = {{0}}, of = {{0}};
  for (int i = 0; i < count && i < DS_MAX_LOSS_TERMS; i++)
    sc.s[i] = scale[i], of.s[i] = offset[i];
  ds_status st = ds_kernel_get(rt, "nn/loss", NULL, "loss_reduce", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 7, DS_ARG(out), DS_ARG(s32), DS_ARG(partials), DS_ARG(g32),
                        DS_ARG(c32), DS_ARG(sc), DS_ARG(of));
  size_t global = 1;
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &global, NULL, err);
  return st;
}

ds_status ds_loss_forward_backward(ds_runtime *rt, ds_loss kind, cl_mem dy, cl_mem y, cl_mem t,
                                   size_t n, cl_mem partials, double *loss, ds_error *err) {
  ds_status st = ds_loss_elementwise(rt, kind, 1.0f, 0, dy, y, t, n, partials, 0, err);
  if (st != DS_OK || !loss) return st;
  const float scale = (float)(1.0 / (double)n), offset = 0.0f;
  /* the reduction reads every partial before it writes partials[0] */
  st = ds_loss_reduce(rt, partials, 0, partials, 1, &scale, &offset, err);
  float v = 0.0f;
  if (st == DS_OK) st = ds_buffer_read(rt, partials, 0, sizeof v, &v, err);
  *loss = v;
  return st;
}

double ds_loss_elementwise_reference(ds_loss kind, float weight, int accumulate, float *dy,
                                     const float *y, const float *t, size_t n) {
  double sum = 0.0;
  const float inv = (float)((double)weight / (double)n);
  for (size_t i = 0; i < n; i++) {
    const float d = y[i] - t[i];
    float g;
    if (kind == DS_LOSS_KIND_MSE) {
      sum += (double)d * d;
      g = 2.0f * d * inv;
    } else {
      sum += fabs((double)d);
      g = d > 0.0f ? inv : (d < 0.0f ? -inv : 0.0f);
    }
    dy[i] = accumulate ? dy[i] + g : g;
  }
  return (double)weight * sum / (double)n;
}

double ds_loss_forward_backward_reference(ds_loss kind, float *dy, const float *y, const float *t,
                                          size_t n) {
  return ds_loss_elementwise_reference(kind, 1.0f, 0, dy, y, t, n);
}
