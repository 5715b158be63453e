#include "engine/nn/gemm.h"

#include <math.h>
#include <stdio.h>

#include "host/program.h"

enum { FLAG_ACCUMULATE = 1, FLAG_BIAS = 2, ACT_SHIFT = 2 };

static const char *gemm_options(ds_runtime *rt, char *buf, size_t cap) {
  snprintf(buf, cap, "-DMR=%u -DVW=%u -DNV=%u", rt->profile->gemm_mr, rt->profile->gemm_vw,
           rt->profile->gemm_nv);
  return buf;
}

static ds_status set_common(cl_kernel k, const ds_gemm_args *g, cl_uint flags, ds_error *err) {
  cl_ulong a_off = g->a_off, b_off = g->b_off, c_off = g->c_off, bias_off = g->bias_off;
  cl_uint lda_m = g->lda_m, lda_k = g->lda_k, ldb = g->ldb, ldc = g->ldc, kk = g->k;
  cl_mem bias = g->bias ? g->bias : g->c; /* any valid buffer when unused */
  ds_status st = ds_kernel_arg(k, 0, sizeof(cl_mem), &g->a, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof a_off, &a_off, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 2, sizeof lda_m, &lda_m, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 3, sizeof lda_k, &lda_k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 4, sizeof(cl_mem), &g->b, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 5, sizeof b_off, &b_off, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 6, sizeof ldb, &ldb, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 7, sizeof(cl_mem), &g->c, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 8, sizeof c_off, &c_off, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 9, sizeof ldc, &ldc, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 10, sizeof(cl_mem), &bias, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 11, sizeof bias_off, &bias_off, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 12, sizeof kk, &kk, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 13, sizeof flags, &flags, err);
  return st;
}

static ds_status edge(ds_runtime *rt, const ds_gemm_args *g, cl_uint flags, unsigned row0,
                      unsigned col0, unsigned rows, unsigned cols, ds_error *err) {
  if (!rows || !cols) return DS_OK;
  cl_kernel k;
  char opts[96];
  ds_status st =
      ds_kernel_get(rt, "nn/gemm", gemm_options(rt, opts, sizeof opts), "gemm_edge", &k, err);
  if (st == DS_OK) st = set_common(k, g, flags, err);
  cl_uint r0 = row0, c0 = col0, nr = rows, nc = cols;
  if (st == DS_OK) st = ds_kernel_arg(k, 14, sizeof r0, &r0, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 15, sizeof c0, &c0, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 16, sizeof nr, &nr, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 17, sizeof nc, &nc, err);
  size_t global[2] = {rows, cols}, local[2] = {16, 1};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  return st;
}

static size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }

/* Columns of the padded copy of B, or 0 when B is used as it is: a ragged N
 * is padded to whole tiles, and a row pitch that is a multiple of 2 KiB gets
 * 16 extra columns, since rows at such pitches all fall into the same cache
 * sets and the tile kernel's walk down B thrashes them (pocl-gemm.md,
 * pitfall 2: 2048-wide B ran at ~1 GFLOP/s). */
static size_t padded_columns(const ds_runtime *rt, unsigned n, unsigned ldb) {
  const size_t nb = (size_t)rt->profile->gemm_vw * rt->profile->gemm_nv;
  if (n % nb) return round_up(n, nb);
  if (ldb % 512 == 0 && n >= 512) return (size_t)n + 16;
  return 0;
}

size_t ds_gemm_workspace(const ds_runtime *rt, unsigned m, unsigned n, unsigned k, unsigned ldb) {
  (void)m;
  return padded_columns(rt, n, ldb) * k;
}

