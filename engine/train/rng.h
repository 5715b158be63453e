/* The engine's random numbers: PCG32 (M. E. O'Neill, "PCG: A Family of Simple
 * Fast Space-Efficient Statistically Good Algorithms for Random Number
 * Generation", 2014; the pcg32 member: a 64-bit LCG whose state is output
 * through XSH RR, xorshift-high then a random rotation, 32 bits per step).
 *
 * The struct is the whole state: no cached Gaussian spare, so a checkpoint
 * that saves it as-is resumes the exact sequence. */
#ifndef DS_ENGINE_TRAIN_RNG_H
#define DS_ENGINE_TRAIN_RNG_H

#include <stdint.h>

typedef struct ds_rng {
  uint64_t state; /* LCG state */
  uint64_t inc;   /* LCG increment, always odd: selects one of 2^63 streams */
} ds_rng;

/* Seeds as pcg32_srandom_r(seed, stream) does: two generators with the same
 * seed and different streams give unrelated sequences. seed 42, stream 54
 * starts 0xa15c02b7, 0x7b47f409, 0xba1d3330 (the reference demo's values). */
void ds_rng_seed(ds_rng *rng, uint64_t seed, uint64_t stream);

/* The next 32 random bits. */
uint32_t ds_rng_u32(ds_rng *rng);

/* Uniform in [0, 1) with 53 random bits, built from two outputs as
 * NumPy's random_sample builds it: ((a >> 5) * 2^26 + (b >> 6)) / 2^53. */
double ds_rng_uniform(ds_rng *rng);

/* Uniform in [lo, hi): lo + (hi - lo) * ds_rng_uniform, as numpy.random.uniform. */
double ds_rng_range(ds_rng *rng, double lo, double hi);

/* Standard normal by Box-Muller, cos branch only (the sine spare is dropped
 * so the state stays two words): two uniforms, four outputs per draw. */
double ds_rng_normal(ds_rng *rng);

/* Uniform integer in [0, n) without modulo bias: outputs below 2^32 mod n
 * are rejected, so every residue has the same number of preimages. n > 0. */
uint32_t ds_rng_below(ds_rng *rng, uint32_t n);

#endif
