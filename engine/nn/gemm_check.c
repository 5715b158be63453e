/* Builds and checks every GEMM variant the tuner may pick on a device. */
#include "engine/nn/gemm_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/buffer.h"

enum { M = 67, N = 45, K = 301 };

static void fill(float *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = (float)(seed >> 8) / 8388608.0f - 1.0f;
  }
}

/* One product with v: mode 0 row-major A and workspace, mode 1 transposed
 * A, accumulate, bias, LeakyReLU. */
static ds_status check_one(ds_runtime *rt, const ds_gemm_variant *v, int mode, cl_mem da, cl_mem db,
                           cl_mem dc, cl_mem dbias, cl_mem ws, size_t ws_floats, const float *a,
                           const float *b, const float *c0, const float *bias, float *got,
                           float *want, ds_error *err) {
  ds_gemm_args g = {.a = da,
                    .lda_m = mode ? 1 : K,
                    .lda_k = mode ? M : 1,
                    .b = db,
                    .ldb = N,
                    .c = dc,
                    .ldc = N,
                    .bias = mode ? dbias : NULL,
                    .m = M,
                    .n = N,
                    .k = K,
                    .accumulate = mode,
                    .act = mode ? DS_ACT_LRELU : DS_ACT_NONE,
                    .ws = mode ? NULL : ws,
                    .ws_floats = mode ? 0 : ws_floats};
  ds_status st = ds_buffer_write(rt, dc, 0, sizeof(float) * M * N, c0, err);
  if (st == DS_OK) st = ds_gemm_with(rt, v, &g, err);
  if (st == DS_OK) st = ds_buffer_read(rt, dc, 0, sizeof(float) * M * N, got, err);
  if (st != DS_OK) return st;
  memcpy(want, c0, sizeof(float) * M * N);
  ds_gemm_reference(a, b, want, mode ? bias : NULL, &g);
  double most = 0, scale = 1e-30;
  for (int i = 0; i < M * N; i++) {
    const double d = fabs((double)got[i] - want[i]);
    most = d > most || isnan(d) ? (isnan(d) ? INFINITY : d) : most;
    scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
  }
  if (most / scale > 1e-4)
    return ds_error_set(err, DS_ERR_OPENCL,
                        "GEMM variant kind %u (%u %u %u, group %ux%u, flags %u) computes wrong "
                        "results on %s: relative error %.3g on %ux%ux%u; the driver miscompiles it",
                        v->kind, v->mr, v->vw, v->nv, v->local[0], v->local[1], v->flags,
                        rt->device.name, most / scale, (unsigned)M, (unsigned)N, (unsigned)K);
  return DS_OK;
}

ds_status ds_gemm_check_variants(ds_runtime *rt, ds_gemm_check_result *out, ds_error *err) {
  memset(out, 0, sizeof *out);
  /* a check builds and compares; it does not tune (CLBlast's set search) */
  const int tune = rt->tune;
  rt->tune = 0;
  ds_gemm_variant v[DS_GEMM_MAX_VARIANTS];
  const int count = ds_gemm_variants(rt, v, DS_GEMM_MAX_VARIANTS);
  /* room for any variant's copies or split partial sums */
  const size_t ws_floats = (size_t)64 * M * N + (size_t)(M + 16) * (K + 16) + (size_t)(N + 80) * K;
  float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
  float *c0 = malloc(sizeof(float) * M * N), *bias = malloc(sizeof(float) * N);
  float *got = malloc(sizeof(float) * M * N), *want = malloc(sizeof(float) * M * N);
  cl_mem da = NULL, db = NULL, dc = NULL, dbias = NULL, ws = NULL;
  ds_status st = a && b && c0 && bias && got && want
                     ? DS_OK
                     : ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  if (st == DS_OK) {
    fill(a, (size_t)M * K, 1), fill(b, (size_t)K * N, 2), fill(c0, (size_t)M * N, 3);
    fill(bias, N, 4);
    st = ds_buffer_create(rt, sizeof(float) * M * K, CL_MEM_READ_WRITE, "check A", &da, err);
  }
  if (st == DS_OK)
    st = ds_buffer_create(rt, sizeof(float) * K * N, CL_MEM_READ_WRITE, "check B", &db, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, sizeof(float) * M * N, CL_MEM_READ_WRITE, "check C", &dc, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, sizeof(float) * N, CL_MEM_READ_WRITE, "check bias", &dbias, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, sizeof(float) * ws_floats, CL_MEM_READ_WRITE, "check workspace", &ws,
                          err);
  if (st == DS_OK) st = ds_buffer_write(rt, da, 0, sizeof(float) * M * K, a, err);
  if (st == DS_OK) st = ds_buffer_write(rt, db, 0, sizeof(float) * K * N, b, err);
  if (st == DS_OK) st = ds_buffer_write(rt, dbias, 0, sizeof(float) * N, bias, err);
  for (int i = 0; i < count && st == DS_OK; i++) {
    for (int mode = 0; mode < 2 && st == DS_OK; mode++)
      st = check_one(rt, &v[i], mode, da, db, dc, dbias, ws, ws_floats, a, b, c0, bias, got, want,
                     err);
    if (st == DS_ERR_INVALID) { /* refused to run here (gemm_gpu's group size) */
      out->unfit++;
      snprintf(out->unfit_note, sizeof out->unfit_note, "%s", err->msg);
      ds_error_clear(err);
      st = DS_OK;
    } else if (st == DS_OK) {
      out->checked++;
    }
  }
  ds_buffer_release(&da);
  ds_buffer_release(&db);
  ds_buffer_release(&dc);
  ds_buffer_release(&dbias);
  ds_buffer_release(&ws);
  free(a), free(b), free(c0), free(bias), free(got), free(want);
  rt->tune = tune;
  return st;
}
