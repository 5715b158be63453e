#include "engine/bench/peak.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bench/bench_util.h"
#include "host/buffer.h"
#include "host/program.h"

/* Chain constants: a < 1 makes every chain converge to b / (1 - a) = 1, so
 * no value overflows or turns subnormal however long the loop. */
static const float CHAIN_A = 0.9990234375f; /* 1 - 2^-10 */
static const float CHAIN_B = 0.0009765625f; /* 2^-10 */
enum { FULL_ITEMS = 4, CHECK_ITERS = 1000 };

float ds_bench_peak_chain_reference(unsigned g, unsigned j, unsigned l, unsigned nacc,
                                    unsigned iters, float a, float b) {
  const float base = (float)((g * nacc + j) % 1024u) * (1.0f / 1024.0f);
  float x = base + (float)l * (1.0f / 64.0f);
  for (unsigned i = 0; i < iters; i++)
    x = fmaf(x, a, b);
  return x;
}

typedef struct fma_launch {
  cl_kernel k;
  cl_mem sums, full;
  unsigned items, local;
} fma_launch;

static ds_status run_fma(ds_runtime *rt, const fma_launch *f, unsigned iters, unsigned full_items,
                         double *seconds, ds_error *err) {
  const float a = CHAIN_A, b = CHAIN_B;
  ds_status st = ds_kernel_arg(f->k, 0, sizeof(cl_mem), &f->sums, err);
  if (st == DS_OK) st = ds_kernel_arg(f->k, 1, sizeof(cl_mem), &f->full, err);
  if (st == DS_OK) st = ds_kernel_arg(f->k, 2, sizeof iters, &iters, err);
  if (st == DS_OK) st = ds_kernel_arg(f->k, 3, sizeof a, &a, err);
  if (st == DS_OK) st = ds_kernel_arg(f->k, 4, sizeof b, &b, err);
  if (st == DS_OK) st = ds_kernel_arg(f->k, 5, sizeof f->items, &f->items, err);
  if (st == DS_OK) st = ds_kernel_arg(f->k, 6, sizeof full_items, &full_items, err);
  if (st == DS_OK) st = ds_runtime_finish(rt, err);
  if (st != DS_OK) return st;
  const size_t global = f->items, local = f->local;
  const double t0 = ds_bench_now();
  st = ds_kernel_launch(rt, f->k, 1, &global, &local, err);
  if (st == DS_OK) st = ds_runtime_finish(rt, err);
  *seconds = ds_bench_now() - t0;
  return st;
}

/* One launch of CHECK_ITERS steps, compared with the host: every lane of the
 * first FULL_ITEMS work-items, and the sums of those and of the last one. */
static ds_status check_fma(ds_runtime *rt, const fma_launch *f, unsigned vw, unsigned nacc,
                           double *rel, int *exact, ds_error *err) {
  double t;
  ds_status st = run_fma(rt, f, CHECK_ITERS, FULL_ITEMS, &t, err);
  const size_t nfull = (size_t)FULL_ITEMS * nacc * vw;
  float *full = malloc(nfull * sizeof *full), *sums = malloc((size_t)f->items * sizeof *sums);
  if (!full || !sums) st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory in bench/peak");
  if (st == DS_OK) st = ds_buffer_read(rt, f->full, 0, nfull * sizeof *full, full, err);
  if (st == DS_OK) st = ds_buffer_read(rt, f->sums, 0, (size_t)f->items * sizeof *sums, sums, err);
  *rel = 0;
  *exact = 1;
  for (unsigned g = 0; st == DS_OK && g <= FULL_ITEMS; g++) {
    const unsigned item = g < FULL_ITEMS ? g : f->items - 1;
    double sum = 0;
    float vsum[16] = {0};
    for (unsigned j = 0; j < nacc; j++)
      for (unsigned l = 0; l < vw; l++) {
        float want = ds_bench_peak_chain_reference(item, j, l, nacc, CHECK_ITERS, CHAIN_A, CHAIN_B);
        vsum[l] += want;
        if (g == FULL_ITEMS) continue;
        float got = full[((size_t)g * nacc + j) * vw + l];
        double d = fabs((double)got - want) / fabs((double)want);
        if (got != want) *exact = 0;
        if (!(d <= *rel)) *rel = d; /* NaN counts as the worst */
      }
    for (unsigned l = 0; l < vw; l++)
      sum += vsum[l];
    /* the sum runs in another order on the host, so it is compared loosely */
    double d = fabs(sums[item] - sum) / fabs(sum);
    if (!(d <= *rel)) *rel = d;
  }
  free(full);
  free(sums);
  if (st == DS_OK && !(*rel <= 1e-5))
    st = ds_error_set(err, DS_ERR_INVALID,
                      "bench/peak fma_peak (float%u x %u chains) on %s differs from the host's "
                      "fmaf by %.3g relative; the peak it measures cannot be trusted",
                      vw, nacc, rt->device.name, *rel);
  return st;
}

