#include "engine/bench/gemm_bench.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/gemm.h"
#include "host/buffer.h"

int ds_bench_gemm_parse(const char *list, unsigned (*shapes)[4], int cap) {
  int n = 0;
  const char *p = list;
  while (*p) {
    if (n == cap) return 0;
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
    shapes[n][0] = (unsigned)v[0];
    shapes[n][1] = (unsigned)v[1];
    shapes[n][2] = (unsigned)v[2];
    shapes[n][3] = *p == 't';
    if (*p == 't') p++;
    n++;
    if (*p == ',')
      p++;
    else if (*p)
      return 0;
  }
  return n;
}

static float uniform(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return (float)(*s >> 8) / 8388608.0f - 1.0f;
}

/* The largest error over the checked entries, relative to sum |a b|. */
static double check(const float *a, const float *b, const float *c, const ds_gemm_args *g,
                    uint32_t *rng) {
  double worst = 0;
  for (int i = 0; i < DS_BENCH_GEMM_CHECKS; i++) {
    (void)uniform(rng);
    const size_t r = *rng % g->m;
    (void)uniform(rng);
    const size_t col = *rng % g->n;
    double ref = 0, mag = 0;
    for (unsigned j = 0; j < g->k; j++) {
      const double p = (double)a[r * g->lda_m + (size_t)j * g->lda_k] * b[(size_t)j * g->n + col];
      ref += p;
      mag += fabs(p);
    }
    const double e = fabs(c[r * g->n + col] - ref) / (mag > 0 ? mag : 1);
    if (e > worst) worst = e;
  }
  return worst;
}

ds_status ds_bench_gemm_run(ds_runtime *rt, unsigned m, unsigned n, unsigned k, int trans_a,
                            int reps, ds_bench_gemm *out, ds_error *err) {
  memset(out, 0, sizeof *out);
  out->m = m, out->n = n, out->k = k, out->trans_a = trans_a;
  out->gflop = 2.0 * m * n * k * 1e-9;
  const size_t na = (size_t)m * k, nb = (size_t)k * n, nc = (size_t)m * n;
  float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c);
  double *t = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *t);
  cl_mem da = NULL, db = NULL, dc = NULL, ws = NULL;
  ds_status st = DS_OK;
  if (!a || !b || !c || !t)
    st = ds_error_set(err, DS_ERR_NO_MEMORY, "GEMM %ux%ux%u: out of host memory", m, n, k);
  uint32_t rng = 2463534242u;
  for (size_t i = 0; st == DS_OK && i < na; i++)
    a[i] = uniform(&rng);
  for (size_t i = 0; st == DS_OK && i < nb; i++)
    b[i] = uniform(&rng);
  ds_gemm_args g = {.lda_m = trans_a ? 1 : k,
                    .lda_k = trans_a ? m : 1,
                    .ldb = n,
                    .ldc = n,
                    .m = m,
                    .n = n,
                    .k = k};
  g.ws_floats = ds_gemm_workspace(rt, m, n, k, g.lda_m, g.lda_k, n);
  if (st == DS_OK) st = ds_buffer_create(rt, na * 4, CL_MEM_READ_ONLY, "GEMM A", &da, err);
  if (st == DS_OK) st = ds_buffer_create(rt, nb * 4, CL_MEM_READ_ONLY, "GEMM B", &db, err);
  if (st == DS_OK) st = ds_buffer_create(rt, nc * 4, CL_MEM_READ_WRITE, "GEMM C", &dc, err);
  if (st == DS_OK && g.ws_floats)
    st = ds_buffer_create(rt, g.ws_floats * 4, CL_MEM_READ_WRITE, "GEMM workspace", &ws, err);
  if (st == DS_OK) st = ds_buffer_write(rt, da, 0, na * 4, a, err);
  if (st == DS_OK) st = ds_buffer_write(rt, db, 0, nb * 4, b, err);
  g.a = da, g.b = db, g.c = dc, g.ws = ws;
  for (int r = -1; r < reps && st == DS_OK; r++) { /* r = -1: kernel builds, tuning */
    const double t0 = ds_bench_now();
    st = ds_gemm(rt, &g, err);
    if (st == DS_OK) st = ds_runtime_finish(rt, err);
    if (r >= 0) t[r] = ds_bench_now() - t0;
  }
  if (st == DS_OK) st = ds_buffer_read(rt, dc, 0, nc * 4, c, err);
  if (st == DS_OK) {
    out->times = ds_bench_stats_of(t, reps);
    out->max_err = check(a, b, c, &g, &rng);
    if (!(out->max_err <= DS_BENCH_GEMM_TOLERANCE))
      st = ds_error_set(err, DS_ERR_INVALID,
                        "GEMM %ux%ux%u%s is wrong on %s: error %.1e of sum |a b| (tolerance %.0e)",
                        m, n, k, trans_a ? " (A transposed)" : "", rt->device.name, out->max_err,
                        DS_BENCH_GEMM_TOLERANCE);
  }
  ds_buffer_release(&da);
  ds_buffer_release(&db);
  ds_buffer_release(&dc);
  ds_buffer_release(&ws);
  free(a);
  free(b);
  free(c);
  free(t);
  return st;
}
