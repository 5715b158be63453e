/* The GMSD loss on the device (cl/nn/gmsd.cl) and its plain-C reference. */
#include "engine/nn/gmsd.h"

#include <math.h>
#include <stdlib.h>

#include "engine/nn/loss.h"
#include "engine/nn/ops.h"
#include "host/program.h"

static const double GMS_K = 0.0026, GM_EPS = 1e-12, SD_EPS = 1e-12;

static size_t positions(unsigned n, unsigned h, unsigned w, unsigned c) {
  return (size_t)n * (h - 2) * (w - 2) * c;
}

size_t ds_gmsd_maps_floats(unsigned n, unsigned h, unsigned w, unsigned c) {
  return 3 * positions(n, h, w, c) + 2 * (size_t)n * c;
}

float ds_gmsd_loss_scale(float weight, unsigned n, unsigned c) {
  return (float)((double)weight / ((double)n * c));
}

ds_status ds_gmsd_forward_backward(ds_runtime *rt, float weight, int accumulate, cl_mem dy,
                                   cl_mem y, cl_mem t, unsigned n, unsigned h, unsigned w,
                                   unsigned c, cl_mem maps, cl_mem partials, unsigned off,
                                   ds_error *err) {
  if (h < 3 || w < 3)
    return ds_error_set(err, DS_ERR_INVALID,
                        "the gmsd loss needs images of at least 3 x 3 pixels, got %u x %u", h, w);
  cl_kernel k;
  const size_t P = positions(n, h, w, c);
  cl_uint per = (h - 2) * (w - 2), acc = accumulate ? 1u : 0u;
  cl_float scale = ds_gmsd_loss_scale(weight, n, c);
  ds_status st = ds_kernel_get(rt, "nn/gmsd", NULL, "gmsd_map", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 7, DS_ARG(maps), DS_ARG(y), DS_ARG(t), DS_ARG(n), DS_ARG(h),
                        DS_ARG(w), DS_ARG(c));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, P, err);
  if (st == DS_OK) st = ds_kernel_get(rt, "nn/gmsd", NULL, "gmsd_stats", &k, err);
  if (st == DS_OK) st = ds_kernel_args(k, err, 4, DS_ARG(maps), DS_ARG(n), DS_ARG(per), DS_ARG(c));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, (size_t)n * c, err);
  /* the loss: the sum of the per-channel deviations */
  if (st == DS_OK)
    st = ds_loss_partial_sums(rt, partials, off, maps, 3 * P + (size_t)n * c, (size_t)n * c, err);
  if (st == DS_OK) st = ds_kernel_get(rt, "nn/gmsd", NULL, "gmsd_coef", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 5, DS_ARG(maps), DS_ARG(n), DS_ARG(per), DS_ARG(c), DS_ARG(scale));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, P, err);
  if (st == DS_OK) st = ds_kernel_get(rt, "nn/gmsd", NULL, "gmsd_backward", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 7, DS_ARG(dy), DS_ARG(maps), DS_ARG(n), DS_ARG(h), DS_ARG(w),
                        DS_ARG(c), DS_ARG(acc));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, (size_t)n * h * w * c, err);
  return st;
}

/* Prewitt gradients of one channel at position (py, px): img[(py + i) w + px + j] */
static void prewitt(const float *img, size_t at, unsigned w, unsigned c, double *gx, double *gy) {
  double sx = 0, sy = 0;
  for (unsigned i = 0; i < 3; i++) {
    sx += (double)img[at + (size_t)i * w * c] - img[at + (size_t)i * w * c + 2 * c];
    sy += (double)img[at + (size_t)i * c] - img[at + 2 * (size_t)w * c + (size_t)i * c];
  }
  *gx = sx / 3.0, *gy = sy / 3.0;
}

double ds_gmsd_forward_backward_reference(float weight, int accumulate, float *dy, const float *y,
                                          const float *t, unsigned n, unsigned h, unsigned w,
                                          unsigned c) {
  const unsigned oh = h - 2, ow = w - 2, per = oh * ow;
  const size_t N = (size_t)n * h * w * c;
  const double scale = (double)weight / ((double)n * c);
  double *grad = calloc(N, sizeof *grad), *gms = malloc(per * sizeof *gms);
  double *fx = malloc(per * sizeof *fx), *fy = malloc(per * sizeof *fy), loss = 0.0;
  for (unsigned b = 0; b < n; b++)
    for (unsigned ch = 0; ch < c; ch++) {
      double mu = 0.0, var = 0.0;
      for (unsigned p = 0; p < per; p++) {
        const size_t at = ((size_t)(b * h + p / ow) * w + p % ow) * c + ch;
        double yx, yy, tx, ty;
        prewitt(y, at, w, c, &yx, &yy);
        prewitt(t, at, w, c, &tx, &ty);
        const double my = sqrt(yx * yx + yy * yy + GM_EPS), mt = sqrt(tx * tx + ty * ty + GM_EPS);
        const double den = my * my + mt * mt + GMS_K, s = (2 * my * mt + GMS_K) / den;
        const double dm = (2 * mt - 2 * my * s) / den;
        gms[p] = s, fx[p] = dm * yx / my, fy[p] = dm * yy / my;
        mu += s;
      }
      mu /= per;
      for (unsigned p = 0; p < per; p++)
        var += (gms[p] - mu) * (gms[p] - mu);
      const double sd = sqrt(var / per + SD_EPS);
      loss += scale * sd;
      for (unsigned p = 0; p < per; p++) {
        const double d = scale * (gms[p] - mu) / (per * sd);
        const size_t at = ((size_t)(b * h + p / ow) * w + p % ow) * c + ch;
        for (unsigned i = 0; i < 3; i++) {
          grad[at + (size_t)i * w * c] += d * fx[p] / 3.0;
          grad[at + (size_t)i * w * c + 2 * c] -= d * fx[p] / 3.0;
          grad[at + (size_t)i * c] += d * fy[p] / 3.0;
          grad[at + 2 * (size_t)w * c + (size_t)i * c] -= d * fy[p] / 3.0;
        }
      }
    }
  for (size_t q = 0; q < N; q++)
    dy[q] = accumulate ? dy[q] + (float)grad[q] : (float)grad[q];
  free(grad), free(gms), free(fx), free(fy);
  return loss;
}
