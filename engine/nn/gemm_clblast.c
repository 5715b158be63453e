/* GEMM through CLBlast (CLBlastSgemm), with the engine's epilogue after it,
 * and the choice of CLBlast's Xgemm parameters for a device. */
#include "engine/nn/gemm_clblast.h"

#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/gemm_gpu.h"
#include "engine/util/report.h"
#include "host/buffer.h"
#include "host/profile.h"
#include "host/tune_cache.h"

/* CLBlast's Xgemm parameters, in its database's order. */
static const char *xgemm_names[16] = {"GEMMK", "KREG",  "KWG",   "KWI", "MDIMA", "MDIMC",
                                      "MWG",   "NDIMB", "NDIMC", "NWG", "SA",    "SB",
                                      "STRM",  "STRN",  "VWM",   "VWN"};
/* The sets tried besides the database's (../shared/reference/gpu-gemm.md,
 * 1.2, from CLBlast's database and a published tuning): 64 x 64 tiles of 4
 * x 8 per thread (RTX 3090 and 5080, AMD's default); 128 x 128 of 16 x 8
 * (an RTX 2070 tuning, 6.8 TFLOP/s at 4096); 128 x 64 with only B in local
 * memory (RTX 4090). A device without a database entry gets its vendor's
 * default, for NVIDIA a 16 x 32 tile. */
static const size_t xgemm_sets[][16] = {
    {0, 1, 32, 2, 16, 16, 64, 8, 8, 64, 1, 1, 0, 0, 4, 4},
    {0, 1, 16, 2, 32, 8, 128, 32, 16, 128, 1, 1, 1, 0, 4, 1},
    {0, 1, 32, 2, 32, 32, 128, 8, 8, 64, 0, 1, 1, 1, 4, 4},
};
enum { PRESETS = sizeof xgemm_sets / sizeof *xgemm_sets, MAX_DEVICES = 16 };

/* CLBlast keeps its parameters per device for the whole process, and once
 * overridden the database's set cannot be had back: so is this table. */
static struct {
  cl_device_id device;
  int active;     /* 0: the database's, else preset active - 1 */
  int overridden; /* a preset was applied in this process */
  int decided;    /* the tuning file or a search chose for this process */
} devices[MAX_DEVICES];
static int device_count;

static int slot(cl_device_id id) {
  for (int i = 0; i < device_count; i++)
    if (devices[i].device == id) return i;
  if (device_count == MAX_DEVICES) return -1;
  devices[device_count].device = id;
  return device_count++;
}

int ds_gemm_clblast_applies(const ds_gemm_args *g) { return g->lda_k == 1 || g->lda_m == 1; }

int ds_gemm_clblast_set_count(void) { return 1 + PRESETS; }

ds_status ds_gemm_clblast_use_set(ds_runtime *rt, int set, ds_error *err) {
  const int s = slot(rt->device.id);
  if (s < 0)
    return ds_error_set(err, DS_ERR_INVALID, "too many devices for CLBlast's parameter table");
  if (set < 0 || set > PRESETS)
    return ds_error_set(err, DS_ERR_INVALID, "CLBlast parameter set %d does not exist (0-%d)", set,
                        PRESETS);
  if (devices[s].active == set) return DS_OK;
  if (set == 0)
    return ds_error_set(err, DS_ERR_INVALID,
                        "CLBlast's database parameters cannot come back on %s once overridden in "
                        "this process; they apply from the next run",
                        rt->device.name);
  CLBlastStatusCode rc = CLBlastOverrideParameters(rt->device.id, "Xgemm", CLBlastPrecisionSingle,
                                                   16, xgemm_names, xgemm_sets[set - 1]);
  /* compiled kernels carry the old parameters: drop them */
  if (rc == CLBlastSuccess) rc = CLBlastClearCache();
  if (rc != CLBlastSuccess)
    return ds_error_set(err, DS_ERR_OPENCL,
                        "CLBlast refused Xgemm parameter set %d on %s (status %d)", set,
                        rt->device.name, (int)rc);
  devices[s].active = set;
  devices[s].overridden = 1;
  return DS_OK;
}

