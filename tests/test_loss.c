/* The loss terms (engine/nn/loss_set.h): the device against the plain-C
 * references on random images of small and odd sizes, alone and as
 * weighted sums, with a guard element past dy's end; and, given the
 * repository root, the references and the device against the PyTorch
 * fixture tests/ref/loss.dst (tests/ref/loss_ref.py).
 * usage: test_loss [REPO_ROOT | --small]; --small (for Oclgrind) leaves out
 * the 48 x 44 image that takes MS-SSIM to 3 scales. */
#include <stdlib.h>

#include "check.h"
#include "engine/model/tensor_file.h"
#include "engine/nn/loss.h"
#include "engine/nn/loss_set.h"
#include "host/buffer.h"
#include "nn_util.h"

static ds_runtime *rt;
static ds_error err;
static const float GUARD = 1234.5f;

/* max |a - b| over n, relative to max |b| */
static double scaled_err(const float *a, const float *b, size_t n) {
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (isnan(d)) d = INFINITY;
    if (d > worst) worst = d;
    if (fabs(b[i]) > scale) scale = fabs(b[i]);
  }
  return worst / scale;
}

/* Device buffers for every case, created once (Oclgrind 21.10 reports false
 * uninitialised reads in buffers created after others were released). */
enum { MAX_ELEMS = 64 * 64 * 3 };
static cl_mem dY, dT, dD, maps, part, out;

static void buffers_create(void) {
  ds_buffer_create(rt, MAX_ELEMS * 4, CL_MEM_READ_WRITE, "y", &dY, &err);
  ds_buffer_create(rt, MAX_ELEMS * 4, CL_MEM_READ_WRITE, "t", &dT, &err);
  ds_buffer_create(rt, (MAX_ELEMS + 1) * 4, CL_MEM_READ_WRITE, "dy", &dD, &err);
  ds_buffer_create(rt, 16 * MAX_ELEMS * 4, CL_MEM_READ_WRITE, "maps", &maps, &err);
  ds_buffer_create(rt, ds_loss_set_partials_floats(DS_MAX_LOSS_TERMS) * 4, CL_MEM_READ_WRITE,
                   "partials", &part, &err);
  ds_buffer_create(rt, 3 * 4, CL_MEM_READ_WRITE, "out", &out, &err);
}

static void buffers_destroy(void) {
  ds_buffer_release(&dY), ds_buffer_release(&dT), ds_buffer_release(&dD);
  ds_buffer_release(&maps), ds_buffer_release(&part), ds_buffer_release(&out);
}

/* The device's loss and gradient of terms at y, t; dy starts as garbage, so
 * the first term must overwrite it. Returns the loss, -1 on failure. */
static double device_loss(const ds_loss_term *terms, int count, float *grad, const float *y,
                          const float *t, unsigned n, unsigned h, unsigned w, unsigned c) {
  const size_t N = (size_t)n * h * w * c;
  CHECK(N <= MAX_ELEMS && ds_loss_set_maps_floats(terms, count, n, h, w, c) <= 16 * MAX_ELEMS,
        "test buffers too small");
  float *garbage = malloc((N + 1) * sizeof *garbage), outv[3] = {GUARD, 0, GUARD};
  for (size_t i = 0; i < N; i++)
    garbage[i] = 99.0f;
  garbage[N] = GUARD;
  CHECK_OK(ds_buffer_write(rt, dY, 0, N * 4, y, &err), &err);
  CHECK_OK(ds_buffer_write(rt, dT, 0, N * 4, t, &err), &err);
  CHECK_OK(ds_buffer_write(rt, dD, 0, (N + 1) * 4, garbage, &err), &err);
  CHECK_OK(ds_buffer_write(rt, out, 0, sizeof outv, outv, &err), &err);
  CHECK_OK(ds_loss_set_forward_backward(rt, terms, count, dD, dY, dT, n, h, w, c, maps, part, out,
                                        1, &err),
           &err);
  float *g = download(rt, dD, N + 1), *o = download(rt, out, 3);
  CHECK(g[N] == GUARD, "dy's guard element was overwritten");
  CHECK(o[0] == GUARD && o[2] == GUARD, "the loss went to another slot");
  memcpy(grad, g, N * sizeof *grad);
  double loss = err.code == DS_OK ? o[1] : -1.0;
  free(garbage), free(g), free(o);
  return loss;
}

