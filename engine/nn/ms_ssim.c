/* The MS-SSIM loss on the device (cl/nn/ssim.cl) and its plain-C
 * reference: a pyramid of 2 x 2 average pools in the maps buffer, the SSIM
 * maps of every scale, per-channel means combined into one value per image
 * channel, then the backward pass from the coarsest scale down. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/loss.h"
#include "engine/nn/ops.h"
#include "engine/nn/ssim.h"
#include "engine/nn/ssim_internal.h"
#include "host/program.h"

enum { WIN = DS_SSIM_WINDOW, MAXS = DS_MS_SSIM_MAX_SCALES };
static const double MS_FLOOR = 1e-6;

/* Where each piece lives in the maps buffer, in floats. Scale 0 is the
 * caller's y, t and dy. */
typedef struct layout {
  int scales;
  float wts[MAXS];
  unsigned h[MAXS], w[MAXS];
  size_t elems[MAXS], pos[MAXS]; /* elements; window positions per image channel */
  size_t img[MAXS];              /* y_j; t_j follows at img[j] + elems[j] */
  size_t dy[MAXS], map[MAXS];
  size_t means, factor, value, total;
} layout;

int ds_ms_ssim_scales(unsigned h, unsigned w, float *wts) {
  /* Wang et al. 2003's five weights; fewer scales take the first ones */
  static const double standard[MAXS] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
  int m = 1;
  while (m < MAXS && (h >> m) >= WIN && (w >> m) >= WIN)
    m++;
  double sum = 0;
  for (int j = 0; j < m; j++)
    sum += standard[j];
  for (int j = 0; j < m; j++)
    wts[j] = (float)(standard[j] / sum);
  return m;
}

static void plan(layout *L, unsigned n, unsigned h, unsigned w, unsigned c) {
  memset(L, 0, sizeof *L);
  L->scales = ds_ms_ssim_scales(h, w, L->wts);
  size_t at = 0;
  for (int j = 0; j < L->scales; j++) {
    L->h[j] = h >> j, L->w[j] = w >> j;
    L->elems[j] = (size_t)n * L->h[j] * L->w[j] * c;
    L->pos[j] = (size_t)(L->h[j] - (WIN - 1)) * (L->w[j] - (WIN - 1));
    if (j > 0) {
      L->img[j] = at, at += 2 * L->elems[j];
      L->dy[j] = at, at += L->elems[j];
    }
    L->map[j] = at, at += ds_ssim_maps_floats(n, L->h[j], L->w[j], c);
  }
  const size_t nc = (size_t)n * c;
  L->means = at, at += L->scales * nc;
  L->factor = at, at += L->scales * nc;
  L->value = at, at += nc;
  L->total = at;
}

size_t ds_ms_ssim_maps_floats(unsigned n, unsigned h, unsigned w, unsigned c) {
  layout L;
  plan(&L, n, h, w, c);
  return L.total;
}

void ds_ms_ssim_loss_affine(float weight, unsigned n, unsigned c, float *scale, float *offset) {
  *scale = (float)(-(double)weight / (2.0 * n * c));
  *offset = 0.5f * weight;
}

static ds_status pool(ds_runtime *rt, const char *kernel, cl_mem out, cl_uint oo, cl_mem in,
                      cl_uint io, unsigned n, unsigned h, unsigned w, unsigned c, size_t items,
                      ds_error *err) {
  cl_kernel k;
  ds_status st = ds_kernel_get(rt, "nn/ssim", NULL, kernel, &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 8, DS_ARG(out), DS_ARG(oo), DS_ARG(in), DS_ARG(io), DS_ARG(n),
                        DS_ARG(h), DS_ARG(w), DS_ARG(c));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, items, err);
  return st;
}