/* B zero-padded to whole tiles of columns in the workspace (cl/nn/gemm.cl). */
static ds_status pad_b(ds_runtime *rt, const ds_gemm_args *g, unsigned np, ds_error *err) {
  char opts[96];
  cl_kernel k;
  cl_ulong b_off = g->b_off;
  cl_uint ldb = g->ldb, n = g->n, kk = g->k, npad = np;
  ds_status st =
      ds_kernel_get(rt, "nn/gemm", gemm_options(rt, opts, sizeof opts), "pad_b", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof(cl_mem), &g->ws, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof(cl_mem), &g->b, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 2, sizeof b_off, &b_off, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 3, sizeof ldb, &ldb, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 4, sizeof n, &n, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 5, sizeof kk, &kk, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 6, sizeof npad, &npad, err);
  size_t total = (size_t)g->k * np, local = rt->profile->elementwise_local_size;
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &total, &local, err);
  return st;
}

ds_status ds_gemm(ds_runtime *rt, const ds_gemm_args *g, ds_error *err) {
  if (!g->m || !g->n) return DS_OK;
  cl_uint flags = (g->accumulate ? FLAG_ACCUMULATE : 0) | (g->bias ? FLAG_BIAS : 0) |
                  ((cl_uint)g->act << ACT_SHIFT);
  const unsigned mr = rt->profile->gemm_mr, nr = rt->profile->gemm_vw * rt->profile->gemm_nv;
  const unsigned tiles_m = g->m / mr;
  unsigned tiles_n = g->n / nr;
  /* A ragged N: pad B so whole tiles cover every column. */
  ds_gemm_args tile = *g;
  const size_t np = padded_columns(rt, g->n, g->ldb);
  const int padded = tiles_m && np && g->k && g->ws && g->ws_floats >= np * g->k;
  ds_status st = DS_OK;
  if (padded) {
    st = pad_b(rt, g, (unsigned)np, err);
    tile.b = g->ws;
    tile.b_off = 0;
    tile.ldb = (unsigned)np;
    tiles_n = (g->n + nr - 1) / nr;
  }
  if (st == DS_OK && tiles_m && tiles_n) {
    cl_kernel k;
    char opts[96];
    st = ds_kernel_get(rt, "nn/gemm", gemm_options(rt, opts, sizeof opts), "gemm_tile", &k, err);
    if (st == DS_OK) st = set_common(k, &tile, flags, err);
    cl_uint tm = tiles_m, tn = tiles_n, n = g->n;
    if (st == DS_OK) st = ds_kernel_arg(k, 14, sizeof tm, &tm, err);
    if (st == DS_OK) st = ds_kernel_arg(k, 15, sizeof tn, &tn, err);
    if (st == DS_OK) st = ds_kernel_arg(k, 16, sizeof n, &n, err);
    size_t global[2] = {tiles_m, tiles_n};
    size_t local[2] = {rt->profile->gemm_local[0], rt->profile->gemm_local[1]};
    if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  }
  const unsigned m_full = tiles_n ? tiles_m * mr : 0;
  const unsigned n_full = padded ? g->n : (tiles_m ? tiles_n * nr : 0);
  /* right strip: every row, the columns past the tiles */
  if (st == DS_OK) st = edge(rt, g, flags, 0, n_full, g->m, g->n - n_full, err);
  /* bottom strip: the rows past the tiles, tiled columns only */
  if (st == DS_OK) st = edge(rt, g, flags, m_full, 0, g->m - m_full, n_full, err);
  return st;
}

void ds_gemm_reference(const float *a, const float *b, float *c, const float *bias,
                       const ds_gemm_args *g) {
  for (unsigned m = 0; m < g->m; m++)
    for (unsigned n = 0; n < g->n; n++) {
      double acc = 0.0;
      for (unsigned k = 0; k < g->k; k++)
        acc += (double)a[g->a_off + (size_t)m * g->lda_m + (size_t)k * g->lda_k] *
               (double)b[g->b_off + (size_t)k * g->ldb + n];
      float *cp = &c[g->c_off + (size_t)m * g->ldc + n];
      float x = (float)acc;
      if (g->accumulate) x += *cp;
      if (bias) x += bias[g->bias_off + n];
      *cp = ds_act_reference(g->act, x);
    }
}
