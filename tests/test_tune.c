/* The tuning file (host/tune_cache.h) and the GEMM tuner that fills it
 * (engine/nn/gemm_tune.h): entries survive a new runtime, bad lines are
 * skipped, --retune measures again, and a tuned product is right and never
 * writes the real C while measuring. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "engine/nn/gemm.h"
#include "engine/nn/gemm_tune.h"
#include "host/kernel_sources.h"
#include "host/tune_cache.h"
#include "nn_util.h"

static ds_error err;

static ds_runtime *open_rt(const char *dir) {
  ds_runtime *rt = NULL;
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (rt) snprintf(rt->cache_dir, sizeof rt->cache_dir, "%s", dir);
  return rt;
}

static void test_file(const char *dir) {
  ds_runtime *rt = open_rt(dir);
  if (!rt) return;
  char path[DS_PATH_MAX + 64];
  ds_tune_path(rt, path, sizeof path);
  remove(path);
  CHECK(ds_tune_get(rt, "op 1 2 3") == NULL, "an entry before any was stored");
  int written = 0;
  ds_tune_put(rt, "op 1 2 3", "4 5 6", &written);
  CHECK(written, "the tuning file %s was not written", path);
  ds_tune_put(rt, "op 7", "x", NULL);
  ds_tune_put(rt, "op 1 2 3", "4 5 7", NULL); /* replaces */
  ds_runtime_destroy(rt);

  /* a line the reader cannot use is skipped; the others load */
  FILE *f = fopen(path, "a");
  CHECK(f != NULL, "cannot append to %s", path);
  if (f) {
    fputs("garbage without separator\n = no key\nop 9 = \n", f);
    fclose(f);
  }
  rt = open_rt(dir);
  if (!rt) return;
  const char *v = ds_tune_get(rt, "op 1 2 3");
  CHECK(v && !strcmp(v, "4 5 7"), "reloaded 'op 1 2 3' = '%s', want '4 5 7'", v ? v : "(none)");
  v = ds_tune_get(rt, "op 7");
  CHECK(v && !strcmp(v, "x"), "reloaded 'op 7' = '%s'", v ? v : "(none)");
  CHECK(ds_tune_get(rt, "op 9") == NULL, "an empty value was loaded");
  CHECK(rt->tune_count == 2, "%d entries loaded, want 2", rt->tune_count);
  /* retune: stored entries miss until measured again in this process */
  rt->retune = 1;
  CHECK(ds_tune_get(rt, "op 7") == NULL, "--retune still returned the stored entry");
  ds_tune_put(rt, "op 7", "y", NULL);
  v = ds_tune_get(rt, "op 7");
  CHECK(v && !strcmp(v, "y"), "after retuning 'op 7' = '%s'", v ? v : "(none)");
  ds_runtime_destroy(rt);

  /* no cache folder: entries live in memory only */
  rt = open_rt("");
  if (!rt) return;
  ds_tune_put(rt, "op 1", "2", &written);
  CHECK(!written, "written without a cache folder");
  v = ds_tune_get(rt, "op 1");
  CHECK(v && !strcmp(v, "2"), "in-memory entry = '%s'", v ? v : "(none)");
  ds_runtime_destroy(rt);
}

