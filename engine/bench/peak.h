/* The device's measured ceilings (cl/bench/peak.cl), which every benchmark
 * divides by: the fused multiply-add rate in GFLOP/s (1 FMA = 2 FLOPs) and
 * the copy bandwidth in GB/s (bytes read + bytes written). */
#ifndef DS_ENGINE_BENCH_PEAK_H
#define DS_ENGINE_BENCH_PEAK_H

#include <stdio.h>

#include "host/runtime.h"

enum { DS_BENCH_PEAK_VARIANTS = 2 };

typedef struct ds_bench_peak {
  double gflops; /* the best variant: the peak other benchmarks divide by */
  /* per variant: vector width, chains per work-item, rate */
  unsigned vw[DS_BENCH_PEAK_VARIANTS], nacc[DS_BENCH_PEAK_VARIANTS];
  double variant_gflops[DS_BENCH_PEAK_VARIANTS];
  unsigned items, local; /* work-items and local size of the FMA launches */
  double copy_gbs;
  double copy_mib; /* size of each copy buffer */
  /* check of the FMA kernel against fmaf replayed on the host: the largest
   * relative difference over the checked chains, and whether all matched to
   * the bit (they do when the device fuses the multiply-add as fmaf does) */
  double check_rel_err;
  int bit_exact;
} ds_bench_peak;

/* Measures both variants and the copy, each the best of reps launches of
 * about seconds_per_rep, after a check launch compared with the host. A
 * kernel whose result differs from the host's by more than 1e-5 relative is
 * DS_ERR_INVALID naming the variant. */
ds_status ds_bench_peak_measure(ds_runtime *rt, int reps, double seconds_per_rep,
                                ds_bench_peak *out, ds_error *err);

void ds_bench_peak_print(FILE *out, const ds_bench_peak *p);

/* Lane l of chain j of work-item g after iters steps x = fmaf(x, a, b) (the
 * start value as cl/bench/peak.cl computes it). */
float ds_bench_peak_chain_reference(unsigned g, unsigned j, unsigned l, unsigned nacc,
                                    unsigned iters, float a, float b);

#endif
