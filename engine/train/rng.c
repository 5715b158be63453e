#include "engine/train/rng.h"

#include <assert.h>
#include <math.h>

/* The LCG multiplier of pcg32 (Knuth's MMIX constant, also O'Neill's default). */
#define PCG32_MULT 6364136223846793005ull

uint32_t ds_rng_u32(ds_rng *rng) {
  uint64_t old = rng->state;
  rng->state = old * PCG32_MULT + rng->inc;
  /* XSH RR: the top 5 bits choose a rotation of bits 27..58 folded with the
   * high half, so the weak low bits of the LCG never reach the output. */
  uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
  uint32_t rot = (uint32_t)(old >> 59);
  return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

void ds_rng_seed(ds_rng *rng, uint64_t seed, uint64_t stream) {
  rng->state = 0;
  rng->inc = (stream << 1) | 1u;
  ds_rng_u32(rng);
  rng->state += seed;
  ds_rng_u32(rng);
}

double ds_rng_uniform(ds_rng *rng) {
  uint32_t a = ds_rng_u32(rng) >> 5, b = ds_rng_u32(rng) >> 6;
  return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

double ds_rng_range(ds_rng *rng, double lo, double hi) {
  return lo + (hi - lo) * ds_rng_uniform(rng);
}

double ds_rng_normal(ds_rng *rng) {
  /* 1 - u lies in (0, 1], so the logarithm is finite. */
  double u1 = 1.0 - ds_rng_uniform(rng);
  double u2 = ds_rng_uniform(rng);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

uint32_t ds_rng_below(ds_rng *rng, uint32_t n) {
  assert(n > 0);
  uint32_t threshold = (uint32_t)(-n) % n; /* 2^32 mod n */
  for (;;) {
    uint32_t r = ds_rng_u32(rng);
    if (r >= threshold) return r % n;
  }
}
