/* The GPU GEMM variants (gemm_gpu with and without split K, CLBlast) on this
 * device, whatever its vendor profile, against the C reference: ragged and
 * aligned shapes, A row-major, transposed and through other strides, float4
 * and scalar loads, accumulation, bias and activation. With --small only the
 * shapes Oclgrind runs in reasonable time. */
#include <string.h>

#include "check.h"
#include "engine/nn/gemm.h"
#include "engine/nn/gemm_clblast.h"
#include "engine/nn/gemm_gpu.h"
#include "nn_util.h"

static ds_runtime *rt;
static ds_error err;

enum { ROW_MAJOR, TRANSPOSED, STRIDED };

/* One product with v; layout of A, offsets (aligned to 4 floats or not),
 * the epilogue and workspace vary with mode. Returns 0 when v refused it
 * (CLBlast and strided A), else 1. */
static int run_case(const ds_gemm_variant *v, unsigned m, unsigned n, unsigned k, int layout,
                    int mode, size_t ws_floats) {
  const int odd = mode & 1; /* unaligned offsets, accumulate, bias, act */
  const size_t a_off = odd ? 3 : 4, b_off = odd ? 1 : 0, c_off = odd ? 5 : 0;
  unsigned lda_m, lda_k;
  size_t a_span;
  /* even modes: pitches and offsets in whole float4s (the vector loads) */
  const unsigned k4 = (k + 3) / 4 * 4, m4 = (m + 3) / 4 * 4, n4 = (n + 3) / 4 * 4;
  if (layout == ROW_MAJOR)
    lda_m = odd ? k : k4 + 4, lda_k = 1, a_span = (size_t)m * lda_m;
  else if (layout == TRANSPOSED)
    lda_m = 1, lda_k = odd ? m + 1 : m4, a_span = (size_t)k * lda_k;
  else
    lda_m = 2 * k, lda_k = 2, a_span = (size_t)m * lda_m;
  const unsigned ldb = odd ? n : n4 + 4, ldc = n + 2;
  const size_t na = a_off + a_span, nb = b_off + (size_t)k * ldb, nc = c_off + (size_t)m * ldc;
  float *a = rand_array(na), *b = rand_array(nb), *c = rand_array(nc), *bias = rand_array(n + 2);
  ds_gemm_args g = {.a_off = a_off,
                    .lda_m = lda_m,
                    .lda_k = lda_k,
                    .b_off = b_off,
                    .ldb = ldb,
                    .c_off = c_off,
                    .ldc = ldc,
                    .bias_off = 2,
                    .m = m,
                    .n = n,
                    .k = k,
                    .accumulate = odd,
                    .act = odd ? DS_ACT_LRELU : (mode & 2 ? DS_ACT_SIGMOID : DS_ACT_NONE)};
  cl_mem da = upload(rt, a, na), db = upload(rt, b, nb), dc = upload(rt, c, nc),
         dbias = upload(rt, bias, n + 2), ws = NULL;
  g.a = da, g.b = db, g.c = dc, g.bias = odd ? dbias : NULL;
  if (ws_floats) {
    CHECK_OK(ds_buffer_create(rt, ws_floats * 4, CL_MEM_READ_WRITE, "ws", &ws, &err), &err);
    g.ws = ws, g.ws_floats = ws_floats;
  }
  ds_error e = {0};
  const ds_status st = ds_gemm_with(rt, v, &g, &e);
  int ran = 1;
  if (v->kind == DS_GEMM_CLBLAST && layout == STRIDED) {
    CHECK(st != DS_OK, "CLBlast accepted A with strides %u, %u", lda_m, lda_k);
    ran = 0;
  } else {
    CHECK_OK(st, &e);
    float *got = download(rt, dc, nc);
    ds_gemm_reference(a, b, c, odd ? bias : NULL, &g);
    const double rel = rel_err(got, c, nc);
    CHECK(rel < 2e-5,
          "kind %u %ux%u slab %u group %ux%u flags %u on %ux%ux%u layout %d mode %d: rel err %.3g",
          v->kind, v->mr * v->local[1], v->vw * v->local[0], v->nv, v->local[0], v->local[1],
          v->flags, m, n, k, layout, mode, rel);
    free(got);
  }
  ds_error_clear(&e);
  ds_buffer_release(&da);
  ds_buffer_release(&db);
  ds_buffer_release(&dc);
  ds_buffer_release(&dbias);
  ds_buffer_release(&ws);
  free(a), free(b), free(c), free(bias);
  return ran;
}

