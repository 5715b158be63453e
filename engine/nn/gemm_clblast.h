/* CLBlast's SGEMM as a GEMM variant (DS_GEMM_CLBLAST): the tuner measures
 * it per shape beside the engine's own kernels, so a GPU that CLBlast's
 * database knows gets its tuned kernels when they win. */
#ifndef DS_ENGINE_NN_GEMM_CLBLAST_H
#define DS_ENGINE_NN_GEMM_CLBLAST_H

#include "engine/nn/gemm.h"

/* Whether CLBlast can run g's product: A row-major (lda_k == 1) or
 * transposed (lda_m == 1); other strides it cannot express. */
int ds_gemm_clblast_applies(const ds_gemm_args *g);

/* C = A . B (+ C) through CLBlastSgemm (row-major), then bias and
 * activation (gemm_bias_act). */
ds_status ds_gemm_clblast_run(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                              cl_uint flags, ds_error *err);

#endif
