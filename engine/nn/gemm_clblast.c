/* GEMM through CLBlast (CLBlastSgemm), with the engine's epilogue after it. */
#include "engine/nn/gemm_clblast.h"

#include <clblast_c.h>

#include "engine/nn/gemm_gpu.h"

int ds_gemm_clblast_applies(const ds_gemm_args *g) { return g->lda_k == 1 || g->lda_m == 1; }

ds_status ds_gemm_clblast_run(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                              cl_uint flags, ds_error *err) {
  (void)v;
  if (!ds_gemm_clblast_applies(g))
    return ds_error_set(err, DS_ERR_INVALID,
                        "CLBlast cannot read A with strides %u and %u (neither is 1); the tuner "
                        "picks another variant",
                        g->lda_m, g->lda_k);
  /* A row-major: lda = lda_m; transposed: A^T is row-major with lda_k */
  const int trans = g->lda_k != 1;
  const size_t lda = trans ? g->lda_k : g->lda_m;
  const float beta = g->accumulate ? 1.0f : 0.0f;
  cl_command_queue q = rt->queue;
  CLBlastStatusCode rc =
      CLBlastSgemm(CLBlastLayoutRowMajor, trans ? CLBlastTransposeYes : CLBlastTransposeNo,
                   CLBlastTransposeNo, g->m, g->n, g->k, 1.0f, g->a, g->a_off, lda ? lda : 1, g->b,
                   g->b_off, g->ldb, beta, g->c, g->c_off, g->ldc, &q, NULL);
  if (rc != CLBlastSuccess)
    return ds_error_set(err, rc == CLBlastTempBufferAllocFailure ? DS_ERR_NO_MEMORY : DS_ERR_OPENCL,
                        "CLBlastSgemm %ux%ux%u failed on %s (CLBlast status %d); the tuner picks "
                        "another variant",
                        g->m, g->n, g->k, rt->device.name, (int)rc);
  if (!g->bias && !(flags >> 2)) return DS_OK;
  return ds_gemm_bias_act(rt, g, flags, err);
}
