/* Poisson blending: the device solve against the conjugate-gradient C
 * reference on random images and masks, at sizes that take each solver path
 * (real-FFT DST along x or y, chirp-z DST), plus the properties a blend must
 * have: a patch equal to the destination, a constant offset and an empty
 * mask all give the destination back.
 * usage: test_poisson [--small]   (--small: a few tiny regions, for Oclgrind) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/convert/poisson.h"
#include "engine/train/rng.h"
#include "host/buffer.h"

typedef struct image_set {
  int w, h;
  float *src, *dst, *mask, *out, *ref;
} image_set;

static int image_set_alloc(image_set *s, int w, int h) {
  const size_t n = (size_t)w * h;
  s->w = w, s->h = h;
  s->src = malloc(n * 3 * sizeof(float));
  s->dst = malloc(n * 3 * sizeof(float));
  s->mask = malloc(n * sizeof(float));
  s->out = malloc(n * 3 * sizeof(float));
  s->ref = malloc(n * 3 * sizeof(float));
  return s->src && s->dst && s->mask && s->out && s->ref;
}

static void image_set_free(image_set *s) {
  free(s->src), free(s->dst), free(s->mask), free(s->out), free(s->ref);
  memset(s, 0, sizeof *s);
}

/* A smooth colour ramp plus noise, in 0..255. */
static void random_image(ds_rng *rng, int w, int h, float *img) {
  const double ax = ds_rng_range(rng, -1, 1), ay = ds_rng_range(rng, -1, 1);
  const double base = ds_rng_range(rng, 60, 190), noise = ds_rng_range(rng, 5, 60);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        double v = base + 40 * c + ax * x + ay * y + ds_rng_range(rng, -noise, noise);
        img[((size_t)y * w + x) * 3 + c] = (float)fmin(255, fmax(0, v));
      }
}

/* kind 0: an ellipse inside the region, 1: noise in [0, 1] (thresholded at
 * 0.5 by the blend, ring included), 2: all set. */
static void random_mask(ds_rng *rng, int w, int h, int kind, float *mask) {
  const double cx = ds_rng_range(rng, 0.3, 0.7) * w, cy = ds_rng_range(rng, 0.3, 0.7) * h;
  const double rx = ds_rng_range(rng, 0.2, 0.45) * w, ry = ds_rng_range(rng, 0.2, 0.45) * h;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const double dx = (x - cx) / rx, dy = (y - cy) / ry;
      float v = kind == 2 ? 1.0f : (dx * dx + dy * dy <= 1.0 ? 1.0f : 0.0f);
      if (kind == 1) v = (float)ds_rng_uniform(rng);
      mask[(size_t)y * w + x] = v;
    }
}

static double psnr(const float *a, const float *b, size_t n) {
  double se = 0;
  for (size_t i = 0; i < n; i++)
    se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
  return se == 0 ? INFINITY : 10 * log10(255.0 * 255.0 * (double)n / se);
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++)
    m = fmax(m, fabs((double)a[i] - b[i]));
  return m;
}

/* max |lap out - div g| over the interior, g the guidance field as
 * engine/convert/poisson.h defines it: the equation itself, checked on the
 * device's answer without the reference. */
static double equation_residual(const image_set *s) {
  const int w = s->w, h = s->h;
  double worst = 0;
  for (int y = 1; y < h - 1; y++)
    for (int x = 1; x < w - 1; x++)
      for (int c = 0; c < 3; c++) {
        double g[4]; /* gx at x, x-1; gy at y, y-1 */
        const int px[4] = {x, x - 1, x, x}, py[4] = {y, y, y, y - 1};
        for (int k = 0; k < 4; k++) {
          const size_t i = (size_t)py[k] * w + px[k];
          const float *img = s->mask[i] > 0.5f ? s->src : s->dst;
          const size_t next = k < 2 ? i + 1 : i + w;
          g[k] = (double)img[next * 3 + c] - img[i * 3 + c];
        }
        const size_t j = ((size_t)y * w + x) * 3 + c, r = (size_t)w * 3;
        const double lap =
            (double)s->out[j - 3] + s->out[j + 3] + s->out[j - r] + s->out[j + r] - 4.0 * s->out[j];
        worst = fmax(worst, fabs(lap - (g[0] - g[1] + g[2] - g[3])));
      }
  return worst;
}