static ds_status measure_fma(ds_runtime *rt, unsigned vw, unsigned nacc, int reps, double target_s,
                             ds_bench_peak *p, double *gflops, ds_error *err) {
  char opts[64];
  snprintf(opts, sizeof opts, "-DPEAK_VW=%u -DPEAK_NACC=%u", vw, nacc);
  fma_launch f = {NULL, NULL, NULL, p->items, p->local};
  ds_status st = ds_kernel_get(rt, "bench/peak", opts, "fma_peak", &f.k, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, (size_t)f.items * sizeof(float), CL_MEM_READ_WRITE, "bench/peak sums",
                          &f.sums, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, (size_t)FULL_ITEMS * nacc * vw * sizeof(float), CL_MEM_READ_WRITE,
                          "bench/peak chains", &f.full, err);
  double rel = 0;
  int exact = 1;
  if (st == DS_OK) st = check_fma(rt, &f, vw, nacc, &rel, &exact, err);
  if (rel > p->check_rel_err) p->check_rel_err = rel;
  if (!exact) p->bit_exact = 0;

  /* calibrate the loop length to about target_s per launch */
  unsigned iters = 256;
  double t = 0;
  for (int tries = 0; st == DS_OK && tries < 8; tries++) {
    st = run_fma(rt, &f, iters, 0, &t, err);
    if (st != DS_OK || t >= 0.2 * target_s) break;
    iters = iters >= (1u << 26) ? iters : iters * 8;
  }
  if (st == DS_OK && t > 0) {
    double want = iters * target_s / t;
    iters = want > (double)(1u << 30) ? (1u << 30) : want < 16 ? 16 : (unsigned)want;
  }
  double best = INFINITY;
  for (int r = 0; st == DS_OK && r < reps; r++) {
    st = run_fma(rt, &f, iters, 0, &t, err);
    if (t < best) best = t;
  }
  *gflops = st == DS_OK ? 2.0 * nacc * vw * (double)iters * f.items / best * 1e-9 : 0;
  ds_buffer_release(&f.sums);
  ds_buffer_release(&f.full);
  return st;
}