/* One accumulating product big enough to be tuned; returns the rel error. */
static double tuned_product(ds_runtime *rt, unsigned m, unsigned n, unsigned k) {
  const size_t na = (size_t)m * k, nb = (size_t)k * n, nc = (size_t)m * n;
  float *a = rand_array(na), *b = rand_array(nb), *c = rand_array(nc), *bias = rand_array(n);
  ds_gemm_args g = {.lda_m = k, .lda_k = 1, .ldb = n, .ldc = n, .m = m, .n = n, .k = k};
  g.accumulate = 1;
  g.act = DS_ACT_LRELU;
  cl_mem da = upload(rt, a, na), db = upload(rt, b, nb), dc = upload(rt, c, nc),
         dbias = upload(rt, bias, n), ws = NULL;
  g.a = da, g.b = db, g.c = dc, g.bias = dbias;
  g.ws_floats = ds_gemm_workspace(rt, m, n, k, k, 1, n);
  if (g.ws_floats)
    CHECK_OK(ds_buffer_create(rt, g.ws_floats * 4, CL_MEM_READ_WRITE, "ws", &ws, &err), &err);
  g.ws = ws;
  CHECK_OK(ds_gemm(rt, &g, &err), &err);
  float *got = download(rt, dc, nc);
  ds_gemm_reference(a, b, c, bias, &g); /* C once: measuring left the real C alone */
  const double e = rel_err(got, c, nc);
  ds_buffer_release(&da);
  ds_buffer_release(&db);
  ds_buffer_release(&dc);
  ds_buffer_release(&dbias);
  ds_buffer_release(&ws);
  free(a), free(b), free(c), free(bias), free(got);
  return e;
}

static int notes;
static char last_note[256];
static void count_note(const char *line, void *user) {
  (void)user;
  notes++;
  snprintf(last_note, sizeof last_note, "%s", line);
}

static void test_gemm_tuner(const char *dir) {
  ds_runtime *rt = open_rt(dir);
  if (!rt) return;
  char path[DS_PATH_MAX + 64];
  ds_tune_path(rt, path, sizeof path);
  remove(path);
  rt->tune = 1;
  rt->tune_note = count_note;
  const unsigned m = 301, n = 190, k = 900; /* 1.03e8 FLOPs: tuned */
  CHECK(2.0 * m * n * k >= DS_GEMM_TUNE_MIN_FLOP, "the test shape is below the tuning threshold");
  double e = tuned_product(rt, m, n, k);
  CHECK(e < 2e-5, "tuned %ux%ux%u: rel err %.3g", m, n, k, e);
  /* the first run says it is tuning, then what each shape took */
  CHECK(notes == 2 && rt->tuned_shapes == 1 && strstr(last_note, "301x190x900"),
        "%d tuning notes, %d shapes, last '%s'", notes, rt->tuned_shapes, last_note);
  ds_gemm_args key_args = {.lda_m = k, .lda_k = 1, .ldb = n, .m = m, .n = n, .k = k};
  key_args.accumulate = 1;
  key_args.ws = NULL;
  char key[DS_TUNE_KEY_MAX];
  ds_gemm_tune_key(rt, &key_args, key, sizeof key);
  const char *stored = ds_tune_get(rt, key);
  if (!stored) { /* with workspace, when this device's variants use one */
    key_args.ws = (cl_mem)1;
    key_args.ws_floats = 1;
    ds_gemm_tune_key(rt, &key_args, key, sizeof key);
    stored = ds_tune_get(rt, key);
  }
  CHECK(stored != NULL, "no tuning entry for %s", key);
  ds_gemm_variant v[DS_GEMM_MAX_VARIANTS];
  const int count = ds_gemm_variants(rt, v, DS_GEMM_MAX_VARIANTS);
  int found = 0;
  for (int i = 0; stored && i < count; i++) {
    char want[64];
    snprintf(want, sizeof want, "%u %u %u %u %u %u %u %u ", v[i].kind, v[i].mr, v[i].vw, v[i].nv,
             v[i].local[0], v[i].local[1], v[i].k_block == DS_GEMM_K_ANY ? 0u : v[i].k_block,
             v[i].flags);
    found |= !strncmp(stored, want, strlen(want));
  }
  CHECK(found, "the stored winner '%s' is not a candidate", stored ? stored : "(none)");
  /* the same shape again is read, not measured (a measurement would store
   * a new rate with the winner) */
  char before[DS_TUNE_VALUE_MAX] = "";
  if (stored) snprintf(before, sizeof before, "%s", stored);
  e = tuned_product(rt, m, n, k);
  CHECK(e < 2e-5, "tuned %ux%ux%u, second call: rel err %.3g", m, n, k, e);
  stored = ds_tune_get(rt, key);
  CHECK(stored && !strcmp(stored, before), "the second call measured again ('%s', then '%s')",
        before, stored ? stored : "(none)");
  ds_runtime_destroy(rt);

  /* a new runtime reads the entry; --retune measures again */
  rt = open_rt(dir);
  if (!rt) return;
  rt->tune = 1;
  CHECK(ds_tune_get(rt, key) != NULL, "the entry for %s did not survive a new runtime", key);
  e = tuned_product(rt, m, n, k);
  CHECK(e < 2e-5, "%ux%ux%u in a new runtime: rel err %.3g", m, n, k, e);
  stored = ds_tune_get(rt, key);
  CHECK(stored && !strcmp(stored, before), "a new runtime measured again ('%s', then '%s')", before,
        stored ? stored : "(none)");
  rt->retune = 1;
  e = tuned_product(rt, m, n, k);
  CHECK(e < 2e-5, "retuned %ux%ux%u: rel err %.3g", m, n, k, e);
  CHECK(ds_tune_get(rt, key) != NULL, "--retune left no entry for %s", key);
  ds_runtime_destroy(rt);
}

