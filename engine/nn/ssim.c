/* The DSSIM loss on the device (cl/nn/ssim.cl) and its plain-C reference. */
#include "engine/nn/ssim.h"

#include <math.h>
#include <stdlib.h>

#include "engine/nn/loss.h"
#include "engine/nn/ops.h"
#include "host/program.h"

enum { WIN = DS_SSIM_WINDOW };

size_t ds_ssim_positions(unsigned n, unsigned h, unsigned w, unsigned c) {
  return (size_t)n * (h - (WIN - 1)) * (w - (WIN - 1)) * c;
}

size_t ds_ssim_maps_floats(unsigned n, unsigned h, unsigned w, unsigned c) {
  return 4 * ds_ssim_positions(n, h, w, c);
}

void ds_ssim_loss_affine(float weight, unsigned n, unsigned h, unsigned w, unsigned c, float *scale,
                         float *offset) {
  *scale = (float)(-(double)weight / (2.0 * (double)ds_ssim_positions(n, h, w, c)));
  *offset = 0.5f * weight;
}

ds_status ds_ssim_forward_backward(ds_runtime *rt, float weight, int accumulate, cl_mem dy,
                                   cl_mem y, cl_mem t, unsigned n, unsigned h, unsigned w,
                                   unsigned c, cl_mem maps, cl_mem partials, unsigned off,
                                   ds_error *err) {
  if (h < WIN || w < WIN)
    return ds_error_set(err, DS_ERR_INVALID,
                        "the ssim loss needs images of at least %d x %d pixels, got %u x %u; use "
                        "mae or mse for smaller inputs",
                        WIN, WIN, h, w);
  cl_kernel kf, kb;
  float scale, offset;
  ds_ssim_loss_affine(weight, n, h, w, c, &scale, &offset);
  cl_float dlds = scale;
  cl_uint acc = accumulate ? 1u : 0u;
  const size_t P = ds_ssim_positions(n, h, w, c);
  ds_status st = ds_kernel_get(rt, "nn/ssim", NULL, "ssim_forward", &kf, err);
  if (st == DS_OK)
    st = ds_kernel_args(kf, err, 8, DS_ARG(maps), DS_ARG(y), DS_ARG(t), DS_ARG(n), DS_ARG(h),
                        DS_ARG(w), DS_ARG(c), DS_ARG(dlds));
  if (st == DS_OK) st = ds_launch_elementwise(rt, kf, P, err);
  if (st == DS_OK) st = ds_loss_partial_sums(rt, partials, off, maps, 0, P, err);
  if (st == DS_OK) st = ds_kernel_get(rt, "nn/ssim", NULL, "ssim_backward", &kb, err);
  if (st == DS_OK)
    st = ds_kernel_args(kb, err, 9, DS_ARG(dy), DS_ARG(maps), DS_ARG(y), DS_ARG(t), DS_ARG(n),
                        DS_ARG(h), DS_ARG(w), DS_ARG(c), DS_ARG(acc));
  if (st == DS_OK) st = ds_launch_elementwise(rt, kb, (size_t)n * h * w * c, err);
  return st;
}

static void gauss_window(double *g) {
  double s = 0.0;
  for (int i = 0; i < WIN; i++)
    s += g[i] = exp(-(double)((i - WIN / 2) * (i - WIN / 2)) / (2.0 * 1.5 * 1.5));
  for (int i = 0; i < WIN; i++)
    g[i] /= s;
}

double ds_ssim_forward_backward_reference(float weight, int accumulate, float *dy, const float *y,
                                          const float *t, unsigned n, unsigned h, unsigned w,
                                          unsigned c) {
  const double C1 = 1e-4, C2 = 9e-4;
  const unsigned oh = h - (WIN - 1), ow = w - (WIN - 1);
  const size_t P = ds_ssim_positions(n, h, w, c), N = (size_t)n * h * w * c;
  const double dlds = -(double)weight / (2.0 * (double)P);
  double g[WIN], *grad = calloc(N, sizeof *grad), ssum = 0.0;
  gauss_window(g);
  for (unsigned b = 0; b < n; b++)
    for (unsigned py = 0; py < oh; py++)
      for (unsigned px = 0; px < ow; px++)
        for (unsigned ch = 0; ch < c; ch++) {
          double my = 0, mt = 0, eyy = 0, ett = 0, eyt = 0;
          for (int i = 0; i < WIN; i++)
            for (int j = 0; j < WIN; j++) {
              const size_t q = ((size_t)(b * h + py + i) * w + px + j) * c + ch;
              const double gw = g[i] * g[j], a = y[q], r = t[q];
              my += gw * a, mt += gw * r, eyy += gw * a * a, ett += gw * r * r, eyt += gw * a * r;
            }
          const double a1 = 2 * my * mt + C1, a2 = 2 * (eyt - my * mt) + C2;
          const double b1 = my * my + mt * mt + C1, b2 = (eyy - my * my) + (ett - mt * mt) + C2;
          const double s = a1 * a2 / (b1 * b2), ds = dlds * s;
          ssum += s;
          const double cm = ds * (2 * mt / a1 - 2 * mt / a2 - 2 * my / b1 + 2 * my / b2);
          const double cyy = -ds / b2, cyt = 2 * ds / a2;
          for (int i = 0; i < WIN; i++)
            for (int j = 0; j < WIN; j++) {
              const size_t q = ((size_t)(b * h + py + i) * w + px + j) * c + ch;
              grad[q] += g[i] * g[j] * (cm + 2.0 * y[q] * cyy + t[q] * cyt);
            }
        }
  for (size_t q = 0; q < N; q++)
    dy[q] = accumulate ? dy[q] + (float)grad[q] : (float)grad[q];
  free(grad);
  return (double)weight * (1.0 - ssum / (double)P) / 2.0;
}
