#include "engine/nn/gemm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/nn/gemm_clblast.h"
#include "engine/nn/gemm_gpu.h"
#include "engine/nn/gemm_tune.h"
#include "host/program.h"

enum { FLAG_ACCUMULATE = 1, FLAG_BIAS = 2, ACT_SHIFT = 2 };

static const char *gemm_options(const ds_gemm_variant *v, char *buf, size_t cap) {
  if (v->kind == DS_GEMM_LOCAL_TILE)
    snprintf(buf, cap, "-DLT_WM=%u -DLT_WN=%u -DLT_K=%u -DLT_RX=%u -DLT_RY=%u", v->mr, v->vw, v->nv,
             v->local[0], v->local[1]);
  else
    snprintf(buf, cap, "-DMR=%u -DVW=%u -DNV=%u", v->mr, v->vw, v->nv);
  return buf;
}

/* The variants ds_gemm measures per shape: register tiles, work-group
 * shapes and K blocks around the vendor profile's (always the first). On
 * CPUs (PoCL: one work-item per group, 32 vector registers) tiles of 4 to
 * 12 rows by 16 to 64 columns and K blocks that keep a B panel in L2; on
 * GPUs smaller tiles in groups of 64 to 256 work-items. */
static const ds_gemm_variant cpu_variants[] = {
    {DS_GEMM_REGISTER_TILE, 6, 16, 2, {1, 1}, 0, 0}, /* k_block 0 here: the profile's */
    {DS_GEMM_REGISTER_TILE, 6, 16, 2, {1, 1}, DS_GEMM_K_ANY, 0},
    {DS_GEMM_REGISTER_TILE, 6, 16, 2, {1, 1}, 1024, 0},
    {DS_GEMM_REGISTER_TILE, 4, 16, 2, {1, 1}, 0, 0},
    {DS_GEMM_REGISTER_TILE, 8, 16, 2, {1, 1}, 0, 0},
    {DS_GEMM_REGISTER_TILE, 12, 16, 1, {1, 1}, 0, 0},
    {DS_GEMM_REGISTER_TILE, 4, 16, 4, {1, 1}, 0, 0},
    {DS_GEMM_REGISTER_TILE, 6, 16, 2, {1, 1}, 0, DS_GEMM_KEEP_ALIASED_B},
    {DS_GEMM_REGISTER_TILE, 4, 16, 4, {1, 1}, 0, DS_GEMM_KEEP_ALIASED_B},
};
static const ds_gemm_variant gpu_variants[] = {
    /* local-memory tiles: 64 x 64 from 16 x 16 work-items, 128 x 128 from
     * 16 x 16 with 8 x 8 each, 32 x 32 from 8 x 8, 64 x 64 from 16 x 8 */
    {DS_GEMM_LOCAL_TILE, 4, 4, 16, {16, 16}, 0, 0},
    {DS_GEMM_LOCAL_TILE, 8, 8, 16, {16, 16}, 0, 0},
    {DS_GEMM_LOCAL_TILE, 4, 4, 16, {8, 8}, 0, 0},
    {DS_GEMM_LOCAL_TILE, 8, 4, 8, {16, 8}, 0, 0},
    /* register tiles straight from global memory and caches */
    {DS_GEMM_REGISTER_TILE, 4, 4, 2, {8, 8}, 0, 0},
    {DS_GEMM_REGISTER_TILE, 4, 4, 1, {16, 16}, 0, 0},
    {DS_GEMM_REGISTER_TILE, 2, 4, 2, {16, 16}, 0, 0},
    /* double-buffered local tiles (gemm_gpu): 128 x 128 from 16 x 16
     * work-items of 8 x 8 with K slabs of 16 and 8; 128 x 64 and 64 x 128;
     * 64 x 64 of 4 x 4; 32 x 32 from 8 x 8 for small products; split K
     * for shapes with fewer tiles than compute units (128 x 128, 64 x 64) */
    {DS_GEMM_GPU_TILE, 8, 8, 16, {16, 16}, 0, 0},
    {DS_GEMM_GPU_TILE, 8, 8, 8, {16, 16}, 0, 0},
    {DS_GEMM_GPU_TILE, 8, 4, 16, {16, 16}, 0, 0},
    {DS_GEMM_GPU_TILE, 4, 8, 16, {16, 16}, 0, 0},
    {DS_GEMM_GPU_TILE, 4, 4, 16, {16, 16}, 0, 0},
    {DS_GEMM_GPU_TILE, 4, 4, 16, {8, 8}, 0, 0},
    {DS_GEMM_GPU_TILE, 8, 8, 16, {16, 16}, 0, DS_GEMM_SPLIT_K},
    {DS_GEMM_GPU_TILE, 4, 4, 16, {16, 16}, 0, DS_GEMM_SPLIT_K},
    /* narrow products, where a square tile would compute mostly padding:
     * N of a few columns (the output layer's 3 channels: 128 x 4 tiles from
     * 4 x 64 work-items of 2 x 1), and M of a few rows (its weight gradient
     * as dW^T: 4 x 128 from 64 x 4 of 1 x 2) */
    {DS_GEMM_GPU_TILE, 2, 1, 16, {4, 64}, 0, 0},
    {DS_GEMM_GPU_TILE, 1, 2, 16, {64, 4}, 0, 0},
    /* CLBlast's SGEMM with its database's parameters for the device */
    {DS_GEMM_CLBLAST, 0, 0, 0, {0, 0}, 0, 0},
};

