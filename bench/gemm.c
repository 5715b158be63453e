/* bench/gemm: GFLOP/s of ds_gemm (engine/nn/gemm.h) on square and model
 * shapes, as a fraction of the device's measured FMA peak.
 *
 *   build/bench/gemm [--shapes 1024,4096,MxNxK[t],...] [--reps 5] [--device SPEC]
 *                    [--peak GFLOPS] [--quiet-wait 10]
 *
 * For each shape: row-major A (M x K; with a trailing t, A stored
 * transposed, K x M, as a convolution's backward-filter pass reads its
 * patches), B (K x N) and C in U[-1, 1), the
 * workspace ds_gemm asks for (ds_gemm_workspace), one untimed call (kernel
 * builds), then --reps calls each drained with clFinish; best and median.
 * GFLOP/s = 2 M N K / best (packing included: it is part of the call).
 * Every result is checked at 256 random entries against a double-precision
 * dot product on the host: an error above 1e-5 of sum |a b| is reported as
 * a failure, not a number. */
#include "engine/nn/gemm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "bench/peak.h"
#include "host/buffer.h"

enum { MAX_SHAPES = 16, CHECKS = 256 };

static int usage(const char *why) {
  fprintf(stderr,
          "gemm: error: %s\nusage: gemm [--shapes 1024,4096,MxNxK[t],...] [--reps N (5)] "
          "[--device SPEC] [--peak GFLOPS] [--quiet-wait S (10)]\n",
          why);
  return 2;
}

/* "1024" (a cube) or "MxNxK", "t" after it for a transposed A; 0 on a
 * malformed entry. */
static int parse_shapes(const char *list, unsigned (*shapes)[4], int *n) {
  *n = 0;
  const char *p = list;
  while (*p) {
    if (*n == MAX_SHAPES) return 0;
    char *end;
    unsigned long v[3];
    int parts = 0;
    for (; parts < 3; parts++) {
      v[parts] = strtoul(p, &end, 10);
      if (end == p || v[parts] == 0 || v[parts] > 65536) return 0;
      p = end;
      if (*p != 'x') break;
      p++;
    }
    if (parts == 0)
      v[1] = v[2] = v[0];
    else if (parts != 2)
      return 0;
    shapes[*n][0] = (unsigned)v[0];
    shapes[*n][1] = (unsigned)v[1];
    shapes[*n][2] = (unsigned)v[2];
    shapes[*n][3] = *p == 't';
    if (*p == 't') p++;
    (*n)++;
    if (*p == ',')
      p++;
    else if (*p)
      return 0;
  }
  return *n > 0;
}

