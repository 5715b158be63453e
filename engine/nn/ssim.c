/* The DSSIM loss on the device (cl/nn/ssim.cl) and its plain-C reference,
 * with the launches and reference passes MS-SSIM (ms_ssim.c) shares. */
#include "engine/nn/ssim.h"

#include <math.h>
#include <stdlib.h>

#include "engine/nn/loss.h"
#include "engine/nn/ops.h"
#include "engine/nn/ssim_internal.h"
#include "host/program.h"

enum { WIN = DS_SSIM_WINDOW };

size_t ds_ssim_positions(unsigned n, unsigned h, unsigned w, unsigned c) {
  return (size_t)n * (h - (WIN - 1)) * (w - (WIN - 1)) * c;
}

size_t ds_ssim_maps_floats(unsigned n, unsigned h, unsigned w, unsigned c) {
  /* four position maps, then five row maps of [n, h, w - 10, c] (cl/nn/ssim.cl) */
  return 4 * ds_ssim_positions(n, h, w, c) + 5 * (size_t)n * h * (w - (WIN - 1)) * c;
}

void ds_ssim_loss_affine(float weight, unsigned n, unsigned h, unsigned w, unsigned c, float *scale,
                         float *offset) {
  *scale = (float)(-(double)weight / (2.0 * (double)ds_ssim_positions(n, h, w, c)));
  *offset = 0.5f * weight;
}

ds_status ssim_launch_forward(ds_runtime *rt, cl_mem maps, unsigned mo, cl_mem y, unsigned yo,
                              cl_mem t, unsigned to, unsigned n, unsigned h, unsigned w, unsigned c,
                              int cs_only, ds_error *err) {
  cl_kernel k;
  cl_uint cs = cs_only ? 1u : 0u;
  ds_status st = ds_kernel_get(rt, "nn/ssim", NULL, "ssim_rows", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 10, DS_ARG(maps), DS_ARG(mo), DS_ARG(y), DS_ARG(yo), DS_ARG(t),
                        DS_ARG(to), DS_ARG(n), DS_ARG(h), DS_ARG(w), DS_ARG(c));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, (size_t)n * h * (w - (WIN - 1)) * c, err);
  if (st == DS_OK) st = ds_kernel_get(rt, "nn/ssim", NULL, "ssim_forward", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 7, DS_ARG(maps), DS_ARG(mo), DS_ARG(n), DS_ARG(h), DS_ARG(w),
                        DS_ARG(c), DS_ARG(cs));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, ds_ssim_positions(n, h, w, c), err);
  return st;
}

ds_status ssim_launch_backward(ds_runtime *rt, cl_mem dy, unsigned dyo, cl_mem maps, unsigned mo,
                               cl_mem y, unsigned yo, cl_mem t, unsigned to, unsigned n, unsigned h,
                               unsigned w, unsigned c, float scale, cl_mem factor, unsigned fo,
                               int use_factor, int accumulate, ds_error *err) {
  cl_kernel k;
  cl_uint uf = use_factor ? 1u : 0u, acc = accumulate ? 1u : 0u;
  ds_status st = ds_kernel_get(rt, "nn/ssim", NULL, "ssim_back_rows", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 6, DS_ARG(maps), DS_ARG(mo), DS_ARG(n), DS_ARG(h), DS_ARG(w),
                        DS_ARG(c));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, (size_t)n * h * (w - (WIN - 1)) * c, err);
  if (st == DS_OK) st = ds_kernel_get(rt, "nn/ssim", NULL, "ssim_backward", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 17, DS_ARG(dy), DS_ARG(dyo), DS_ARG(maps), DS_ARG(mo), DS_ARG(y),
                        DS_ARG(yo), DS_ARG(t), DS_ARG(to), DS_ARG(n), DS_ARG(h), DS_ARG(w),
                        DS_ARG(c), DS_ARG(scale), DS_ARG(factor), DS_ARG(fo), DS_ARG(uf),
                        DS_ARG(acc));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, (size_t)n * h * w * c, err);
  return st;
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
  float scale, offset;
  ds_ssim_loss_affine(weight, n, h, w, c, &scale, &offset);
  const size_t P = ds_ssim_positions(n, h, w, c);
  ds_status st = ssim_launch_forward(rt, maps, 0, y, 0, t, 0, n, h, w, c, 0, err);
  if (st == DS_OK) st = ds_loss_partial_sums(rt, partials, off, maps, 0, P, err);
  if (st == DS_OK)
    st = ssim_launch_backward(rt, dy, 0, maps, 0, y, 0, t, 0, n, h, w, c, scale, maps, 0, 0,
                              accumulate, err);
  return st;
}

