/* dsengine devices --check for GEMM: every variant the tuner may pick on a
 * device, built and run once against the C reference. */
#ifndef DS_ENGINE_NN_GEMM_CHECK_H
#define DS_ENGINE_NN_GEMM_CHECK_H

#include "engine/nn/gemm.h"

typedef struct ds_gemm_check_result {
  int checked;                       /* variants that built and matched the reference */
  int unfit;                         /* variants the device cannot run (a work-group too large
                                      * for the compiled kernel): the tuner skips them */
  char unfit_note[DS_ERROR_MSG_MAX]; /* the last of those, why */
} ds_gemm_check_result;

/* Builds every candidate of ds_gemm_variants on rt's device and runs two
 * small ragged products with each (A row-major with workspace; A transposed
 * with accumulation, bias and LeakyReLU), comparing with ds_gemm_reference.
 * A build failure or a wrong result is an error naming the variant. */
ds_status ds_gemm_check_variants(ds_runtime *rt, ds_gemm_check_result *out, ds_error *err);

#endif
