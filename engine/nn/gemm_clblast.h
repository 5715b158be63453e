/* CLBlast's SGEMM as a GEMM variant (DS_GEMM_CLBLAST): the tuner measures
 * it per shape beside the engine's own kernels, so a GPU that CLBlast's
 * database knows gets its tuned kernels when they win. */
#ifndef DS_ENGINE_NN_GEMM_CLBLAST_H
#define DS_ENGINE_NN_GEMM_CLBLAST_H

#include "engine/nn/gemm.h"

/* Whether CLBlast can run g's product: A row-major (lda_k == 1) or
 * transposed (lda_m == 1); other strides it cannot express. */
int ds_gemm_clblast_applies(const ds_gemm_args *g);

/* CLBlast's Xgemm parameters: set 0 is its database's for the device, sets
 * 1 .. count - 1 presets applied with CLBlastOverrideParameters. CLBlast
 * holds them per device for the whole process, and the database's set
 * cannot return once a preset was applied. On a GPU with tuning on, the
 * first CLBlast product measures every set on 1024^3 and stores the winner
 * in the tuning file ("clblast xgemm set"), which later runs apply. */
int ds_gemm_clblast_set_count(void);
ds_status ds_gemm_clblast_use_set(ds_runtime *rt, int set, ds_error *err);
int ds_gemm_clblast_active_set(const ds_runtime *rt);
/* Times each set still reachable on an n^3 product: gflops[set] (0: not
 * run, refused or wrong: results are checked), *best the fastest (-1: none
 * ran). Leaves the last set tried active. */
ds_status ds_gemm_clblast_search(ds_runtime *rt, unsigned n, int *best, double *gflops,
                                 ds_error *err);

/* C = A . B (+ C) through CLBlastSgemm (row-major), then bias and
 * activation (gemm_bias_act). */
ds_status ds_gemm_clblast_run(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                              cl_uint flags, ds_error *err);

#endif
