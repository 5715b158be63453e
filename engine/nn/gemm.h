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

/* Floats of workspace an m x n x k product with these strides can use (0:
 * none): zero-padded copies of A and B so whole register tiles cover ragged
 * edges, and row pitches that avoid cache-set aliasing. */
size_t ds_gemm_workspace(const ds_runtime *rt, unsigned m, unsigned n, unsigned k, unsigned lda_m,
                         unsigned lda_k, unsigned ldb);

/* A K longer than the vendor profile's gemm_k_block runs as launches over
 * blocks of K, each adding to C (bias and activation with the last). */
ds_status ds_gemm(ds_runtime *rt, const ds_gemm_args *g, ds_error *err);

/* The same on host arrays; offsets apply to the given pointers. */
void ds_gemm_reference(const float *a, const float *b, float *c, const float *bias,
                       const ds_gemm_args *g);

#endif