int ds_gemm_clblast_active_set(const ds_runtime *rt) {
  for (int i = 0; i < device_count; i++)
    if (devices[i].device == rt->device.id) return devices[i].active;
  return 0;
}

static ds_status sgemm(ds_runtime *rt, const ds_gemm_args *g, ds_error *err) {
  /* A row-major: lda = lda_m; transposed: A^T is row-major with lda_k */
  const int trans = g->lda_k != 1;
  const size_t lda = trans ? g->lda_k : g->lda_m;
  const float beta = g->accumulate ? 1.0f : 0.0f;
  cl_command_queue q = rt->queue;
  cl_event ev = NULL; /* --profile: the event of CLBlast's last kernel */
  CLBlastStatusCode rc =
      CLBlastSgemm(CLBlastLayoutRowMajor, trans ? CLBlastTransposeYes : CLBlastTransposeNo,
                   CLBlastTransposeNo, g->m, g->n, g->k, 1.0f, g->a, g->a_off, lda ? lda : 1, g->b,
                   g->b_off, g->ldb, beta, g->c, g->c_off, g->ldc, &q, rt->profiling ? &ev : NULL);
  if (ev) ds_profile_record(rt, NULL, ev);
  if (rc != CLBlastSuccess)
    return ds_error_set(err, rc == CLBlastTempBufferAllocFailure ? DS_ERR_NO_MEMORY : DS_ERR_OPENCL,
                        "CLBlastSgemm %ux%ux%u failed on %s (CLBlast status %d); the tuner picks "
                        "another variant",
                        g->m, g->n, g->k, rt->device.name, (int)rc);
  return DS_OK;
}

/* Seconds of the best of two calls of set on an n^3 product of halves (one
 * untimed call first: CLBlast compiles), or -1 when the set failed or got
 * a sum wrong (every entry is n / 4 exactly, whatever the order). */
static double time_set(ds_runtime *rt, int set, const ds_gemm_args *g, ds_error *err) {
  float row[64];
  const size_t cols = g->n < 64 ? g->n : 64;
  if (ds_gemm_clblast_use_set(rt, set, err) != DS_OK || sgemm(rt, g, err) != DS_OK ||
      ds_buffer_read(rt, g->c, 0, cols * sizeof(float), row, err) != DS_OK)
    return -1;
  for (size_t i = 0; i < cols; i++)
    if (row[i] != 0.25f * (float)g->k) return -1;
  double best = -1;
  for (int r = 0; r < 2; r++) {
    const double t0 = ds_now_s();
    if (sgemm(rt, g, err) != DS_OK || ds_runtime_finish(rt, err) != DS_OK) return -1;
    const double t = ds_now_s() - t0;
    if (best < 0 || t < best) best = t;
  }
  return best;
}

