#include "engine/nn/gemm_tune.h"

#include <stdio.h>
#include <string.h>

#include "engine/nn/gemm_clblast.h"
#include "engine/nn/gemm_gpu.h"
#include "engine/util/report.h"
#include "host/buffer.h"
#include "host/cl_status.h"
#include "host/tune_cache.h"

/* The programs whose variants a GEMM entry chose between: a changed kernel
 * may rank differently, so their sources are part of the key. */
static const char *const gemm_programs[] = {"nn/gemm", "nn/gemm_gpu"};

void ds_gemm_tune_key(const ds_runtime *rt, const ds_gemm_args *g, char *key, size_t cap) {
  const uint32_t tag =
      ds_tune_source_tag(rt, gemm_programs, (int)(sizeof gemm_programs / sizeof *gemm_programs));
  snprintf(key, cap, "gemm %08x %u %u %u %u %u %u %d %d", (unsigned)tag, g->m, g->n, g->k, g->lda_m,
           g->lda_k, g->ldb, g->accumulate ? 1 : 0, g->ws && g->ws_floats ? 1 : 0);
}

int ds_gemm_variant_applies(const ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g) {
  if (v->kind == DS_GEMM_CLBLAST) return ds_gemm_clblast_applies(g);
  /* a split variant that would not split is its unsplit twin */
  if (v->kind == DS_GEMM_GPU_TILE && (v->flags & DS_GEMM_SPLIT_K))
    return ds_gemm_gpu_splits(rt, v, g->m, g->n, g->k, g->ws ? g->ws_floats : 0) > 1;
  return 1;
}

/* "kind mr vw nv local0 local1 k_block flags GFLOP/s", k_block 0 for
 * DS_GEMM_K_ANY; the rate is for people reading the file. */
static void format_variant(const ds_gemm_variant *v, double gflops, char *buf, size_t cap) {
  snprintf(buf, cap, "%u %u %u %u %u %u %u %u %.1f", v->kind, v->mr, v->vw, v->nv, v->local[0],
           v->local[1], v->k_block == DS_GEMM_K_ANY ? 0u : v->k_block, v->flags, gflops);
}

/* A stored variant counts only when it is still one of the candidates. */
static int parse_variant(const ds_runtime *rt, const char *value, ds_gemm_variant *out) {
  ds_gemm_variant v;
  if (sscanf(value, "%u %u %u %u %u %u %u %u", &v.kind, &v.mr, &v.vw, &v.nv, &v.local[0],
             &v.local[1], &v.k_block, &v.flags) != 8)
    return 0;
  if (!v.k_block) v.k_block = DS_GEMM_K_ANY;
  ds_gemm_variant cand[DS_GEMM_MAX_VARIANTS];
  const int n = ds_gemm_variants(rt, cand, DS_GEMM_MAX_VARIANTS);
  for (int i = 0; i < n; i++)
    if (!memcmp(&cand[i], &v, sizeof v)) {
      *out = v;
      return 1;
    }
  return 0;
}

/* Seconds for one call of v drained with clFinish; a variant the device
 * refuses (a work-group too large, out of resources) is skipped: < 0. */
static double time_call(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g) {
  ds_error e = {0};
  const double t0 = ds_now_s();
  ds_status st = ds_gemm_with(rt, v, g, &e);
  if (st == DS_OK) st = ds_runtime_finish(rt, &e);
  const double t = ds_now_s() - t0;
  ds_error_clear(&e);
  return st == DS_OK ? t : -1;
}