static void gauss_window(double *g) {
  double s = 0.0;
  for (int i = 0; i < WIN; i++)
    s += g[i] = exp(-(double)((i - WIN / 2) * (i - WIN / 2)) / (2.0 * 1.5 * 1.5));
  for (int i = 0; i < WIN; i++)
    g[i] /= s;
}

void ssim_maps_reference(double *v, double *dm, double *dyy, double *dyt, const double *y,
                         const double *t, unsigned n, unsigned h, unsigned w, unsigned c,
                         int cs_only) {
  const double C1 = 1e-4, C2 = 9e-4;
  const unsigned oh = h - (WIN - 1), ow = w - (WIN - 1);
  double g[WIN];
  gauss_window(g);
  size_t p = 0;
  for (unsigned b = 0; b < n; b++)
    for (unsigned py = 0; py < oh; py++)
      for (unsigned px = 0; px < ow; px++)
        for (unsigned ch = 0; ch < c; ch++, p++) {
          double my = 0, mt = 0, eyy = 0, ett = 0, eyt = 0;
          for (int i = 0; i < WIN; i++)
            for (int j = 0; j < WIN; j++) {
              const size_t q = ((size_t)(b * h + py + i) * w + px + j) * c + ch;
              const double gw = g[i] * g[j], a = y[q], r = t[q];
              my += gw * a, mt += gw * r, eyy += gw * a * a, ett += gw * r * r, eyt += gw * a * r;
            }
          const double a1 = 2 * my * mt + C1, a2 = 2 * (eyt - my * mt) + C2;
          const double b1 = my * my + mt * mt + C1, b2 = (eyy - my * my) + (ett - mt * mt) + C2;
          const double s = cs_only ? a2 / b2 : a1 * a2 / (b1 * b2);
          /* no division by a1 or a2: a2 = 2 cov + C2 reaches 0 where y and t
           * anticorrelate, and s times 1 / a2 is then 0 x inf */
          v[p] = s;
          dm[p] = cs_only ? 2 * (my * s - mt) / b2
                          : 2 * mt * (a2 - a1) / (b1 * b2) - 2 * my * s * (1 / b1 - 1 / b2);
          dyy[p] = -s / b2;
          dyt[p] = cs_only ? 2 / b2 : 2 * a1 / (b1 * b2);
        }
}

void ssim_backward_reference(double *grad, const double *dm, const double *dyy, const double *dyt,
                             const double *y, const double *t, unsigned n, unsigned h, unsigned w,
                             unsigned c, const double *dldv) {
  const unsigned oh = h - (WIN - 1), ow = w - (WIN - 1);
  double g[WIN];
  gauss_window(g);
  size_t p = 0;
  for (unsigned b = 0; b < n; b++)
    for (unsigned py = 0; py < oh; py++)
      for (unsigned px = 0; px < ow; px++)
        for (unsigned ch = 0; ch < c; ch++, p++) {
          const double k = dldv[b * c + ch];
          for (int i = 0; i < WIN; i++)
            for (int j = 0; j < WIN; j++) {
              const size_t q = ((size_t)(b * h + py + i) * w + px + j) * c + ch;
              grad[q] += k * g[i] * g[j] * (dm[p] + 2.0 * y[q] * dyy[p] + t[q] * dyt[p]);
            }
        }
}

double ds_ssim_forward_backward_reference(float weight, int accumulate, float *dy, const float *y,
                                          const float *t, unsigned n, unsigned h, unsigned w,
                                          unsigned c) {
  const size_t P = ds_ssim_positions(n, h, w, c), N = (size_t)n * h * w * c;
  double *yd = malloc(N * sizeof *yd), *td = malloc(N * sizeof *td),
         *grad = calloc(N, sizeof *grad);
  double *maps = malloc(4 * P * sizeof *maps), *dldv = malloc((size_t)n * c * sizeof *dldv);
  for (size_t q = 0; q < N; q++)
    yd[q] = y[q], td[q] = t[q];
  ssim_maps_reference(maps, maps + P, maps + 2 * P, maps + 3 * P, yd, td, n, h, w, c, 0);
  double ssum = 0.0;
  for (size_t p = 0; p < P; p++)
    ssum += maps[p];
  for (size_t k = 0; k < (size_t)n * c; k++)
    dldv[k] = -(double)weight / (2.0 * (double)P);
  ssim_backward_reference(grad, maps + P, maps + 2 * P, maps + 3 * P, yd, td, n, h, w, c, dldv);
  for (size_t q = 0; q < N; q++)
    dy[q] = accumulate ? dy[q] + (float)grad[q] : (float)grad[q];
  free(yd), free(td), free(grad), free(maps), free(dldv);
  return (double)weight * (1.0 - ssum / (double)P) / 2.0;
}
