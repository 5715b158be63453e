/* CLBlast as a GEMM variant with each of its Xgemm parameter sets (the
 * database's, then every preset through CLBlastOverrideParameters) against
 * the C reference, and the search that picks a set: a product large enough
 * for CLBlast's indirect kernel, A row-major and transposed, accumulation,
 * bias and activation. */
#include <string.h>

#include "check.h"
#include "engine/nn/gemm.h"
#include "engine/nn/gemm_clblast.h"
#include "host/profile.h"
#include "nn_util.h"

static ds_runtime *rt;
static ds_error err;

static void product(unsigned m, unsigned n, unsigned k, int trans, int set) {
  const size_t na = (size_t)m * k + 2, nb = (size_t)k * n, nc = (size_t)m * n;
  float *a = rand_array(na), *b = rand_array(nb), *c = rand_array(nc), *bias = rand_array(n);
  ds_gemm_args g = {.a_off = 2,
                    .lda_m = trans ? 1 : k,
                    .lda_k = trans ? m : 1,
                    .ldb = n,
                    .ldc = n,
                    .m = m,
                    .n = n,
                    .k = k,
                    .accumulate = trans,
                    .act = trans ? DS_ACT_LRELU : DS_ACT_NONE};
  cl_mem da = upload(rt, a, na), db = upload(rt, b, nb), dc = upload(rt, c, nc),
         dbias = upload(rt, bias, n);
  g.a = da, g.b = db, g.c = dc, g.bias = trans ? dbias : NULL;
  const ds_gemm_variant v = {DS_GEMM_CLBLAST, 0, 0, 0, {0, 0}, DS_GEMM_K_ANY, 0};
  CHECK_OK(ds_gemm_with(rt, &v, &g, &err), &err);
  float *got = download(rt, dc, nc);
  ds_gemm_reference(a, b, c, trans ? bias : NULL, &g);
  const double e = rel_err(got, c, nc);
  CHECK(e < 2e-5, "CLBlast set %d, %ux%ux%u trans %d: rel err %.3g", set, m, n, k, trans, e);
  ds_buffer_release(&da);
  ds_buffer_release(&db);
  ds_buffer_release(&dc);
  ds_buffer_release(&dbias);
  free(a), free(b), free(c), free(bias), free(got);
}

int main(void) {
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", DS_RUNTIME_PROFILING,
                           &err),
           &err);
  if (!rt) return check_summary("clblast");
  const int sets = ds_gemm_clblast_set_count();
  CHECK(sets >= 3, "%d CLBlast parameter sets", sets);
  /* the database's set, which cannot come back after an override */
  CHECK(ds_gemm_clblast_active_set(rt) == 0, "set %d active at the start",
        ds_gemm_clblast_active_set(rt));
  product(517, 259, 300, 0, 0);
  product(517, 259, 300, 1, 0);
  /* the search: every set timed, its sums checked (gflops > 0: right), one
   * wins; the last set tried stays active */
  double gflops[16] = {0};
  int best = -1;
  CHECK_OK(ds_gemm_clblast_search(rt, 512, &best, gflops, &err), &err);
  CHECK(best >= 0 && best < sets && gflops[best] > 0, "search picked set %d", best);
  for (int set = 0; set < sets; set++)
    CHECK(gflops[set] > 0, "set %d was not timed or summed wrong", set);
  CHECK(ds_gemm_clblast_active_set(rt) == sets - 1, "set %d active after the search",
        ds_gemm_clblast_active_set(rt));
  product(517, 259, 300, 0, sets - 1);
  product(517, 259, 300, 1, sets - 1);
  ds_error e = {0};
  CHECK(ds_gemm_clblast_use_set(rt, 0, &e) == DS_ERR_INVALID,
        "the database's set came back after an override");
  ds_error_clear(&e);
  /* --profile sees CLBlast's launches (its last kernel's event) */
  ds_kernel_time *times = NULL;
  int kinds = 0, library = 0;
  CHECK_OK(ds_profile_take(rt, &times, &kinds, &err), &err);
  for (int i = 0; i < kinds; i++)
    if (!strcmp(times[i].name, "(library)")) library += (int)times[i].launches;
  CHECK(library > 0, "no CLBlast launch in the profile (%d kernels listed)", kinds);
  free(times);
  ds_runtime_destroy(rt);
  return check_summary("clblast");
}
