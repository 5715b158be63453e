/* C[M,N] = act(A . B (+ C) (+ bias)) on the device (cl/nn/gemm.cl).
 * A is addressed through strides so A or A^T can be used without a copy:
 * element (m, k) is a[a_off + m * lda_m + k * lda_k]. B is row-major:
 * (k, n) is b[b_off + k * ldb + n]; C likewise with ldc. Offsets and leading
 * dimensions count floats. */
#ifndef DS_ENGINE_NN_GEMM_H
#define DS_ENGINE_NN_GEMM_H

#include <CL/cl.h>
#include <stddef.h>

#include "engine/nn/act.h"
#include "host/runtime.h"

typedef struct ds_gemm_args {
  cl_mem a;
  size_t a_off;
  unsigned lda_m, lda_k;
  cl_mem b;
  size_t b_off;
  unsigned ldb;
  cl_mem c;
  size_t c_off;
  unsigned ldc;
  cl_mem bias; /* NULL: none; else bias[bias_off + n] added to every row */
  size_t bias_off;
  unsigned m, n, k;
  int accumulate; /* 1: C += A . B */
  ds_act act;
  /* workspace for padded copies of A and B (ds_gemm_workspace); NULL or too
   * small: the operands are read as they are and ragged strips go to the
   * edge kernel */
  cl_mem ws;
  size_t ws_floats;
} ds_gemm_args;

/* One way to run a product (cl/nn/gemm.cl), and the longest K one launch
 * takes (a longer product runs as launches over blocks of K, each adding to
 * C; DS_GEMM_K_ANY: one launch).
 *   DS_GEMM_REGISTER_TILE (gemm_tile): mr rows x vw * nv columns per
 *     work-item from caches and registers, work-groups of local[0] x
 *     local[1] tiles (CPUs: 1 x 1);
 *   DS_GEMM_LOCAL_TILE (gemm_ltile): work-groups of local[0] x local[1]
 *     work-items stage K-slices of nv in local memory; each work-item
 *     computes mr rows x vw columns, a group mr * local[1] x vw * local[0]
 *     (GPUs);
 *   DS_GEMM_GPU_TILE (gemm_gpu, cl/nn/gemm_gpu.cl): as the local tile, with
 *     K slabs of nv double-buffered in local memory, float4 loads where
 *     aligned and, with DS_GEMM_SPLIT_K, K cut into slices when the
 *     product has fewer tiles than the device has compute units (GPUs);
 *   DS_GEMM_CLBLAST (CLBlastSgemm, engine/nn/gemm_clblast.h): CLBlast's
 *     tuned kernels; mr numbers the parameter set (0: its database's).
 */
typedef enum ds_gemm_kind {
  DS_GEMM_REGISTER_TILE = 0,
  DS_GEMM_LOCAL_TILE = 1,
  DS_GEMM_GPU_TILE = 2,
  DS_GEMM_CLBLAST = 3
} ds_gemm_kind;

typedef struct ds_gemm_variant {
  unsigned kind; /* ds_gemm_kind */
  unsigned mr, vw, nv;
  unsigned local[2];
  unsigned k_block;
  unsigned flags; /* DS_GEMM_KEEP_ALIASED_B */
} ds_gemm_variant;

/* A B whose row pitch is a multiple of 512 floats is read as it is, not
 * copied to a padded pitch (which pays only when many row tiles re-read
 * it: bench/README.md). */
#define DS_GEMM_KEEP_ALIASED_B 1u
/* DS_GEMM_GPU_TILE: split K when tiles are fewer than compute units. */
#define DS_GEMM_SPLIT_K 2u

#define DS_GEMM_K_ANY 0xffffffffu
enum { DS_GEMM_MAX_VARIANTS = 32 };

/* The vendor profile's variant: what runs untuned. */
ds_gemm_variant ds_gemm_default_variant(const ds_runtime *rt);
/* The candidates the tuner measures on rt's device, the default first;
 * returns how many (at most cap). */
int ds_gemm_variants(const ds_runtime *rt, ds_gemm_variant *out, int cap);

/* Floats of workspace an m x n x k product with these strides can use (0:
 * none): zero-padded copies of A and B so whole register tiles cover ragged
 * edges, and row pitches that avoid cache-set aliasing; with tuning on, the
 * most any candidate variant uses. */
size_t ds_gemm_workspace(const ds_runtime *rt, unsigned m, unsigned n, unsigned k, unsigned lda_m,
                         unsigned lda_k, unsigned ldb);

/* The product with the variant engine/nn/gemm_tune.h picks for this shape
 * on rt's device (the default when tuning is off or the product is small). */
ds_status ds_gemm(ds_runtime *rt, const ds_gemm_args *g, ds_error *err);

/* The product with variant v. */
ds_status ds_gemm_with(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                       ds_error *err);

/* The same on host arrays; offsets apply to the given pointers. */
void ds_gemm_reference(const float *a, const float *b, float *c, const float *bias,
                       const ds_gemm_args *g);

#endif