/* The key of a GEMM shape follows the kernels' sources (DSENGINE_KERNEL_DIR
 * copies here): the same text gives the embedded key, one changed byte
 * another. */
static void write_text(const char *path, const char *text, size_t len) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL, "cannot write %s", path);
  if (!f) return;
  fwrite(text, 1, len, f);
  fclose(f);
}

static void test_key_follows_source(const char *dir) {
  ds_runtime *rt = open_rt(dir);
  if (!rt) return;
  ds_gemm_args g = {.lda_m = 64, .lda_k = 1, .ldb = 64, .m = 64, .n = 64, .k = 64};
  char embedded[DS_TUNE_KEY_MAX], same[DS_TUNE_KEY_MAX], changed[DS_TUNE_KEY_MAX];
  ds_gemm_tune_key(rt, &g, embedded, sizeof embedded);
  char kdir[DS_PATH_MAX], sub[DS_PATH_MAX + 8], path[DS_PATH_MAX + 32];
  snprintf(kdir, sizeof kdir, "%s/kernels", dir);
  snprintf(sub, sizeof sub, "%s/nn", kdir);
  mkdir(kdir, 0755);
  mkdir(sub, 0755);
  const char *names[] = {"nn/gemm", "nn/gemm_gpu"};
  for (int p = 0; p < 2; p++)
    for (int i = 0; i < ds_kernel_source_count; i++)
      if (!strcmp(ds_kernel_sources[i].name, names[p])) {
        snprintf(path, sizeof path, "%s/%s.cl", kdir, names[p]);
        write_text(path, ds_kernel_sources[i].text, ds_kernel_sources[i].length);
      }
  snprintf(rt->kernel_dir, sizeof rt->kernel_dir, "%s", kdir);
  ds_gemm_tune_key(rt, &g, same, sizeof same);
  CHECK(!strcmp(embedded, same), "the same sources from disk give key '%s', embedded '%s'", same,
        embedded);
  snprintf(path, sizeof path, "%s/nn/gemm_gpu.cl", kdir);
  FILE *f = fopen(path, "ab");
  if (f) {
    fputs("// changed\n", f);
    fclose(f);
  }
  ds_gemm_tune_key(rt, &g, changed, sizeof changed);
  CHECK(strcmp(embedded, changed) != 0, "a changed gemm_gpu.cl kept the key '%s'", changed);
  rt->kernel_dir[0] = '\0';
  ds_runtime_destroy(rt);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_tune SCRATCH_DIR\n");
    return 2;
  }
  mkdir(argv[1], 0755);
  test_file(argv[1]);
  test_gemm_tuner(argv[1]);
  test_key_follows_source(argv[1]);
  return check_summary("tune");
}