static uint32_t rng = 2463534242u;
static float uniform(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

/* One shape: 0 when it ran and checked, else 1 (the message printed). */
static int run_shape(ds_runtime *rt, unsigned m, unsigned n, unsigned k, int trans, int reps,
                     double peak) {
  ds_error err = {0};
  const size_t na = (size_t)m * k, nb = (size_t)k * n, nc = (size_t)m * n;
  float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c);
  double *t = malloc((size_t)reps * sizeof *t);
  cl_mem da = NULL, db = NULL, dc = NULL, ws = NULL;
  int rc = 1;
  if (!a || !b || !c || !t) {
    fprintf(stderr, "gemm: %ux%ux%u: out of host memory\n", m, n, k);
    goto done;
  }
  for (size_t i = 0; i < na; i++)
    a[i] = uniform();
  for (size_t i = 0; i < nb; i++)
    b[i] = uniform();
  ds_gemm_args g = {
      .lda_m = trans ? 1 : k, .lda_k = trans ? m : 1, .ldb = n, .ldc = n, .m = m, .n = n, .k = k};
  g.ws_floats = ds_gemm_workspace(rt, m, n, k, g.lda_m, g.lda_k, n);
  ds_status st = ds_buffer_create(rt, na * 4, CL_MEM_READ_ONLY, "A", &da, &err);
  if (st == DS_OK) st = ds_buffer_create(rt, nb * 4, CL_MEM_READ_ONLY, "B", &db, &err);
  if (st == DS_OK) st = ds_buffer_create(rt, nc * 4, CL_MEM_READ_WRITE, "C", &dc, &err);
  if (st == DS_OK && g.ws_floats)
    st = ds_buffer_create(rt, g.ws_floats * 4, CL_MEM_READ_WRITE, "workspace", &ws, &err);
  if (st == DS_OK) st = ds_buffer_write(rt, da, 0, na * 4, a, &err);
  if (st == DS_OK) st = ds_buffer_write(rt, db, 0, nb * 4, b, &err);
  g.a = da;
  g.b = db;
  g.c = dc;
  g.ws = ws;
  for (int r = -1; r < reps && st == DS_OK; r++) { /* r = -1: kernel builds */
    const double t0 = bench_now();
    st = ds_gemm(rt, &g, &err);
    if (st == DS_OK) st = ds_runtime_finish(rt, &err);
    if (r >= 0) t[r] = bench_now() - t0;
  }
  if (st == DS_OK) st = ds_buffer_read(rt, dc, 0, nc * 4, c, &err);
  if (st != DS_OK) {
    fprintf(stderr, "gemm: %ux%ux%u: %s\n", m, n, k, err.msg);
    goto done;
  }
  double worst = 0;
  for (int i = 0; i < CHECKS; i++) {
    (void)uniform(); /* steps rng */
    const size_t r = rng % m;
    (void)uniform();
    const size_t col = rng % n;
    double ref = 0, mag = 0;
    for (unsigned j = 0; j < k; j++) {
      const double p = (double)a[r * g.lda_m + (size_t)j * g.lda_k] * b[(size_t)j * n + col];
      ref += p;
      mag += fabs(p);
    }
    const double e = fabs(c[r * n + col] - ref) / (mag > 0 ? mag : 1);
    if (e > worst) worst = e;
  }
  const bench_stats s = bench_stats_of(t, reps);
  const double gflop = 2.0 * m * n * k * 1e-9;
  printf("%5u %5u %5u%s %9.2f %9.2f %9.1f %7.1f %%  %.1e%s\n", m, n, k, trans ? "t" : " ",
         s.best * 1e3, s.median * 1e3, gflop / s.best,
         peak > 0 ? 100.0 * gflop / s.best / peak : 0.0, worst, worst > 1e-5 ? "  WRONG" : "");
  rc = worst > 1e-5;
done:
  ds_error_clear(&err);
  ds_buffer_release(&da);
  ds_buffer_release(&db);
  ds_buffer_release(&dc);
  ds_buffer_release(&ws);
  free(a);
  free(b);
  free(c);
  free(t);
  return rc;
}

int main(int argc, char **argv) {
  const char *spec = getenv("DSENGINE_DEVICE"), *origin = "DSENGINE_DEVICE";
  const char *shape_list = "1024,4096";
  int reps = 5;
  double peak = 0, quiet_wait = 10;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--device") && v)
      spec = v, origin = "--device", i++;
    else if (!strcmp(argv[i], "--shapes") && v)
      shape_list = v, i++;
    else if (!strcmp(argv[i], "--reps") && v)
      reps = atoi(v), i++;
    else if (!strcmp(argv[i], "--peak") && v)
      peak = atof(v), i++;
    else if (!strcmp(argv[i], "--quiet-wait") && v)
      quiet_wait = atof(v), i++;
    else
      return usage("unknown option or missing value");
  }
  unsigned shapes[MAX_SHAPES][4];
  int nshapes;
  if (reps < 1) return usage("--reps must be positive");
  if (!parse_shapes(shape_list, shapes, &nshapes))
    return usage("--shapes takes up to 16 of N or MxNxK[t] (1..65536), comma-separated");
  ds_error err = {0};
  ds_runtime *rt = NULL;
  if (ds_runtime_open(&rt, spec, origin, 0, &err) != DS_OK) {
    fprintf(stderr, "gemm: error: %s\n", err.msg);
    ds_error_clear(&err);
    return 2;
  }
  printf("device: %s (%s), %u compute units\n", rt->device.name, rt->device.platform_name,
         rt->device.compute_units);
  const bench_quiet q = bench_quiet_wait(quiet_wait, 0.2);
  bench_quiet_print(stdout, "machine", &q);
  int rc = 0;
  if (peak <= 0) {
    bench_peak p;
    if (bench_peak_measure(rt, 5, 0.05, &p, &err) != DS_OK) {
      fprintf(stderr, "gemm: error: peak: %s\n", err.msg);
      ds_error_clear(&err);
      ds_runtime_destroy(rt);
      return 1;
    }
    peak = p.gflops;
  }
  printf("FMA peak %.1f GFLOP/s; best and median of %d calls, packing included\n", peak, reps);
  printf("%5s %5s %5s  %9s %9s %9s %9s  %s\n", "M", "N", "K", "best ms", "median", "GFLOP/s",
         "of peak", "max err");
  for (int i = 0; i < nshapes; i++)
    rc |= run_shape(rt, shapes[i][0], shapes[i][1], shapes[i][2], (int)shapes[i][3], reps, peak);
  ds_runtime_destroy(rt);
  return rc;
}