typedef struct device {
  ds_runtime *rt;
  ds_poisson *p;
  cl_mem src, dst, mask, out;
} device;

/* Uploads s, blends on the device into s->out. */
static ds_status blend(device *d, image_set *s, ds_error *err) {
  const size_t n = (size_t)s->w * s->h;
  ds_buffer_release(&d->src), ds_buffer_release(&d->dst), ds_buffer_release(&d->mask),
      ds_buffer_release(&d->out);
  ds_status st = ds_buffer_create(d->rt, n * 12, CL_MEM_READ_ONLY, "src", &d->src, err);
  if (st == DS_OK) st = ds_buffer_create(d->rt, n * 12, CL_MEM_READ_ONLY, "dst", &d->dst, err);
  if (st == DS_OK) st = ds_buffer_create(d->rt, n * 4, CL_MEM_READ_ONLY, "mask", &d->mask, err);
  if (st == DS_OK) st = ds_buffer_create(d->rt, n * 12, CL_MEM_WRITE_ONLY, "out", &d->out, err);
  if (st == DS_OK) st = ds_buffer_write(d->rt, d->src, 0, n * 12, s->src, err);
  if (st == DS_OK) st = ds_buffer_write(d->rt, d->dst, 0, n * 12, s->dst, err);
  if (st == DS_OK) st = ds_buffer_write(d->rt, d->mask, 0, n * 4, s->mask, err);
  if (st == DS_OK) st = ds_poisson_blend(d->p, d->src, d->dst, d->mask, s->w, s->h, d->out, err);
  if (st == DS_OK) st = ds_buffer_read(d->rt, d->out, 0, n * 12, s->out, err);
  return st;
}

static const char *path_label(int w, int h) {
  switch (ds_poisson_path_for(w, h)) {
  case DS_POISSON_DST_X: return "DST x";
  case DS_POISSON_DST_Y: return "DST y";
  default: return "chirp-z x";
  }
}

static void good_sizes(void) {
  CHECK(ds_poisson_good_size(3) == 3, "3 is good (interior 1, FFT length 4)");
  CHECK(ds_poisson_good_size(160) == 161, "160 -> %d", ds_poisson_good_size(160));
  CHECK(ds_poisson_good_size(255) == 257, "255 -> %d", ds_poisson_good_size(255));
  CHECK(ds_poisson_good_size(401) == 401, "401 -> %d", ds_poisson_good_size(401));
  for (int n = 3; n < 600; n++) {
    const int g = ds_poisson_good_size(n);
    CHECK(g >= n && ds_poisson_good_size(g) == g, "good_size(%d) = %d", n, g);
    CHECK(ds_poisson_path_for(g, 5) == DS_POISSON_DST_X, "%d takes the fast path", g);
    if (g > n) CHECK(ds_poisson_good_size(g - 1) == g, "good_size(%d) is the smallest", n);
  }
}

/* Device against the reference over random images and masks; returns the
 * worst PSNR. */
static double against_reference(device *d, const int (*sizes)[2], int count, ds_rng *rng) {
  double worst = INFINITY;
  ds_error err = {0};
  for (int i = 0; i < count; i++)
    for (int kind = 0; kind < 3; kind++) {
      image_set s;
      const int w = sizes[i][0], h = sizes[i][1];
      if (!image_set_alloc(&s, w, h)) break;
      random_image(rng, w, h, s.src);
      random_image(rng, w, h, s.dst);
      random_mask(rng, w, h, kind, s.mask);
      ds_poisson_blend_reference(s.src, s.dst, s.mask, w, h, s.ref);
      CHECK_OK(blend(d, &s, &err), &err);
      const size_t n = (size_t)w * h * 3;
      const double q = psnr(s.out, s.ref, n), res = equation_residual(&s);
      printf("%4dx%-4d %-9s mask %d: PSNR %6.1f dB, max error %.2g, residual %.2g "
             "(blend vs dst: %.1f dB)\n",
             w, h, path_label(w, h), kind, q, max_abs_diff(s.out, s.ref, n), res,
             psnr(s.ref, s.dst, n));
      CHECK(q >= 40, "%dx%d mask %d: PSNR %.1f dB against the reference", w, h, kind, q);
      CHECK(res < 1e-2, "%dx%d mask %d: lap out - div g up to %g", w, h, kind, res);
      /* the ring is the boundary: exactly dst */
      double ring = 0;
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
            for (int c = 0; c < 3; c++) {
              const size_t j = ((size_t)y * w + x) * 3 + c;
              ring = fmax(ring, fabs(s.out[j] - s.dst[j]));
            }
      CHECK(ring == 0, "%dx%d: the ring moved by %g", w, h, ring);
      worst = fmin(worst, q);
      image_set_free(&s);
    }
  ds_error_clear(&err);
  return worst;
}

