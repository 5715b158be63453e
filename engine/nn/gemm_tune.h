/* Which GEMM variant runs a shape (engine/nn/gemm.h): measured once per
 * (device, shape) and remembered in the tuning file beside the program
 * cache (host/tune_cache.h).
 *
 * A shape is its m, n, k, strides, whether it accumulates and whether a
 * workspace came with it. On the first product of a shape with tuning on
 * (rt->tune) and at least DS_GEMM_TUNE_MIN_FLOP FLOPs, each candidate of
 * ds_gemm_variants runs once on a small product (kernel builds and PoCL's
 * per-launch-shape compiles, untimed), then once timed on the real operands
 * into a scratch C; the two fastest run again and the best time wins. The
 * real C is never written while measuring. Smaller products, and every
 * product with tuning off, run the default variant. Each measured shape is
 * told to rt->tune_note (the first also says what tuning is). */
#ifndef DS_ENGINE_NN_GEMM_TUNE_H
#define DS_ENGINE_NN_GEMM_TUNE_H

#include "engine/nn/gemm.h"

#define DS_GEMM_TUNE_MIN_FLOP 1e8

/* The variant for g's shape: from the tuning file, else measured now (and
 * stored), else the default. Measuring drains the queue first. */
ds_status ds_gemm_pick(ds_runtime *rt, const ds_gemm_args *g, ds_gemm_variant *v, ds_error *err);

/* The key a shape is stored under ("gemm tag m n k lda_m lda_k ldb acc
 * ws"), tag a hash of the GEMM kernels' sources: a changed kernel is
 * measured again. */
void ds_gemm_tune_key(const ds_runtime *rt, const ds_gemm_args *g, char *key, size_t cap);

/* Whether the tuner measures v for g: CLBlast only for the strides it can
 * express, split-K variants only where they split. */
int ds_gemm_variant_applies(const ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g);

#endif