/* The variants a GPU's tuner measures, on this device. */
static int gpu_variants(ds_gemm_variant *out) {
  ds_runtime gpu = *rt; /* only its profile and device limits are read */
  gpu.profile = ds_vendor_profile_for(DS_VENDOR_NVIDIA);
  ds_gemm_variant all[DS_GEMM_MAX_VARIANTS];
  const int n = ds_gemm_variants(&gpu, all, DS_GEMM_MAX_VARIANTS);
  int count = 0;
  for (int i = 0; i < n; i++)
    if (all[i].kind == DS_GEMM_GPU_TILE || all[i].kind == DS_GEMM_CLBLAST) out[count++] = all[i];
  return count;
}

static void test_variants(int small) {
  ds_gemm_variant v[DS_GEMM_MAX_VARIANTS];
  const int count = gpu_variants(v);
  int tiles = 0, split = 0, blas = 0;
  for (int i = 0; i < count; i++) {
    tiles += v[i].kind == DS_GEMM_GPU_TILE;
    split += (v[i].flags & DS_GEMM_SPLIT_K) != 0;
    blas += v[i].kind == DS_GEMM_CLBLAST;
  }
  /* what this device cannot hold is left out (Oclgrind: 32 KiB of local
   * memory drops the 128 x 128 tiles with slabs of 16) */
  CHECK(tiles >= 4 && split >= 1 && blas == 1,
        "GPU candidates here: %d tiles, %d split, %d CLBlast", tiles, split, blas);
  printf("%d gemm_gpu variants (%d split K) fit %s (%llu bytes of local memory)\n", tiles, split,
         rt->device.name, (unsigned long long)rt->device.local_mem_bytes);
  /* ragged everywhere; whole 64- and 128-tiles with K a multiple of the
   * slab (the float4 path); K shorter than a slab; one element */
  const unsigned shapes[][3] = {{13, 37, 29},   {129, 130, 20}, {128, 128, 48},
                                {70, 130, 100}, {1, 1, 1},      {64, 64, 5},
                                {257, 131, 67}, {300, 3, 75},   {3, 300, 64}};
  /* under Oclgrind: one ragged shape in every layout and mode, and one
   * with whole tiles and a ragged slab, aligned (float4 loads) */
  const size_t nshapes = small ? 2 : sizeof shapes / sizeof shapes[0];
  for (int i = 0; i < count; i++)
    for (size_t s = 0; s < nshapes; s++)
      for (int layout = ROW_MAJOR; layout <= STRIDED; layout++)
        for (int mode = 0; mode < 3; mode++)
          if (!small || s == 0 || (mode == 0 && layout != STRIDED))
            run_case(&v[i], shapes[s][0], shapes[s][1], shapes[s][2], layout, mode, 0);
}

/* Split K as a GPU with 132 compute units would cut it: few tiles and a
 * long K (a dense layer at batch 64), K not a multiple of the slices, and
 * workspace too small for all the slices the device wants. */
