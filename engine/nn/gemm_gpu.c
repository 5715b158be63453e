/* Host side of the GPU GEMM (cl/nn/gemm_gpu.cl): fit checks, split K, launches. */
#include "engine/nn/gemm_gpu.h"

#include <stdio.h>

#include "host/cl_status.h"
#include "host/program.h"

/* The partial sums of a split product stay below 64 MiB: beyond that the
 * slices cost more memory traffic than the idle compute units they fill. */
enum { SPLIT_MAX_FLOATS = 16 << 20, SPLIT_MAX = 32, SPLIT_MIN_SLABS = 4 };

static unsigned tile_m(const ds_gemm_variant *v) { return v->mr * v->local[1]; }
static unsigned tile_n(const ds_gemm_variant *v) { return v->vw * v->local[0]; }

const char *ds_gemm_gpu_options(const ds_gemm_variant *v, char *buf, size_t cap) {
  snprintf(buf, cap, "-DGT_TM=%u -DGT_TN=%u -DGT_KS=%u -DGT_RX=%u -DGT_RY=%u", tile_m(v), tile_n(v),
           v->nv, v->local[0], v->local[1]);
  return buf;
}

int ds_gemm_gpu_fits(const ds_runtime *rt, const ds_gemm_variant *v) {
  /* two slabs of A and B, rows padded by one float (cl/nn/gemm_gpu.cl) */
  const uint64_t local = 2ull * v->nv * (tile_m(v) + 1 + tile_n(v) + 1) * sizeof(float);
  const size_t items = (size_t)v->local[0] * v->local[1];
  return local <= rt->device.local_mem_bytes && items <= rt->device.max_work_group_size;
}

unsigned ds_gemm_gpu_splits(const ds_runtime *rt, const ds_gemm_variant *v, unsigned m, unsigned n,
                            unsigned k, size_t ws_floats) {
  if (!(v->flags & DS_GEMM_SPLIT_K) || !m || !n) return 1;
  const size_t tiles =
      (size_t)((m + tile_m(v) - 1) / tile_m(v)) * ((n + tile_n(v) - 1) / tile_n(v));
  const unsigned cus = rt->device.compute_units;
  if (tiles >= cus) return 1;
  size_t s = (cus + tiles - 1) / tiles;
  const size_t by_k = k / ((size_t)SPLIT_MIN_SLABS * v->nv);
  const size_t slice = (size_t)m * n;
  const size_t room = (ws_floats < SPLIT_MAX_FLOATS ? ws_floats : SPLIT_MAX_FLOATS) / slice;
  if (s > SPLIT_MAX) s = SPLIT_MAX;
  if (s > by_k) s = by_k;
  if (s > room) s = room;
  if (s < 2) return 1;
  /* whole slabs per slice; the last may be shorter, none empty */
  const size_t per = ((k + s - 1) / s + v->nv - 1) / v->nv * v->nv;
  return (unsigned)((k + per - 1) / per);
}

size_t ds_gemm_gpu_workspace(const ds_runtime *rt, const ds_gemm_variant *v, unsigned m, unsigned n,
                             unsigned k) {
  const unsigned s = ds_gemm_gpu_splits(rt, v, m, n, k, (size_t)-1);
  return s > 1 ? (size_t)s * m * n : 0;
}

/* 16-byte alignment of an operand in floats: float4 loads (vec bits). */
static cl_uint vector_bits(const ds_gemm_args *g) {
  const int along_m = g->lda_m == 1 && g->lda_k != 1;
  const unsigned pitch = g->lda_k == 1 ? g->lda_m : along_m ? g->lda_k : 1;
  const int a = (g->lda_k == 1 || along_m) && g->a_off % 4 == 0 && pitch % 4 == 0;
  const int b = g->b_off % 4 == 0 && g->ldb % 4 == 0;
  return (a ? 1u : 0u) | (b ? 2u : 0u);
}

/* The device may allow fewer work-items for this kernel than the variant's
 * group (registers): then the variant cannot run here. */
static ds_status check_group(ds_runtime *rt, cl_kernel k, const ds_gemm_variant *v, ds_error *err) {
  size_t most = 0;
  cl_int rc = clGetKernelWorkGroupInfo(k, rt->device.id, CL_KERNEL_WORK_GROUP_SIZE, sizeof most,
                                       &most, NULL);
  if (rc != CL_SUCCESS)
    return ds_error_set(err, DS_ERR_OPENCL, "cannot query gemm_gpu's work-group size on %s: %s",
                        rt->device.name, ds_cl_status_name(rc));
  if (most < (size_t)v->local[0] * v->local[1])
    return ds_error_set(err, DS_ERR_INVALID,
                        "gemm_gpu %ux%u needs %u work-items per group, %s allows %zu for it; "
                        "the tuner picks another variant",
                        tile_m(v), tile_n(v), v->local[0] * v->local[1], rt->device.name, most);
  return DS_OK;
}