ds_gemm_variant ds_gemm_default_variant(const ds_runtime *rt) {
  const ds_vendor_profile *p = rt->profile;
  ds_gemm_variant v = {DS_GEMM_REGISTER_TILE,
                       p->gemm_mr,
                       p->gemm_vw,
                       p->gemm_nv,
                       {p->gemm_local[0], p->gemm_local[1]},
                       p->gemm_k_block ? p->gemm_k_block : DS_GEMM_K_ANY,
                       0};
  return v;
}

int ds_gemm_variants(const ds_runtime *rt, ds_gemm_variant *out, int cap) {
  const ds_gemm_variant *list = rt->profile->local_memory_tiles ? gpu_variants : cpu_variants;
  const int n = rt->profile->local_memory_tiles ? (int)(sizeof gpu_variants / sizeof *gpu_variants)
                                                : (int)(sizeof cpu_variants / sizeof *cpu_variants);
  const ds_gemm_variant def = ds_gemm_default_variant(rt);
  int count = 0;
  if (count < cap) out[count++] = def;
  for (int i = 0; i < n && count < cap; i++) {
    ds_gemm_variant v = list[i];
    if (!v.k_block) v.k_block = def.k_block;
    if (v.kind == DS_GEMM_GPU_TILE && !ds_gemm_gpu_fits(rt, &v)) continue;
    int dup = 0;
    for (int j = 0; j < count; j++)
      dup |= !memcmp(&out[j], &v, sizeof v);
    if (!dup) out[count++] = v;
  }
  return count;
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

static ds_status edge(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                      cl_uint flags, unsigned row0, unsigned col0, unsigned rows, unsigned cols,
                      ds_error *err) {
  if (!rows || !cols) return DS_OK;
  cl_kernel k;
  char opts[128];
  ds_status st =
      ds_kernel_get(rt, "nn/gemm", gemm_options(v, opts, sizeof opts), "gemm_edge", &k, err);
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

/* How a product uses the workspace: copies of A and of B with padding, or
 * the operands as they are (zero sizes). */
typedef struct gemm_plan {
  unsigned a_rows, a_pitch; /* padded A: a_rows x K at pitch a_pitch; 0: none */
  unsigned b_cols;          /* padded B: K x b_cols; 0: none */
  size_t b_off;             /* floats: where padded B starts in the workspace */
  size_t floats;            /* workspace needed */
} gemm_plan;

/* Row pitches that are multiples of 2 KiB put every row into the same cache
 * sets, and the tile kernel's walk down B (or across MR rows of A) thrashes
 * them (../shared/reference/pocl-gemm.md, pitfall 2: a 2048-wide B ran at
 * ~1 GFLOP/s); 16 extra floats break the alignment. */
static int aliased_pitch(size_t floats) { return floats >= 512 && floats % 512 == 0; }

static gemm_plan plan_for(const ds_gemm_variant *v, unsigned m, unsigned n, unsigned k,
                          unsigned lda_m, unsigned lda_k, unsigned ldb) {
  const size_t mr = v->mr, nb = (size_t)v->vw * v->nv;
  gemm_plan p = {0, 0, 0, 0, 0};
  if (v->kind != DS_GEMM_REGISTER_TILE) return p; /* reads the operands as they are */
  /* B: a ragged N is padded to whole tiles; an aliased pitch gets 16 more
   * when enough rows read B again to pay for the copy (measured on PoCL:
   * reading the aliased B as it is ran 16 x 512 x 32768 3.5x and 64 x 512 x
   * 32768 1.6x faster; 256 x 512 x 8192 within noise; 256 x 2048 x 9216 (a
   * 3x3 conv, 1024 -> 2048 channels on 4x4 at batch 16) 1.36x, 768 x 512 x
   * 8192 1.2x and 2048^3 2.2x slower) */
  if (n % nb)
    p.b_cols = (unsigned)round_up(n, nb);
  else if (aliased_pitch(ldb) && m >= 128 && !(v->flags & DS_GEMM_KEEP_ALIASED_B))
    p.b_cols = n + 16;
  /* A: aliased rows, or a ragged M of few rows (its last m % MR rows go to
   * the edge kernel, one element per work-item: fine for a sliver of a tall
   * A, where copying the whole of A cost more than the product's tiles, not
   * for most of a short one), when the copy is cheap next to the product:
   * small (4 M floats), or read once for every 128 or more columns (up to
   * 32 M floats) */
  const size_t mp = round_up(m, mr), a_floats = mp * k;
  const int a_awkward = (m % mr && m < 32 * mr) || (lda_k == 1 && aliased_pitch(lda_m));
  if (a_awkward &&
      (a_floats <= ((size_t)4 << 20) || (n >= 128 && a_floats <= ((size_t)32 << 20)))) {
    p.a_rows = (unsigned)mp;
    p.a_pitch = aliased_pitch(k) ? k + 16 : k;
  }
  p.b_off = round_up((size_t)p.a_rows * p.a_pitch, 16);
  p.floats = p.b_off + (size_t)p.b_cols * k;
  return p;
}

size_t ds_gemm_workspace(const ds_runtime *rt, unsigned m, unsigned n, unsigned k, unsigned lda_m,
                         unsigned lda_k, unsigned ldb) {
  /* the candidates, the default first: only it runs untuned */
  ds_gemm_variant v[DS_GEMM_MAX_VARIANTS];
  const int count = ds_gemm_variants(rt, v, rt->tune ? DS_GEMM_MAX_VARIANTS : 1);
  size_t most = 0;
  for (int i = 0; i < count; i++) {
    const unsigned kb = v[i].k_block < k ? v[i].k_block : k;
    const size_t f = v[i].kind == DS_GEMM_GPU_TILE
                         ? ds_gemm_gpu_workspace(rt, &v[i], m, n, kb)
                         : plan_for(&v[i], m, n, kb, lda_m, lda_k, ldb).floats;
    if (f > most) most = f;
  }
  return most;
}

/* A copied row-major with Mp rows (zeros past M) at the plan's pitch. */
static ds_status pad_a(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                       const gemm_plan *p, ds_error *err) {
  char opts[128];
  cl_kernel k;
  cl_ulong ap_off = 0, a_off = g->a_off;
  cl_uint lda_m = g->lda_m, lda_k = g->lda_k, m = g->m, kk = g->k, mp = p->a_rows, lda = p->a_pitch;
  ds_status st = ds_kernel_get(rt, "nn/gemm", gemm_options(v, opts, sizeof opts), "pad_a", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 10, DS_ARG(g->ws), DS_ARG(ap_off), DS_ARG(g->a), DS_ARG(a_off),
                        DS_ARG(lda_m), DS_ARG(lda_k), DS_ARG(m), DS_ARG(kk), DS_ARG(mp),
                        DS_ARG(lda));
  size_t global[2] = {g->k, p->a_rows}, local[2] = {rt->profile->elementwise_local_size, 1};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  return st;
}

/* B zero-padded to whole tiles of columns in the workspace (cl/nn/gemm.cl). */
static ds_status pad_b(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                       const gemm_plan *p, ds_error *err) {
  const unsigned np = p->b_cols;
  cl_ulong bp_off = p->b_off;
  char opts[128];
  cl_kernel k;
  cl_ulong b_off = g->b_off;
  cl_uint ldb = g->ldb, n = g->n, kk = g->k, npad = np;
  ds_status st = ds_kernel_get(rt, "nn/gemm", gemm_options(v, opts, sizeof opts), "pad_b", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 8, DS_ARG(g->ws), DS_ARG(bp_off), DS_ARG(g->b), DS_ARG(b_off),
                        DS_ARG(ldb), DS_ARG(n), DS_ARG(kk), DS_ARG(npad));
  size_t global[2] = {np, g->k}, local[2] = {rt->profile->elementwise_local_size, 1};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  return st;
}

/* The whole product in local-memory tiles (gemm_ltile). */
static ds_status local_tiles(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                             cl_uint flags, ds_error *err) {
  cl_kernel k;
  char opts[128];
  ds_status st =
      ds_kernel_get(rt, "nn/gemm", gemm_options(v, opts, sizeof opts), "gemm_ltile", &k, err);
  if (st == DS_OK) st = set_common(k, g, flags, err);
  cl_uint m = g->m, n = g->n;
  if (st == DS_OK) st = ds_kernel_arg(k, 14, sizeof m, &m, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 15, sizeof n, &n, err);
  const size_t tm = (size_t)v->mr * v->local[1], tn = (size_t)v->vw * v->local[0];
  size_t global[2] = {(g->n + tn - 1) / tn * v->local[0], (g->m + tm - 1) / tm * v->local[1]};
  size_t local[2] = {v->local[0], v->local[1]};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  return st;
}

/* One launch's product (K at most the variant's k_block). */
static ds_status gemm_one(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                          ds_error *err) {
  if (!g->m || !g->n) return DS_OK;
  cl_uint flags = (g->accumulate ? FLAG_ACCUMULATE : 0) | (g->bias ? FLAG_BIAS : 0) |
                  ((cl_uint)g->act << ACT_SHIFT);
  if (v->kind == DS_GEMM_LOCAL_TILE) return local_tiles(rt, v, g, flags, err);
  if (v->kind == DS_GEMM_GPU_TILE) return ds_gemm_gpu_run(rt, v, g, flags, err);
  if (v->kind == DS_GEMM_CLBLAST) return ds_gemm_clblast_run(rt, v, g, flags, err);
  const unsigned mr = v->mr, nr = v->vw * v->nv;
  /* Padded copies of A and B (gemm_plan) let whole tiles cover the product;
   * without workspace the ragged strips go to the edge kernel. */
  ds_gemm_args tile = *g;
  gemm_plan p = plan_for(v, g->m, g->n, g->k, g->lda_m, g->lda_k, g->ldb);
  const int use = g->k && g->ws && p.floats && g->ws_floats >= p.floats;
  unsigned tiles_m = g->m / mr, tiles_n = g->n / nr;
  ds_status st = DS_OK;
  if (use && p.a_rows) {
    st = pad_a(rt, v, g, &p, err);
    tile.a = g->ws;
    tile.a_off = 0;
    tile.lda_m = p.a_pitch;
    tile.lda_k = 1;
    tiles_m = p.a_rows / mr;
  }
  if (use && p.b_cols && st == DS_OK) {
    st = pad_b(rt, v, g, &p, err);
    tile.b = g->ws;
    tile.b_off = p.b_off;
    tile.ldb = p.b_cols;
    tiles_n = (g->n + nr - 1) / nr;
  }
  if (st == DS_OK && tiles_m && tiles_n) {
    cl_kernel k;
    char opts[128];
    st = ds_kernel_get(rt, "nn/gemm", gemm_options(v, opts, sizeof opts), "gemm_tile", &k, err);
    if (st == DS_OK) st = set_common(k, &tile, flags, err);
    cl_uint tm = tiles_m, tn = tiles_n, m = g->m, n = g->n;
    if (st == DS_OK) st = ds_kernel_arg(k, 14, sizeof tm, &tm, err);
    if (st == DS_OK) st = ds_kernel_arg(k, 15, sizeof tn, &tn, err);
    if (st == DS_OK) st = ds_kernel_arg(k, 16, sizeof m, &m, err);
    if (st == DS_OK) st = ds_kernel_arg(k, 17, sizeof n, &n, err);
    size_t global[2] = {tiles_m, tiles_n};
    size_t local[2] = {v->local[0], v->local[1]};
    if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  }
  /* what the tiles covered: rows [0, m_full), columns [0, n_full) */
  const unsigned m_full = tiles_n ? (tiles_m * mr < g->m ? tiles_m * mr : g->m) : 0;
  const unsigned n_full = tiles_m ? (tiles_n * nr < g->n ? tiles_n * nr : g->n) : 0;
  /* right strip: every row, the columns past the tiles */
  if (st == DS_OK) st = edge(rt, v, g, flags, 0, n_full, g->m, g->n - n_full, err);
  /* bottom strip: the rows past the tiles, tiled columns only */
  if (st == DS_OK) st = edge(rt, v, g, flags, m_full, 0, g->m - m_full, n_full, err);
  return st;
}

ds_status ds_gemm(ds_runtime *rt, const ds_gemm_args *g, ds_error *err) {
  ds_gemm_variant v;
  ds_status st = ds_gemm_pick(rt, g, &v, err);
  if (st == DS_OK) st = ds_gemm_with(rt, &v, g, err);
  return st;
}

ds_status ds_gemm_with(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                       ds_error *err) {
  const unsigned most = v->k_block;
  if (!most || g->k <= most) return gemm_one(rt, v, g, err);
  /* K in equal blocks, each adding to C; bias and activation with the last */
  const unsigned blocks = (g->k + most - 1) / most, kb = (g->k + blocks - 1) / blocks;
  ds_status st = DS_OK;
  for (unsigned k0 = 0; k0 < g->k && st == DS_OK; k0 += kb) {
    ds_gemm_args b = *g;
    b.k = g->k - k0 < kb ? g->k - k0 : kb;
    b.a_off = g->a_off + (size_t)k0 * g->lda_k;
    b.b_off = g->b_off + (size_t)k0 * g->ldb;
    const int last = k0 + b.k >= g->k;
    b.accumulate = g->accumulate || k0 > 0;
    b.bias = last ? g->bias : NULL;
    b.act = last ? g->act : DS_ACT_NONE;
    st = gemm_one(rt, v, &b, err);
  }
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