static void test_split(int small) {
  ds_gemm_variant v[DS_GEMM_MAX_VARIANTS];
  const int count = gpu_variants(v);
  const unsigned cus = rt->device.compute_units;
  rt->device.compute_units = 132;
  const unsigned shapes[][3] = {{13, 37, 300}, {64, 200, 4000}, {100, 3, 777}};
  const size_t nshapes = small ? 1 : 3;
  int splits_seen = 0;
  for (int i = 0; i < count; i++) {
    if (!(v[i].flags & DS_GEMM_SPLIT_K)) continue;
    for (size_t s = 0; s < nshapes; s++) {
      const unsigned m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
      const size_t ws = ds_gemm_gpu_workspace(rt, &v[i], m, n, k);
      const unsigned want = ds_gemm_gpu_splits(rt, &v[i], m, n, k, ws);
      CHECK(want > 1 && ws >= (size_t)want * m * n,
            "%ux%ux%u: %u slices in %zu floats of workspace", m, n, k, want, ws);
      splits_seen += want > 1;
      for (int mode = 0; mode < 2; mode++) {
        run_case(&v[i], m, n, k, ROW_MAJOR, mode, ws);
        if (!small || mode) run_case(&v[i], m, n, k, TRANSPOSED, mode, ws);
      }
      /* room for 3 slices only: fewer, still right */
      const unsigned three = ds_gemm_gpu_splits(rt, &v[i], m, n, k, (size_t)3 * m * n);
      CHECK(three >= 2 && three <= 3, "%ux%ux%u in 3 slices' room: %u slices", m, n, k, three);
      run_case(&v[i], m, n, k, STRIDED, 1, (size_t)3 * m * n);
    }
  }
  CHECK(splits_seen > 0, "no split-K case ran");
  rt->device.compute_units = cus;
  /* enough tiles for the device: no split, no workspace */
  for (int i = 0; i < count; i++)
    if (v[i].flags & DS_GEMM_SPLIT_K)
      CHECK(ds_gemm_gpu_splits(rt, &v[i], 4096, 4096, 4096, (size_t)-1) == 1 &&
                ds_gemm_gpu_workspace(rt, &v[i], 4096, 4096, 4096) == 0,
            "a 4096^3 product was split");
}

/* What the device cannot hold is not offered; the CPU keeps its list. */
static void test_offer(void) {
  ds_runtime big_gpu = *rt; /* 48 KiB of local memory, groups of 1024: all of them */
  big_gpu.profile = ds_vendor_profile_for(DS_VENDOR_NVIDIA);
  big_gpu.device.local_mem_bytes = 48 * 1024;
  big_gpu.device.max_work_group_size = 1024;
  ds_gemm_variant all[DS_GEMM_MAX_VARIANTS];
  const int total = ds_gemm_variants(&big_gpu, all, DS_GEMM_MAX_VARIANTS);
  int tiles = 0, split = 0, blas = 0;
  for (int i = 0; i < total; i++) {
    tiles += all[i].kind == DS_GEMM_GPU_TILE;
    split += (all[i].flags & DS_GEMM_SPLIT_K) != 0;
    blas += all[i].kind == DS_GEMM_CLBLAST;
  }
  CHECK(tiles == 10 && split == 2 && blas == 1,
        "a large GPU's candidates: %d tiles, %d split, %d "
        "CLBlast",
        tiles, split, blas);
  ds_runtime small_gpu = *rt;
  small_gpu.profile = ds_vendor_profile_for(DS_VENDOR_NVIDIA);
  small_gpu.device.local_mem_bytes = 16 * 1024;
  small_gpu.device.max_work_group_size = 128;
  ds_gemm_variant v[DS_GEMM_MAX_VARIANTS];
  const int n = ds_gemm_variants(&small_gpu, v, DS_GEMM_MAX_VARIANTS);
  for (int i = 0; i < n; i++)
    if (v[i].kind == DS_GEMM_GPU_TILE)
      CHECK(ds_gemm_gpu_fits(&small_gpu, &v[i]) && v[i].local[0] * v[i].local[1] <= 128,
            "a variant of %ux%u work-items offered to a device of 128", v[i].local[0],
            v[i].local[1]);
  if (!rt->profile->local_memory_tiles) {
    const int m = ds_gemm_variants(rt, v, DS_GEMM_MAX_VARIANTS);
    for (int i = 0; i < m; i++)
      CHECK(v[i].kind == DS_GEMM_REGISTER_TILE, "a CPU candidate of kind %u", v[i].kind);
  }
}

int main(int argc, char **argv) {
  const int small = argc > 1 && !strcmp(argv[1], "--small");
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (!rt) return check_summary("gemm_gpu");
  test_offer();
  test_variants(small);
  test_split(small);
  ds_runtime_destroy(rt);
  return check_summary("gemm_gpu");
}