ds_status ds_gemm_clblast_search(ds_runtime *rt, unsigned n, int *best, double *gflops,
                                 ds_error *err) {
  const size_t floats = (size_t)n * n;
  cl_mem a = NULL, b = NULL, c = NULL;
  ds_status st = ds_buffer_create(rt, floats * 4, CL_MEM_READ_WRITE, "CLBlast search A", &a, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, floats * 4, CL_MEM_READ_WRITE, "CLBlast search B", &b, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, floats * 4, CL_MEM_READ_WRITE, "CLBlast search C", &c, err);
  const float one = 0.5f;
  cl_mem bufs[3] = {a, b, c};
  for (int i = 0; i < 3 && st == DS_OK; i++)
    if (clEnqueueFillBuffer(rt->queue, bufs[i], &one, sizeof one, 0, floats * 4, 0, NULL, NULL) !=
        CL_SUCCESS)
      st = ds_error_set(err, DS_ERR_OPENCL, "cannot fill the CLBlast search buffers on %s",
                        rt->device.name);
  ds_gemm_args g = {.a = a, .lda_m = n, .lda_k = 1, .b = b, .ldb = n, .c = c, .ldc = n};
  g.m = g.n = g.k = n;
  *best = -1;
  double best_t = -1;
  /* the database's set can only run before any override */
  const int first =
      ds_gemm_clblast_active_set(rt) == 0 && !devices[slot(rt->device.id)].overridden ? 0 : 1;
  for (int set = 0; set <= PRESETS && st == DS_OK; set++) {
    gflops[set] = 0;
    if (set < first) continue;
    ds_error e = {0};
    const double t = time_set(rt, set, &g, &e);
    ds_error_clear(&e); /* a set the device refuses is not a candidate */
    if (t <= 0) continue;
    gflops[set] = 2.0 * n * n * n / t * 1e-9;
    if (best_t < 0 || t < best_t) best_t = t, *best = set;
  }
  ds_buffer_release(&a);
  ds_buffer_release(&b);
  ds_buffer_release(&c);
  return st;
}

/* The parameter set for this process: the tuning file's, else (tuning on,
 * a GPU) a search on a 1024^3 product, stored; else the database's. */
static ds_status prepare(ds_runtime *rt, ds_error *err) {
  const int s = slot(rt->device.id);
  if (s < 0 || devices[s].decided) return DS_OK;
  devices[s].decided = 1;
  const char *key = "clblast xgemm set";
  const char *stored = rt->tune ? ds_tune_get(rt, key) : NULL;
  int set = 0;
  if (stored && sscanf(stored, "%d", &set) == 1 && set >= 0 && set <= PRESETS)
    return set ? ds_gemm_clblast_use_set(rt, set, err) : DS_OK;
  if (!rt->tune || !rt->profile->local_memory_tiles) return DS_OK;
  ds_note(rt->tune_note, rt->tune_note_user,
          "tuning CLBlast on %s: its database's Xgemm parameters against %d preset sets",
          rt->device.name, PRESETS);
  double gflops[1 + PRESETS];
  int best;
  ds_status st = ds_gemm_clblast_search(rt, 1024, &best, gflops, err);
  if (st != DS_OK || best < 0) return st;
  char value[DS_TUNE_VALUE_MAX];
  snprintf(value, sizeof value, "%d %.0f %.0f %.0f %.0f", best, gflops[0], gflops[1], gflops[2],
           gflops[3]);
  ds_tune_put(rt, key, value, NULL);
  ds_note(rt->tune_note, rt->tune_note_user,
          "CLBlast Xgemm on %s: set %d wins (GFLOP/s at 1024^3: database %.0f, presets %.0f %.0f "
          "%.0f)",
          rt->device.name, best, gflops[0], gflops[1], gflops[2], gflops[3]);
  /* the database's won but a preset is active: the best preset serves this
   * run, the database's the next */
  if (best == 0) {
    int pick = 1;
    for (int i = 2; i <= PRESETS; i++)
      if (gflops[i] > gflops[pick]) pick = i;
    return ds_gemm_clblast_use_set(rt, pick, err);
  }
  return ds_gemm_clblast_use_set(rt, best, err);
}

ds_status ds_gemm_clblast_run(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                              cl_uint flags, ds_error *err) {
  (void)v;
  if (!ds_gemm_clblast_applies(g))
    return ds_error_set(err, DS_ERR_INVALID,
                        "CLBlast cannot read A with strides %u and %u (neither is 1); the tuner "
                        "picks another variant",
                        g->lda_m, g->lda_k);
  ds_status st = prepare(rt, err);
  if (st == DS_OK) st = sgemm(rt, g, err);
  /* bias or an activation: CLBlast has no epilogue */
  if (st == DS_OK && (g->bias || g->act != DS_ACT_NONE)) st = ds_gemm_bias_act(rt, g, flags, err);
  return st;
}