/* Blends whose answer is the destination. */
static void properties(device *d, int w, int h, ds_rng *rng) {
  ds_error err = {0};
  image_set s;
  if (!image_set_alloc(&s, w, h)) return;
  const size_t n = (size_t)w * h * 3;
  random_image(rng, w, h, s.dst);

  memcpy(s.src, s.dst, n * sizeof(float));
  random_mask(rng, w, h, 1, s.mask);
  CHECK_OK(blend(d, &s, &err), &err);
  double e = max_abs_diff(s.out, s.dst, n);
  printf("%dx%d: src = dst gives dst to %.2g\n", w, h, e);
  CHECK(e < 1e-3, "%dx%d: src = dst moved the result by %g", w, h, e);

  /* src = dst + 30 wherever a gradient at a masked pixel looks (the mask and
   * one pixel right and down), unrelated noise elsewhere: the offset is
   * absorbed and the result is dst */
  random_mask(rng, w, h, 0, s.mask);
  random_image(rng, w, h, s.src);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const size_t i = (size_t)y * w + x;
      const int near =
          s.mask[i] > 0.5f || (x > 0 && s.mask[i - 1] > 0.5f) || (y > 0 && s.mask[i - w] > 0.5f);
      if (near)
        for (int c = 0; c < 3; c++)
          s.src[i * 3 + c] = s.dst[i * 3 + c] + 30;
    }
  CHECK_OK(blend(d, &s, &err), &err);
  double q = psnr(s.out, s.dst, n);
  printf("%dx%d: a constant +30 patch gives dst at PSNR %.1f dB\n", w, h, q);
  CHECK(q >= 40, "%dx%d: constant offset not absorbed, PSNR %.1f dB", w, h, q);

  memset(s.mask, 0, (size_t)w * h * sizeof(float));
  CHECK_OK(blend(d, &s, &err), &err);
  e = max_abs_diff(s.out, s.dst, n);
  CHECK(e < 1e-3, "%dx%d: an empty mask moved the result by %g", w, h, e);
  image_set_free(&s);
  ds_error_clear(&err);
}

/* Two sizes in turn: the scratch rows are re-zeroed for each layout, and a
 * cached plan gives the same answer again. */
static void alternate(device *d, ds_rng *rng, int w1, int h1, int w2, int h2) {
  ds_error err = {0};
  image_set a, b;
  if (!image_set_alloc(&a, w1, h1) || !image_set_alloc(&b, w2, h2)) return;
  random_image(rng, w1, h1, a.src), random_image(rng, w1, h1, a.dst);
  random_mask(rng, w1, h1, 0, a.mask);
  random_image(rng, w2, h2, b.src), random_image(rng, w2, h2, b.dst);
  random_mask(rng, w2, h2, 1, b.mask);
  const size_t n = (size_t)w1 * h1 * 3;
  CHECK_OK(blend(d, &a, &err), &err);
  memcpy(a.ref, a.out, n * sizeof(float));
  CHECK_OK(blend(d, &b, &err), &err);
  CHECK_OK(blend(d, &a, &err), &err);
  const double e = max_abs_diff(a.out, a.ref, n);
  CHECK(e == 0, "%dx%d after %dx%d differs by %g", w1, h1, w2, h2, e);
  image_set_free(&a), image_set_free(&b);
  ds_error_clear(&err);
}

/* More sizes than ds_poisson caches: the least recently used is dropped and
 * baked again when it comes back, with the same answer. */
