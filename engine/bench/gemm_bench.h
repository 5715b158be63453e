/* GFLOP/s of ds_gemm (engine/nn/gemm.h) on one shape, each result checked
 * against a double-precision dot product on the host. */
#ifndef DS_ENGINE_BENCH_GEMM_BENCH_H
#define DS_ENGINE_BENCH_GEMM_BENCH_H

#include "engine/bench/bench_util.h"
#include "host/runtime.h"

typedef struct ds_bench_gemm {
  unsigned m, n, k;
  int trans_a;          /* A stored K x M, as a backward-filter pass reads its patches */
  ds_bench_stats times; /* seconds per call, copies of A or B included */
  double gflop;         /* 2 m n k / 1e9 */
  double max_err;       /* the largest |c - ref| / sum |a b| over the checked entries */
} ds_bench_gemm;

enum { DS_BENCH_GEMM_CHECKS = 256 };
#define DS_BENCH_GEMM_TOLERANCE 1e-5

/* Parses "1024" (a cube) or "MxNxK", with a trailing "t" for a transposed
 * A, comma-separated, into up to cap shapes {m, n, k, trans}; returns the
 * count, or 0 on a malformed list. */
int ds_bench_gemm_parse(const char *list, unsigned (*shapes)[4], int cap);

/* A (M x K, or K x M transposed) and B (K x N) in U[-1, 1), one untimed
 * call (kernel builds), then reps calls each drained with clFinish; checks
 * DS_BENCH_GEMM_CHECKS random entries of C. A result off by more than
 * DS_BENCH_GEMM_TOLERANCE is DS_ERR_INVALID naming the shape. */
ds_status ds_bench_gemm_run(ds_runtime *rt, unsigned m, unsigned n, unsigned k, int trans_a,
                            int reps, ds_bench_gemm *out, ds_error *err);

#endif