static float *unit_array(size_t n) { /* in (0.02, 0.98): a sigmoid's range */
  float *p = rand_array(n);
  for (size_t i = 0; i < n; i++)
    p[i] = 0.5f + 0.48f * p[i];
  return p;
}

static void test_random(int small) {
  /* ms_ssim: 1 scale up to 21 px, 2 at 24 x 23, 3 at 48 x 44 */
  const unsigned shapes[][4] = {{1, 11, 11, 1}, {2, 12, 13, 3}, {1, 3, 5, 2},
                                {3, 16, 11, 2}, {2, 24, 23, 1}, {1, 48, 44, 1}};
  const ds_loss_term sets[][4] = {
      {{DS_LOSS_KIND_MAE, 1.0f}},
      {{DS_LOSS_KIND_MSE, 1.0f}},
      {{DS_LOSS_KIND_SSIM, 1.0f}},
      {{DS_LOSS_KIND_GMSD, 1.0f}},
      {{DS_LOSS_KIND_MS_SSIM, 1.0f}},
      {{DS_LOSS_KIND_MAE, 0.5f}, {DS_LOSS_KIND_GMSD, 2.0f}},
      {{DS_LOSS_KIND_MSE, 0.5f}, {DS_LOSS_KIND_MS_SSIM, 3.0f}},
      {{DS_LOSS_KIND_SSIM, 1.0f},
       {DS_LOSS_KIND_MSE, 1.0f},
       {DS_LOSS_KIND_GMSD, 0.5f},
       {DS_LOSS_KIND_MAE, 0.25f}},
  };
  const int counts[] = {1, 1, 1, 1, 1, 2, 2, 4};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    const unsigned n = shapes[s][0], h = shapes[s][1], w = shapes[s][2], c = shapes[s][3];
    const size_t N = (size_t)n * h * w * c;
    if (small && N > 2000) continue;
    float *y = unit_array(N), *t = unit_array(N), *want = calloc(N, 4), *got = calloc(N, 4);
    if (N > 4) t[3] = y[3]; /* a tie: MAE's gradient is 0 there */
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
      int has_ssim = 0;
      for (int j = 0; j < counts[k]; j++)
        has_ssim |= sets[k][j].kind == DS_LOSS_KIND_SSIM || sets[k][j].kind == DS_LOSS_KIND_MS_SSIM;
      if (has_ssim && (h < 11 || w < 11)) continue;
      double lw = ds_loss_set_reference(sets[k], counts[k], want, y, t, n, h, w, c);
      double lg = device_loss(sets[k], counts[k], got, y, t, n, h, w, c);
      double e = scaled_err(got, want, N);
      CHECK(e < 1e-3, "set %zu at %ux%ux%ux%u: gradient off by %.3g of its scale", k, n, h, w, c,
            e);
      CHECK(fabs(lg - lw) <= 1e-4 * fabs(lw) + 4e-6, "set %zu at %ux%ux%ux%u: loss %.9g vs %.9g", k,
            n, h, w, c, lg, lw);
      if (k == 0 && N > 4) CHECK(got[3] == 0.0f, "MAE gradient at a tie");
    }
    free(y), free(t), free(want), free(got);
  }
  /* the single-term call of the original is the set's mae term, bit for bit */
  const size_t N = 2 * 12 * 13 * 3;
  float *y = unit_array(N), *t = unit_array(N), *a = calloc(N, 4), *b = calloc(N, 4);
  double l1 = 0;
  CHECK_OK(ds_buffer_write(rt, dY, 0, N * 4, y, &err), &err);
  CHECK_OK(ds_buffer_write(rt, dT, 0, N * 4, t, &err), &err);
  CHECK_OK(ds_loss_forward_backward(rt, DS_LOSS_KIND_MAE, dD, dY, dT, N, part, &l1, &err), &err);
  float *g1 = download(rt, dD, N);
  const ds_loss_term mae = {DS_LOSS_KIND_MAE, 1.0f};
  double l2 = device_loss(&mae, 1, b, y, t, 2, 12, 13, 3);
  CHECK(memcmp(g1, b, N * 4) == 0 && l1 == l2, "mae alone: the set equals the original's call");
  free(y), free(t), free(a), free(b), free(g1);
}

static const float *fx(ds_tensor_set *f, const char *name, size_t want) {
  const ds_tensor_info *t = ds_tensor_set_find(f, name);
  CHECK(t != NULL && t->count == want, "fixture lacks %s of %zu values", name, want);
  return t && t->count == want ? f->data + t->offset : NULL;
}

