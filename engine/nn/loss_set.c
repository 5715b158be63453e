/* A config's loss terms launched one after the other into one gradient, and
 * reduced to one loss value on the device. */
#include "engine/nn/loss_set.h"

#include "engine/nn/gmsd.h"
#include "engine/nn/loss.h"
#include "engine/nn/ops.h"
#include "engine/nn/ssim.h"
#include "host/program.h"

size_t ds_loss_set_maps_floats(const ds_loss_term *terms, int count, unsigned n, unsigned h,
                               unsigned w, unsigned c) {
  size_t need = 0;
  for (int k = 0; k < count; k++) {
    size_t f = 0;
    if (terms[k].kind == DS_LOSS_KIND_SSIM) f = ds_ssim_maps_floats(n, h, w, c);
    if (terms[k].kind == DS_LOSS_KIND_GMSD) f = ds_gmsd_maps_floats(n, h, w, c);
    if (terms[k].kind == DS_LOSS_KIND_MS_SSIM) f = ds_ms_ssim_maps_floats(n, h, w, c);
    if (f > need) need = f;
  }
  return need;
}

size_t ds_loss_set_partials_floats(int count) { return (size_t)count * DS_LOSS_PARTIALS; }

ds_status ds_loss_set_forward_backward(ds_runtime *rt, const ds_loss_term *terms, int count,
                                       cl_mem dy, cl_mem y, cl_mem t, unsigned n, unsigned h,
                                       unsigned w, unsigned c, cl_mem maps, cl_mem partials,
                                       cl_mem out, unsigned slot, ds_error *err) {
  if (count < 1 || count > DS_MAX_LOSS_TERMS)
    return ds_error_set(err, DS_ERR_INVALID, "a loss needs 1 to %d terms, got %d",
                        DS_MAX_LOSS_TERMS, count);
  float scale[DS_MAX_LOSS_TERMS], offset[DS_MAX_LOSS_TERMS];
  const size_t elems = (size_t)n * h * w * c;
  ds_status st = DS_OK;
  for (int k = 0; k < count && st == DS_OK; k++) {
    const float wt = terms[k].weight;
    const unsigned off = (unsigned)k * DS_LOSS_PARTIALS;
    offset[k] = 0.0f;
    switch (terms[k].kind) {
    case DS_LOSS_KIND_SSIM:
      ds_ssim_loss_affine(wt, n, h, w, c, &scale[k], &offset[k]);
      st = ds_ssim_forward_backward(rt, wt, k > 0, dy, y, t, n, h, w, c, maps, partials, off, err);
      break;
    case DS_LOSS_KIND_MS_SSIM:
      ds_ms_ssim_loss_affine(wt, n, c, &scale[k], &offset[k]);
      st = ds_ms_ssim_forward_backward(rt, wt, k > 0, dy, y, t, n, h, w, c, maps, partials, off,
                                       err);
      break;
    case DS_LOSS_KIND_GMSD:
      scale[k] = ds_gmsd_loss_scale(wt, n, c);
      st = ds_gmsd_forward_backward(rt, wt, k > 0, dy, y, t, n, h, w, c, maps, partials, off, err);
      break;
    default:
      scale[k] = (float)((double)wt / (double)elems);
      st = ds_loss_elementwise(rt, terms[k].kind, wt, k > 0, dy, y, t, elems, partials, off, err);
    }
  }
  if (st == DS_OK) st = ds_loss_reduce(rt, out, slot, partials, count, scale, offset, err);
  return st;
}

double ds_loss_set_reference(const ds_loss_term *terms, int count, float *dy, const float *y,
                             const float *t, unsigned n, unsigned h, unsigned w, unsigned c) {
  double loss = 0.0;
  for (int k = 0; k < count; k++) {
    const float wt = terms[k].weight;
    if (terms[k].kind == DS_LOSS_KIND_SSIM)
      loss += ds_ssim_forward_backward_reference(wt, k > 0, dy, y, t, n, h, w, c);
    else if (terms[k].kind == DS_LOSS_KIND_MS_SSIM)
      loss += ds_ms_ssim_forward_backward_reference(wt, k > 0, dy, y, t, n, h, w, c);
    else if (terms[k].kind == DS_LOSS_KIND_GMSD)
      loss += ds_gmsd_forward_backward_reference(wt, k > 0, dy, y, t, n, h, w, c);
    else
      loss +=
          ds_loss_elementwise_reference(terms[k].kind, wt, k > 0, dy, y, t, (size_t)n * h * w * c);
  }
  return loss;
}

ds_status ds_loss_weights_apply(ds_runtime *rt, cl_mem ym, cl_mem tm, cl_mem y, cl_mem t, cl_mem m,
                                size_t pixels, unsigned c, ds_error *err) {
  cl_kernel k;
  cl_uint total = (cl_uint)(pixels * c);
  ds_status st = ds_kernel_get(rt, "nn/loss", NULL, "mask_apply", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 7, DS_ARG(ym), DS_ARG(tm), DS_ARG(y), DS_ARG(t), DS_ARG(m),
                        DS_ARG(c), DS_ARG(total));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, total, err);
  return st;
}

ds_status ds_loss_weights_gradient(ds_runtime *rt, cl_mem dy, cl_mem m, size_t pixels, unsigned c,
                                   ds_error *err) {
  cl_kernel k;
  cl_uint total = (cl_uint)(pixels * c);
  ds_status st = ds_kernel_get(rt, "nn/loss", NULL, "mask_gradient", &k, err);
  if (st == DS_OK) st = ds_kernel_args(k, err, 4, DS_ARG(dy), DS_ARG(m), DS_ARG(c), DS_ARG(total));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, total, err);
  return st;
}

void ds_loss_weights_apply_reference(float *ym, float *tm, const float *y, const float *t,
                                     const float *m, size_t pixels, unsigned c) {
  for (size_t i = 0; i < pixels * c; i++) {
    ym[i] = m[i / c] * y[i];
    tm[i] = m[i / c] * t[i];
  }
}

void ds_loss_weights_gradient_reference(float *dy, const float *m, size_t pixels, unsigned c) {
  for (size_t i = 0; i < pixels * c; i++)
    dy[i] *= m[i / c];
}