static ds_status means_and_combine(ds_runtime *rt, const layout *L, cl_mem maps, float weight,
                                   unsigned n, unsigned c, ds_error *err) {
  cl_kernel k;
  ds_status st = DS_OK;
  const cl_uint nc = n * c;
  for (int j = 0; j < L->scales && st == DS_OK; j++) {
    cl_uint meo = (cl_uint)(L->means + j * nc), mo = (cl_uint)L->map[j], pos = (cl_uint)L->pos[j];
    st = ds_kernel_get(rt, "nn/ssim", NULL, "ssim_channel_means", &k, err);
    if (st == DS_OK)
      st = ds_kernel_args(k, err, 6, DS_ARG(maps), DS_ARG(meo), DS_ARG(mo), DS_ARG(n), DS_ARG(pos),
                          DS_ARG(c));
    if (st == DS_OK) st = ds_launch_elementwise(rt, k, nc, err);
  }
  cl_uint fo = (cl_uint)L->factor, vo = (cl_uint)L->value, meo = (cl_uint)L->means;
  cl_uint scales = (cl_uint)L->scales;
  cl_float4 wts = {{0}};
  cl_uint4 pos = {{0}};
  for (int j = 0; j < 4 && j < L->scales; j++)
    wts.s[j] = L->wts[j], pos.s[j] = (cl_uint)L->pos[j];
  cl_float wt4 = L->scales > 4 ? L->wts[4] : 0.0f;
  cl_uint pos4 = L->scales > 4 ? (cl_uint)L->pos[4] : 0u;
  float dlv, offset;
  ds_ms_ssim_loss_affine(weight, n, c, &dlv, &offset);
  if (st == DS_OK) st = ds_kernel_get(rt, "nn/ssim", NULL, "ms_ssim_combine", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 12, DS_ARG(maps), DS_ARG(fo), DS_ARG(vo), DS_ARG(meo), DS_ARG(n),
                        DS_ARG(c), DS_ARG(scales), DS_ARG(wts), DS_ARG(wt4), DS_ARG(pos),
                        DS_ARG(pos4), DS_ARG(dlv));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, nc, err);
  return st;
}

ds_status ds_ms_ssim_forward_backward(ds_runtime *rt, float weight, int accumulate, cl_mem dy,
                                      cl_mem y, cl_mem t, unsigned n, unsigned h, unsigned w,
                                      unsigned c, cl_mem maps, cl_mem partials, unsigned off,
                                      ds_error *err) {
  if (h < WIN || w < WIN)
    return ds_error_set(err, DS_ERR_INVALID,
                        "the ms_ssim loss needs images of at least %d x %d pixels, got %u x %u; "
                        "use mae or mse for smaller inputs",
                        WIN, WIN, h, w);
  layout L;
  plan(&L, n, h, w, c);
  const unsigned nc = n * c;
  ds_status st = DS_OK;
  /* the pyramid: scale j from scale j - 1 */
  for (int j = 1; j < L.scales && st == DS_OK; j++) {
    cl_mem src = j == 1 ? y : maps, srct = j == 1 ? t : maps;
    cl_uint yo = j == 1 ? 0 : (cl_uint)L.img[j - 1];
    cl_uint to = j == 1 ? 0 : (cl_uint)(L.img[j - 1] + L.elems[j - 1]);
    st = pool(rt, "avg_pool2_forward", maps, (cl_uint)L.img[j], src, yo, n, L.h[j - 1], L.w[j - 1],
              c, L.elems[j], err);
    if (st == DS_OK)
      st = pool(rt, "avg_pool2_forward", maps, (cl_uint)(L.img[j] + L.elems[j]), srct, to, n,
                L.h[j - 1], L.w[j - 1], c, L.elems[j], err);
  }
  for (int j = 0; j < L.scales && st == DS_OK; j++) {
    cl_mem yj = j ? maps : y, tj = j ? maps : t;
    unsigned yo = j ? (unsigned)L.img[j] : 0, to = j ? (unsigned)(L.img[j] + L.elems[j]) : 0;
    st = ssim_launch_forward(rt, maps, (unsigned)L.map[j], yj, yo, tj, to, n, L.h[j], L.w[j], c,
                             j < L.scales - 1, err);
  }
  if (st == DS_OK) st = means_and_combine(rt, &L, maps, weight, n, c, err);
  if (st == DS_OK) st = ds_loss_partial_sums(rt, partials, off, maps, L.value, nc, err);
  for (int j = L.scales - 1; j >= 0 && st == DS_OK; j--) {
    cl_mem yj = j ? maps : y, tj = j ? maps : t, dyj = j ? maps : dy;
    unsigned yo = j ? (unsigned)L.img[j] : 0, to = j ? (unsigned)(L.img[j] + L.elems[j]) : 0;
    unsigned dyo = j ? (unsigned)L.dy[j] : 0;
    st = ssim_launch_backward(rt, dyj, dyo, maps, (unsigned)L.map[j], yj, yo, tj, to, n, L.h[j],
                              L.w[j], c, 1.0f, maps, (unsigned)(L.factor + (size_t)j * nc), 1,
                              j == 0 ? accumulate : 0, err);
    if (st == DS_OK && j < L.scales - 1)
      st = pool(rt, "avg_pool2_backward", dyj, dyo, maps, (cl_uint)L.dy[j + 1], n, L.h[j], L.w[j],
                c, L.elems[j], err);
  }
  return st;
}