static void test_fixture(const char *root) {
  char path[1024], name[64];
  snprintf(path, sizeof path, "%s/tests/ref/loss.dst", root);
  ds_tensor_set f = {0};
  CHECK_OK(ds_tensor_file_read(path, &f, &err), &err);
  if (err.code != DS_OK) return;
  const struct {
    const char *name;
    unsigned n, h, w, c;
  } cases[] = {{"face", 1, 64, 64, 3}, {"odd", 3, 13, 17, 2}, {"two", 2, 24, 23, 1}};
  for (int ci = 0; ci < 3; ci++) {
    const unsigned n = cases[ci].n, h = cases[ci].h, w = cases[ci].w, c = cases[ci].c;
    const size_t N = (size_t)n * h * w * c;
    snprintf(name, sizeof name, "%s.y", cases[ci].name);
    const float *y = fx(&f, name, N);
    snprintf(name, sizeof name, "%s.t", cases[ci].name);
    const float *t = fx(&f, name, N);
    if (!y || !t) continue;
    float *ref = calloc(N, 4), *dev = calloc(N, 4), *sum_want = calloc(N, 4);
    double sum_loss = 0;
    ds_loss_term all[DS_MAX_LOSS_TERMS];
    int terms = 0;
    for (int k = 0; k < DS_LOSS_KINDS; k++) {
      const ds_loss_term term = {(ds_loss)k, 1.0f};
      snprintf(name, sizeof name, "%s.%s.loss", cases[ci].name, ds_loss_name(term.kind));
      const float *lw = fx(&f, name, 1);
      snprintf(name, sizeof name, "%s.%s.grad", cases[ci].name, ds_loss_name(term.kind));
      const float *gw = fx(&f, name, N);
      if (!lw || !gw) continue;
      double lr = ds_loss_set_reference(&term, 1, ref, y, t, n, h, w, c);
      double ld = device_loss(&term, 1, dev, y, t, n, h, w, c);
      double er = scaled_err(ref, gw, N), ed = scaled_err(dev, gw, N);
      if (getenv("DS_VERBOSE"))
        printf("  %s: loss C %.3g device %.3g off, gradient C %.3g device %.3g of scale\n", name,
               fabs(lr - lw[0]) / lw[0], fabs(ld - lw[0]) / lw[0], er, ed);
      CHECK(fabs(lr - lw[0]) <= 1e-6 * lw[0], "%s: C loss %.9g, PyTorch %.9g", name, lr, lw[0]);
      /* ms_ssim's loss is (1 - V) / 2 with V ~ 0.95 a product of float pow()s,
       * which OpenCL lets be 16 ulp off: 2e-6 absolute */
      CHECK(fabs(ld - lw[0]) <= 1e-5 * lw[0] + 2e-6, "%s: device loss %.9g, PyTorch %.9g", name, ld,
            lw[0]);
      CHECK(er < 1e-5, "%s: C gradient off by %.3g of its scale", name, er);
      CHECK(ed < 1e-4, "%s: device gradient off by %.3g of its scale", name, ed);
      /* a weighted sum of every term but mae, weights 0.5 .. 1.25 */
      if (k == DS_LOSS_KIND_MAE) continue;
      all[terms] = (ds_loss_term){(ds_loss)k, 0.25f * (float)(k + 1)};
      sum_loss += all[terms].weight * lw[0];
      for (size_t i = 0; i < N; i++)
        sum_want[i] += all[terms].weight * gw[i];
      terms++;
    }
    double ls = device_loss(all, terms, dev, y, t, n, h, w, c);
    CHECK(fabs(ls - sum_loss) <= 1e-4 * sum_loss + 4e-6, "%s: weighted sum %.9g, PyTorch %.9g",
          cases[ci].name, ls, sum_loss);
    CHECK(scaled_err(dev, sum_want, N) < 1e-3, "%s: weighted sum's gradient off by %.3g",
          cases[ci].name, scaled_err(dev, sum_want, N));
    free(ref), free(dev), free(sum_want);
  }
  ds_tensor_set_free(&f);
}

int main(int argc, char **argv) {
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (!rt) return check_summary("loss");
  buffers_create();
  const int small = argc > 1 && strcmp(argv[1], "--small") == 0;
  test_random(small);
  if (argc > 1 && !small) test_fixture(argv[1]);
  buffers_destroy();
  ds_runtime_destroy(rt);
  return check_summary("loss");
}