ds_status ds_gemm_bias_act(ds_runtime *rt, const ds_gemm_args *g, cl_uint flags, ds_error *err) {
  cl_kernel k;
  cl_mem bias = g->bias ? g->bias : g->c;
  cl_ulong c_off = g->c_off, bias_off = g->bias_off;
  cl_uint ldc = g->ldc, m = g->m, n = g->n;
  ds_status st = ds_kernel_get(rt, "nn/gemm_gpu", NULL, "gemm_bias_act", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 8, DS_ARG(g->c), DS_ARG(c_off), DS_ARG(ldc), DS_ARG(bias),
                        DS_ARG(bias_off), DS_ARG(m), DS_ARG(n), DS_ARG(flags));
  size_t global[2] = {g->n, g->m}, local[2] = {16, 4};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  return st;
}

static ds_status split_sum(ds_runtime *rt, const ds_gemm_args *g, unsigned splits, cl_uint flags,
                           ds_error *err) {
  cl_kernel k;
  cl_mem bias = g->bias ? g->bias : g->c;
  cl_ulong c_off = g->c_off, bias_off = g->bias_off, part_off = 0;
  cl_uint ldc = g->ldc, m = g->m, n = g->n, s = splits;
  ds_status st = ds_kernel_get(rt, "nn/gemm_gpu", NULL, "gemm_split_sum", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 11, DS_ARG(g->c), DS_ARG(c_off), DS_ARG(ldc), DS_ARG(g->ws),
                        DS_ARG(part_off), DS_ARG(s), DS_ARG(bias), DS_ARG(bias_off), DS_ARG(m),
                        DS_ARG(n), DS_ARG(flags));
  size_t global[2] = {g->n, g->m}, local[2] = {16, 4};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  return st;
}

ds_status ds_gemm_gpu_run(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                          cl_uint flags, ds_error *err) {
  const unsigned splits = ds_gemm_gpu_splits(rt, v, g->m, g->n, g->k, g->ws ? g->ws_floats : 0);
  const unsigned per =
      splits > 1 ? ((g->k + splits - 1) / splits + v->nv - 1) / v->nv * v->nv : (g->k ? g->k : 1);
  cl_kernel k;
  char opts[160];
  ds_status st = ds_kernel_get(rt, "nn/gemm_gpu", ds_gemm_gpu_options(v, opts, sizeof opts),
                               "gemm_gpu", &k, err);
  if (st == DS_OK) st = check_group(rt, k, v, err);
  cl_mem bias = g->bias ? g->bias : g->c, part = splits > 1 ? g->ws : g->c;
  cl_ulong a_off = g->a_off, b_off = g->b_off, c_off = g->c_off, bias_off = g->bias_off;
  cl_ulong part_off = 0;
  cl_uint lda_m = g->lda_m, lda_k = g->lda_k, ldb = g->ldb, ldc = g->ldc, kk = g->k;
  cl_uint m = g->m, n = g->n, k_split = per, partial = splits > 1, vec = vector_bits(g);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 21, DS_ARG(g->a), DS_ARG(a_off), DS_ARG(lda_m), DS_ARG(lda_k),
                        DS_ARG(g->b), DS_ARG(b_off), DS_ARG(ldb), DS_ARG(g->c), DS_ARG(c_off),
                        DS_ARG(ldc), DS_ARG(bias), DS_ARG(bias_off), DS_ARG(kk), DS_ARG(flags),
                        DS_ARG(m), DS_ARG(n), DS_ARG(k_split), DS_ARG(part), DS_ARG(part_off),
                        DS_ARG(partial), DS_ARG(vec));
  const size_t tm = tile_m(v), tn = tile_n(v);
  size_t global[3] = {(g->n + tn - 1) / tn * v->local[0], (g->m + tm - 1) / tm * v->local[1],
                      splits};
  size_t local[3] = {v->local[0], v->local[1], 1};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 3, global, local, err);
  if (st == DS_OK && splits > 1) st = split_sum(rt, g, splits, flags, err);
  return st;
}