static ds_status measure(ds_runtime *rt, const ds_gemm_args *g, const char *key,
                         ds_gemm_variant *winner, ds_error *err) {
  ds_gemm_variant cand[DS_GEMM_MAX_VARIANTS];
  const int n = ds_gemm_variants(rt, cand, DS_GEMM_MAX_VARIANTS);
  const size_t c_floats = (size_t)(g->m - 1) * g->ldc + g->n;
  cl_mem c = NULL;
  ds_status st = ds_runtime_finish(rt, err);
  if (st != DS_OK) return st;
  /* no room for a scratch C: the default runs, untuned, and is asked again
   * next time */
  ds_error no_room = {0};
  if (ds_buffer_create(rt, c_floats * sizeof(float), CL_MEM_READ_WRITE, "GEMM tuning output", &c,
                       &no_room) != DS_OK) {
    ds_error_clear(&no_room);
    return DS_OK;
  }
  const float zero = 0.0f;
  cl_int rc = clEnqueueFillBuffer(rt->queue, c, &zero, sizeof zero, 0, c_floats * sizeof(float), 0,
                                  NULL, NULL);
  if (rc != CL_SUCCESS) {
    ds_buffer_release(&c);
    return ds_error_set(err, DS_ERR_OPENCL, "cannot clear the GEMM tuning output on %s: %s",
                        rt->device.name, ds_cl_status_name(rc));
  }
  ds_gemm_args t = *g;
  t.c = c;
  t.c_off = 0;
  /* a small product per candidate first: program builds and the per-local
   * size compiles of PoCL stay out of the timings */
  ds_gemm_args small = t;
  small.m = g->m < 64 ? g->m : 64;
  small.n = g->n < 128 ? g->n : 128;
  small.k = g->k < 64 ? g->k : 64;
  if (rt->tune_note && !rt->tuned_shapes)
    ds_note(rt->tune_note, rt->tune_note_user,
            "tuning GEMM kernels on %s: each new product shape measures its candidates once "
            "(a model has some 20 to 60 shapes; the results are kept for later runs)",
            rt->device.name);
  const double t_start = ds_now_s();
  double times[DS_GEMM_MAX_VARIANTS];
  for (int i = 0; i < n; i++)
    times[i] = !ds_gemm_variant_applies(rt, &cand[i], g) || time_call(rt, &cand[i], &small) < 0
                   ? -1
                   : time_call(rt, &cand[i], &t);
  /* the two fastest again: one sample each is at the mercy of the machine */
  for (int round = 0; round < 2; round++) {
    int best = -1, second = -1;
    for (int i = 0; i < n; i++) {
      if (times[i] < 0) continue;
      if (best < 0 || times[i] < times[best])
        second = best, best = i;
      else if (second < 0 || times[i] < times[second])
        second = i;
    }
    const int again = round == 0 ? best : second;
    if (again >= 0) {
      const double x = time_call(rt, &cand[again], &t);
      if (x >= 0 && x < times[again]) times[again] = x;
    }
  }
  ds_buffer_release(&c);
  int best = -1;
  for (int i = 0; i < n; i++)
    if (times[i] >= 0 && (best < 0 || times[i] < times[best])) best = i;
  if (best < 0) return DS_OK; /* nothing ran: the default reports its own error */
  *winner = cand[best];
  char value[DS_TUNE_VALUE_MAX];
  const double gflops = 2.0 * g->m * g->n * g->k / times[best] * 1e-9;
  format_variant(&cand[best], gflops, value, sizeof value);
  ds_tune_put(rt, key, value, NULL);
  const double took = ds_now_s() - t_start;
  rt->tuned_shapes++;
  rt->tuned_seconds += took;
  ds_note(rt->tune_note, rt->tune_note_user,
          "tuned GEMM shape %d, %ux%ux%u: %d candidates in %.1f s, best %.0f GFLOP/s (kind %u); "
          "%.0f s of tuning so far",
          rt->tuned_shapes, g->m, g->n, g->k, n, took, gflops, cand[best].kind, rt->tuned_seconds);
  return DS_OK;
}

ds_status ds_gemm_pick(ds_runtime *rt, const ds_gemm_args *g, ds_gemm_variant *v, ds_error *err) {
  *v = ds_gemm_default_variant(rt);
  if (!rt->tune || 2.0 * g->m * g->n * g->k < DS_GEMM_TUNE_MIN_FLOP) return DS_OK;
  char key[DS_TUNE_KEY_MAX];
  ds_gemm_tune_key(rt, g, key, sizeof key);
  const char *stored = ds_tune_get(rt, key);
  if (stored && parse_variant(rt, stored, v)) return DS_OK;
  return measure(rt, g, key, v, err);
}
