// Device ceilings for bench/: the fused multiply-add rate and the copy bandwidth.
//
// fma_peak: every work-item runs PEAK_NACC independent chains x = fma(x, a, b) in vectors of
// PEAK_VW floats. Independent chains hide the FMA latency: AVX-512 issues one zmm FMA per cycle
// per pipe (2 pipes on Zen 5) with a latency of 4, so at least 8 chains; GPUs also interleave
// work-items. With 0 < a < 1 every chain converges to b / (1 - a), so values stay normal and
// bounded for any iteration count. Work-items below `full_items` store every lane of every
// chain, so the host can replay the same chains with C's fmaf and compare; every work-item
// stores the sum, so no chain is dead code.
#ifndef PEAK_VW
#define PEAK_VW 16
#endif
#ifndef PEAK_NACC
#define PEAK_NACC 12
#endif
#if PEAK_NACC != 4 && PEAK_NACC != 8 && PEAK_NACC != 12
#error "PEAK_NACC must be 4, 8 or 12"
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define vec CAT(float, PEAK_VW)
#define vload_vec CAT(vload, PEAK_VW)
#define vstore_vec CAT(vstore, PEAK_VW)

constant float lane_index[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// The starting value of lane l of chain j of work-item g; bench/peak.c computes the same.
inline vec chain_start(uint g, uint j) {
  const float base = (float)((g * PEAK_NACC + j) % 1024u) * (1.0f / 1024.0f);
  return (vec)(base) + vload_vec(0, lane_index) * (1.0f / 64.0f);
}

#define CHAIN_STEP(j) x[j] = fma(x[j], va, vb);

kernel void fma_peak(global float *restrict sums, global float *restrict full, const uint iters,
                     const float a, const float b, const uint items, const uint full_items) {
  const uint g = get_global_id(0);
  if (g >= items) return;
  vec x[PEAK_NACC];
  for (uint j = 0; j < PEAK_NACC; j++)
    x[j] = chain_start(g, j);
  const vec va = (vec)(a), vb = (vec)(b);
  for (uint i = 0; i < iters; i++) {
    CHAIN_STEP(0) CHAIN_STEP(1) CHAIN_STEP(2) CHAIN_STEP(3)
#if PEAK_NACC > 4
    CHAIN_STEP(4) CHAIN_STEP(5) CHAIN_STEP(6) CHAIN_STEP(7)
#endif
#if PEAK_NACC > 8
    CHAIN_STEP(8) CHAIN_STEP(9) CHAIN_STEP(10) CHAIN_STEP(11)
#endif
  }
  vec s = x[0];
  for (uint j = 1; j < PEAK_NACC; j++)
    s += x[j];
  float total = 0.0f;
  float lanes[PEAK_VW];
  vstore_vec(s, 0, lanes);
  for (uint l = 0; l < PEAK_VW; l++)
    total += lanes[l];
  sums[g] = total;
  if (g < full_items)
    for (uint j = 0; j < PEAK_NACC; j++)
      vstore_vec(x[j], g * PEAK_NACC + j, full);
}

// dst[i] = src[i] for i < n float4s: one read and one write stream.
kernel void copy_f4(global float4 *restrict dst, global const float4 *restrict src, const uint n) {
  const uint i = get_global_id(0);
  if (i < n) dst[i] = src[i];
}