static void eviction(device *d, ds_rng *rng) {
  ds_error err = {0};
  image_set a, b;
  if (!image_set_alloc(&a, 9, 3) || !image_set_alloc(&b, 9, 40)) return;
  random_image(rng, 9, 3, a.src), random_image(rng, 9, 3, a.dst);
  random_mask(rng, 9, 3, 2, a.mask);
  CHECK_OK(blend(d, &a, &err), &err);
  memcpy(a.ref, a.out, (size_t)9 * 3 * 3 * sizeof(float));
  random_image(rng, 9, 40, b.src), random_image(rng, 9, 40, b.dst);
  random_mask(rng, 9, 40, 1, b.mask);
  for (int h = 4; h <= 40; h++) { /* 37 sizes, one shared FFT length */
    b.h = h;
    CHECK_OK(blend(d, &b, &err), &err);
  }
  CHECK_OK(blend(d, &a, &err), &err);
  const double e = max_abs_diff(a.out, a.ref, (size_t)9 * 3 * 3);
  CHECK(e == 0, "9x3 baked again differs by %g", e);
  b.h = 40;
  image_set_free(&a), image_set_free(&b);
  ds_error_clear(&err);
}

static void errors(device *d) {
  ds_error err = {0};
  cl_mem tiny = NULL;
  CHECK_OK(ds_buffer_create(d->rt, 16, CL_MEM_READ_WRITE, "tiny", &tiny, &err), &err);
  CHECK(ds_poisson_blend(d->p, tiny, tiny, tiny, 2, 5, tiny, &err) == DS_ERR_INVALID, "w = 2");
  CHECK_CONTAINS(err.msg, "2x5");
  CHECK(ds_poisson_blend(d->p, tiny, tiny, tiny, 8, 8, tiny, &err) == DS_ERR_INVALID, "small");
  CHECK_CONTAINS(err.msg, "src");
  cl_mem big = NULL;
  CHECK_OK(ds_buffer_create(d->rt, 8 * 8 * 12, CL_MEM_READ_WRITE, "big", &big, &err), &err);
  CHECK(ds_poisson_blend(d->p, big, big, big, 8, 8, big, &err) == DS_ERR_INVALID, "aliasing");
  CHECK_CONTAINS(err.msg, "out");
  ds_buffer_release(&tiny), ds_buffer_release(&big);
  ds_error_clear(&err);
}

int main(int argc, char **argv) {
  const int small = argc > 1 && !strcmp(argv[1], "--small");
  good_sizes();
  /* DST x: 5x7, 31x17, 64x64; DST y: 24x17, 12x5; chirp-z: 14x12, 100x77, 160x160 */
  static const int full[][2] = {{5, 7},   {31, 17},  {64, 64},   {24, 17},
                                {14, 12}, {100, 77}, {160, 160}, {3, 3}};
  /* largest first: Oclgrind 21.10 flags false uninitialised values once a
   * buffer was released and another created (tests/oclgrind_test.sh), which
   * is what growing the solver's scratch does */
  static const int tiny[][2] = {{14, 12}, {12, 5}, {5, 7}};

  ds_error err = {0};
  device d = {0};
  CHECK_OK(ds_runtime_open(&d.rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (d.rt) CHECK_OK(ds_poisson_create(d.rt, &d.p, &err), &err);
  if (d.p) {
    ds_rng rng;
    ds_rng_seed(&rng, 7, 1);
    const double worst =
        small ? against_reference(&d, tiny, 3, &rng) : against_reference(&d, full, 8, &rng);
    printf("worst PSNR against the reference: %.1f dB\n", worst);
    properties(&d, 14, 12, &rng);
    if (!small) {
      properties(&d, 64, 64, &rng);
      properties(&d, 100, 77, &rng);
      alternate(&d, &rng, 31, 17, 24, 17);
      eviction(&d, &rng);
    }
    errors(&d);
  }
  ds_buffer_release(&d.src), ds_buffer_release(&d.dst), ds_buffer_release(&d.mask),
      ds_buffer_release(&d.out);
  ds_poisson_destroy(d.p);
  ds_runtime_destroy(d.rt);
  ds_error_clear(&err);
  return check_summary("poisson");
}