static ds_status measure_copy(ds_runtime *rt, int reps, ds_bench_peak *p, ds_error *err) {
  const int gpu = rt->device.kind != DS_KIND_CPU;
  size_t bytes = (size_t)(gpu ? 256 : 64) << 20;
  if (rt->device.max_alloc_bytes && bytes > rt->device.max_alloc_bytes)
    bytes = (size_t)rt->device.max_alloc_bytes;
  if (rt->device.global_mem_bytes && bytes > rt->device.global_mem_bytes / 4)
    bytes = (size_t)(rt->device.global_mem_bytes / 4);
  bytes = bytes / 16 * 16;
  const unsigned n4 = (unsigned)(bytes / 16);
  p->copy_mib = (double)bytes / (1 << 20);
  cl_kernel k = NULL;
  cl_mem src = NULL, dst = NULL;
  float *host = malloc(bytes), *back = malloc(bytes);
  ds_status st = host && back
                     ? DS_OK
                     : ds_error_set(err, DS_ERR_NO_MEMORY,
                                    "out of host memory for the %zu-byte copy test", bytes);
  if (st == DS_OK) st = ds_kernel_get(rt, "bench/peak", NULL, "copy_f4", &k, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, bytes, CL_MEM_READ_WRITE, "bench/peak copy source", &src, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, bytes, CL_MEM_READ_WRITE, "bench/peak copy target", &dst, err);
  for (size_t i = 0; st == DS_OK && i < bytes / 4; i++)
    host[i] = (float)(i % 4093);
  if (st == DS_OK) st = ds_buffer_write(rt, src, 0, bytes, host, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof dst, &dst, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof src, &src, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 2, sizeof n4, &n4, err);
  const size_t global = n4, local = rt->profile->elementwise_local_size;
  double best = INFINITY;
  for (int r = 0; st == DS_OK && r <= reps; r++) { /* r = 0 warms up and builds */
    const double t0 = ds_bench_now();
    st = ds_kernel_launch(rt, k, 1, &global, &local, err);
    if (st == DS_OK) st = ds_runtime_finish(rt, err);
    const double t = ds_bench_now() - t0;
    if (r > 0 && t < best) best = t;
  }
  if (st == DS_OK) st = ds_buffer_read(rt, dst, 0, bytes, back, err);
  if (st == DS_OK && memcmp(host, back, bytes) != 0)
    st = ds_error_set(err, DS_ERR_INVALID, "bench/peak copy_f4 on %s copied %zu bytes wrongly",
                      rt->device.name, bytes);
  p->copy_gbs = st == DS_OK ? 2.0 * (double)bytes / best * 1e-9 : 0;
  ds_buffer_release(&src);
  ds_buffer_release(&dst);
  free(host);
  free(back);
  return st;
}

ds_status ds_bench_peak_measure(ds_runtime *rt, int reps, double seconds_per_rep,
                                ds_bench_peak *out, ds_error *err) {
  ds_bench_peak *p = out;
  memset(p, 0, sizeof *p);
  p->bit_exact = 1;
  const unsigned cus = rt->device.compute_units ? rt->device.compute_units : 1;
  if (rt->device.kind == DS_KIND_CPU) {
    /* PoCL runs one work-group per thread: several single work-item groups
     * per core keep every core busy to the end */
    p->local = 1;
    p->items = cus * 8;
  } else {
    p->local = rt->profile->elementwise_local_size;
    p->items = cus * 2048;
  }
  /* float16 fills an AVX-512 register; 12 chains cover 2 FMA pipes x 4
   * cycles of latency (Zen 5) with room to spare, and measured 3 % above 8.
   * float4 suits GPUs, which run each lane as a scalar and may spill the
   * 192 floats of 12 float16 chains. */
  const unsigned vw[DS_BENCH_PEAK_VARIANTS] = {16, 4}, nacc[DS_BENCH_PEAK_VARIANTS] = {12, 12};
  ds_status st = DS_OK;
  for (int v = 0; st == DS_OK && v < DS_BENCH_PEAK_VARIANTS; v++) {
    p->vw[v] = vw[v];
    p->nacc[v] = nacc[v];
    st = measure_fma(rt, vw[v], nacc[v], reps, seconds_per_rep, p, &p->variant_gflops[v], err);
    if (p->variant_gflops[v] > p->gflops) p->gflops = p->variant_gflops[v];
  }
  if (st == DS_OK) st = measure_copy(rt, reps, p, err);
  return st;
}

void ds_bench_peak_print(FILE *out, const ds_bench_peak *p) {
  fprintf(out, "peak: %.1f GFLOP/s FMA (", p->gflops);
  for (int v = 0; v < DS_BENCH_PEAK_VARIANTS; v++)
    fprintf(out, "%sfloat%u x %u chains %.1f", v ? ", " : "", p->vw[v], p->nacc[v],
            p->variant_gflops[v]);
  fprintf(out, "; %u work-items, local %u), copy %.1f GB/s (%.0f MiB); check vs fmaf: %s\n",
          p->items, p->local, p->copy_gbs, p->copy_mib,
          p->bit_exact ? "bit-exact" : "within 1e-5, not bit-exact");
}
