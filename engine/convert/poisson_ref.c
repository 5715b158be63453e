/* Poisson blending's plain-C reference: the same discrete problem solved by
 * conjugate gradients in double, which the device solve is checked against. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/convert/poisson.h"

/* (A v)(p) = 4 v(p) - sum of the 4 neighbours, over interior pixels, with v
 * zero on the ring: minus the 5-point Laplacian, symmetric positive definite. */
static void apply_neg_laplacian(const double *v, int w, int h, double *av) {
  for (int y = 1; y < h - 1; y++)
    for (int x = 1; x < w - 1; x++) {
      const size_t i = (size_t)y * w + x;
      av[i] = 4.0 * v[i] - v[i - 1] - v[i + 1] - v[i - w] - v[i + w];
    }
}

static double dot_interior(const double *a, const double *b, int w, int h) {
  double s = 0.0;
  for (int y = 1; y < h - 1; y++)
    for (int x = 1; x < w - 1; x++)
      s += a[(size_t)y * w + x] * b[(size_t)y * w + x];
  return s;
}

void ds_poisson_blend_reference(const float *src, const float *dst, const float *mask, int w, int h,
                                float *out) {
  const size_t n = (size_t)w * h;
  double *gx = calloc(n, sizeof *gx), *gy = calloc(n, sizeof *gy), *f = calloc(n, sizeof *f),
         *r = calloc(n, sizeof *r), *d = calloc(n, sizeof *d), *ad = calloc(n, sizeof *ad);
  if (!gx || !gy || !f || !r || !d || !ad) goto done;
  for (int c = 0; c < 3; c++) {
    /* guidance: forward differences of src where the mask is set, else of dst */
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        const size_t i = (size_t)y * w + x;
        const float *img = mask[i] > 0.5f ? src : dst;
        gx[i] = x + 1 < w ? (double)img[(i + 1) * 3 + c] - img[i * 3 + c] : 0.0;
        gy[i] = y + 1 < h ? (double)img[(i + w) * 3 + c] - img[i * 3 + c] : 0.0;
      }
    /* A f = b for the interior of f, with b = -div g plus the ring's values
     * that the Laplacian reaches; the search starts from f = dst */
    memset(f, 0, n * sizeof *f);
    for (int y = 1; y < h - 1; y++)
      for (int x = 1; x < w - 1; x++)
        f[(size_t)y * w + x] = dst[((size_t)y * w + x) * 3 + c];
    apply_neg_laplacian(f, w, h, ad);
    double bnorm = 0.0;
    for (int y = 1; y < h - 1; y++)
      for (int x = 1; x < w - 1; x++) {
        const size_t i = (size_t)y * w + x;
        const double div = gx[i] - gx[i - 1] + gy[i] - gy[i - w];
        double b = -div;
        if (x == 1) b += dst[(i - 1) * 3 + c];
        if (x == w - 2) b += dst[(i + 1) * 3 + c];
        if (y == 1) b += dst[(i - w) * 3 + c];
        if (y == h - 2) b += dst[(i + w) * 3 + c];
        bnorm += b * b;
        r[i] = b - ad[i];
        d[i] = r[i];
      }
    double rr = dot_interior(r, r, w, h);
    const double tol = 1e-24 * (bnorm > 0.0 ? bnorm : 1.0);
    for (int it = 0; it < 20 * (w + h) + 100 && rr > tol; it++) {
      apply_neg_laplacian(d, w, h, ad);
      const double alpha = rr / dot_interior(d, ad, w, h);
      for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
          const size_t i = (size_t)y * w + x;
          f[i] += alpha * d[i];
          r[i] -= alpha * ad[i];
        }
      const double rr_next = dot_interior(r, r, w, h);
      const double beta = rr_next / rr;
      rr = rr_next;
      for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++)
          d[(size_t)y * w + x] = r[(size_t)y * w + x] + beta * d[(size_t)y * w + x];
    }
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        const size_t i = (size_t)y * w + x;
        const int ring = x == 0 || y == 0 || x == w - 1 || y == h - 1;
        out[i * 3 + c] = ring ? dst[i * 3 + c] : (float)f[i];
      }
  }
done:
  free(gx), free(gy), free(f), free(r), free(d), free(ad);
}