static void pool_reference(double *out, const double *in, unsigned n, unsigned h, unsigned w,
                           unsigned c) {
  const unsigned oh = h / 2, ow = w / 2;
  for (unsigned b = 0; b < n; b++)
    for (unsigned y = 0; y < oh; y++)
      for (unsigned x = 0; x < ow; x++)
        for (unsigned ch = 0; ch < c; ch++) {
          const size_t i = ((size_t)(b * h + 2 * y) * w + 2 * x) * c + ch;
          out[((size_t)(b * oh + y) * ow + x) * c + ch] =
              0.25 * (in[i] + in[i + c] + in[i + (size_t)w * c] + in[i + (size_t)w * c + c]);
        }
}

double ds_ms_ssim_forward_backward_reference(float weight, int accumulate, float *dy,
                                             const float *y, const float *t, unsigned n, unsigned h,
                                             unsigned w, unsigned c) {
  layout L;
  plan(&L, n, h, w, c);
  const size_t nc = (size_t)n * c;
  double *img[MAXS][2], *grad[MAXS], *maps[MAXS], *value = malloc(nc * sizeof *value);
  double *means = malloc(L.scales * nc * sizeof *means);
  double *factor = malloc(nc * sizeof *factor);
  for (int j = 0; j < L.scales; j++) {
    img[j][0] = malloc(L.elems[j] * sizeof(double));
    img[j][1] = malloc(L.elems[j] * sizeof(double));
    grad[j] = calloc(L.elems[j], sizeof(double));
    maps[j] = malloc(4 * L.pos[j] * nc * sizeof(double));
  }
  for (size_t q = 0; q < L.elems[0]; q++)
    img[0][0][q] = y[q], img[0][1][q] = t[q];
  for (int j = 1; j < L.scales; j++)
    for (int k = 0; k < 2; k++)
      pool_reference(img[j][k], img[j - 1][k], n, L.h[j - 1], L.w[j - 1], c);
  double loss = 0.0;
  for (size_t k = 0; k < nc; k++)
    value[k] = 1.0;
  for (int j = 0; j < L.scales; j++) {
    const size_t P = L.pos[j] * nc;
    ssim_maps_reference(maps[j], maps[j] + P, maps[j] + 2 * P, maps[j] + 3 * P, img[j][0],
                        img[j][1], n, L.h[j], L.w[j], c, j < L.scales - 1);
    for (size_t k = 0; k < nc; k++) {
      double s = 0;
      for (size_t p = 0; p < L.pos[j]; p++)
        s += maps[j][(k / c * L.pos[j] + p) * c + k % c];
      means[j * nc + k] = s / (double)L.pos[j];
      value[k] *= pow(fmax(means[j * nc + k], MS_FLOOR), L.wts[j]);
    }
  }
  const double dlv = -(double)weight / (2.0 * (double)nc);
  for (size_t k = 0; k < nc; k++)
    loss += (double)weight * (1.0 - value[k]) / (2.0 * (double)nc);
  for (int j = L.scales - 1; j >= 0; j--) {
    const size_t P = L.pos[j] * nc;
    for (size_t k = 0; k < nc; k++)
      factor[k] = means[j * nc + k] > MS_FLOOR
                      ? dlv * L.wts[j] * value[k] / means[j * nc + k] / (double)L.pos[j]
                      : 0.0;
    ssim_backward_reference(grad[j], maps[j] + P, maps[j] + 2 * P, maps[j] + 3 * P, img[j][0],
                            img[j][1], n, L.h[j], L.w[j], c, factor);
    if (j + 1 < L.scales) /* the pool's transpose: a quarter to each of the four inputs */
      for (size_t q = 0; q < L.elems[j]; q++) {
        const unsigned ch = (unsigned)(q % c), x = (unsigned)(q / c % L.w[j]);
        const unsigned yy = (unsigned)(q / c / L.w[j] % L.h[j]),
                       b = (unsigned)(q / c / L.w[j] / L.h[j]);
        if (yy / 2 < L.h[j + 1] && x / 2 < L.w[j + 1])
          grad[j][q] +=
              0.25 * grad[j + 1][((size_t)(b * L.h[j + 1] + yy / 2) * L.w[j + 1] + x / 2) * c + ch];
      }
  }
  for (size_t q = 0; q < L.elems[0]; q++)
    dy[q] = accumulate ? dy[q] + (float)grad[0][q] : (float)grad[0][q];
  for (int j = 0; j < L.scales; j++)
    free(img[j][0]), free(img[j][1]), free(grad[j]), free(maps[j]);
  free(value), free(factor), free(means);
  return loss;
}
