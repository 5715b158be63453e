/* dsengine bench: what each device reaches, as ratios to its own measured
 * peak: the FMA rate, GEMM, every layer's forward and backward pass, whole
 * training steps and the swap's forward pass. A table on screen and,
 * with --json, the same numbers in a file (bench/results.sh turns that into
 * bench/RESULTS.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/bench/gemm_bench.h"
#include "engine/bench/model_bench.h"
#include "engine/bench/peak.h"
#include "engine/cli/bench_report.h"
#include "engine/cli/cli.h"
#include "host/device.h"
#include "host/runtime.h"
#include "host/tune_cache.h"

#define CMD "dsengine bench"

#ifndef DS_CONFIG_DIR
#define DS_CONFIG_DIR "configs"
#endif

static const char *help =
    "usage: dsengine bench [--device all|SPEC] [--model lowmem[,original,tiny,FILE.json]]\n"
    "                      [--batch 16,64] [--iters 2] [--budget 60] [--gemm 1024,4096]\n"
    "                      [--reps 3] [--only peak,gemm,train,layers,infer] [--no-layers]\n"
    "                      [--peak GFLOPS] [--quiet-wait 10] [--retune] [--profile]\n"
    "                      [--json FILE]\n"
    "\n"
    "Measures, on every device SPEC names ('all': each one present):\n"
    "  peak    the FMA rate of a microbenchmark kernel (GFLOP/s, checked against fmaf\n"
    "          on the host) and the copy bandwidth (GB/s): every other figure is also\n"
    "          given as a fraction of this peak\n"
    "  gemm    GFLOP/s of the engine's matrix product on --gemm shapes (N for N^3, or\n"
    "          MxNxK, 't' after it for a transposed A), each result checked\n"
    "  train   training samples/s of each --model at each --batch (forward, loss,\n"
    "          backward, Adam; the best of --iters steps after a warm-up step)\n"
    "  layers  each layer's forward and backward GFLOP/s, timed one by one\n"
    "  infer   faces/s of the swap's forward pass (encoder + decoder B) at that batch\n"
    "\n"
    "  --device SPEC    all, auto, an index from 'dsengine devices', cpu, gpu, amd,\n"
    "                   intel, nvidia, or part of a device name (default:\n"
    "                   $DSENGINE_DEVICE, else auto)\n"
    "  --model LIST     tiny, lowmem, original (configs/NAME.json) or config files\n"
    "  --batch LIST     batch sizes (default 16,64)\n"
    "  --iters N        timed repetitions of each step and pass (default 2)\n"
    "  --budget S       cut --iters so one model and batch takes about S seconds,\n"
    "                   judged from the warm-up step (default 60; 0: no cap)\n"
    "  --reps N         timed calls per GEMM shape (default 3)\n"
    "  --peak GFLOPS    skip measuring the peak and divide by this\n"
    "  --quiet-wait S   wait up to S seconds for idle CPUs before each timing\n"
    "                   (default 10; the load is printed either way)\n"
    "  --retune         measure the GEMM candidates again instead of reading the\n"
    "                   tuning cache (beside the kernel cache)\n"
    "  --profile        one more training step per model and batch, with each\n"
    "                   kernel's device time: where a step goes\n"
    "  --json FILE      also write every number to FILE\n"
    "\n"
    "Timings are best-of-N on a machine that may be shared: compare ratios taken in\n"
    "one run, and read the load line printed with them.\n";

static int parse_parts(const char *v, bench_opts *o) {
  o->peak = o->gemm = o->train = o->layers = o->infer = 0;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", v);
  for (char *s = strtok(buf, ","); s; s = strtok(NULL, ",")) {
    if (!strcmp(s, "peak"))
      o->peak = 1;
    else if (!strcmp(s, "gemm"))
      o->gemm = 1;
    else if (!strcmp(s, "train"))
      o->train = 1;
    else if (!strcmp(s, "layers"))
      o->layers = 1;
    else if (!strcmp(s, "infer"))
      o->infer = 1;
    else
      return cli_usage_error(CMD,
                             "--only takes peak, gemm, train, layers, infer; "
                             "not '%s'",
                             s);
  }
  return DS_EXIT_OK;
}

/* the command line before its lists are split */
typedef struct bench_args {
  bench_opts *o;
  const char *models, *batches, *shapes, *flag_device;
} bench_args;

static int parse_option(bench_args *s, int argc, char **argv, int *i) {
  bench_opts *o = s->o;
  const char *v = NULL;
  int m = 0;
  if (!strcmp(argv[*i], "--no-layers")) {
    o->layers = 0;
  } else if (!strcmp(argv[*i], "--retune")) {
    o->retune = 1;
  } else if (!strcmp(argv[*i], "--profile")) {
    o->profile = 1;
  } else if (CLI_VALUE("--device")) {
    CLI_NEED(CMD);
    s->flag_device = v;
  } else if (CLI_VALUE("--model")) {
    CLI_NEED(CMD);
    s->models = v;
  } else if (CLI_VALUE("--batch")) {
    CLI_NEED(CMD);
    s->batches = v;
  } else if (CLI_VALUE("--gemm")) {
    CLI_NEED(CMD);
    s->shapes = v;
  } else if (CLI_VALUE("--json")) {
    CLI_NEED(CMD);
    o->json_path = v;
  } else if (CLI_VALUE("--only")) {
    CLI_NEED(CMD);
    return parse_parts(v, o);
  } else if (CLI_VALUE("--iters")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--iters", v, 1, 1024, &o->mo.iters);
  } else if (CLI_VALUE("--reps")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--reps", v, 1, 1000, &o->reps);
  } else if (CLI_VALUE("--budget")) {
    CLI_NEED(CMD);
    return cli_parse_float(CMD, "--budget", v, 0, 1e6, &o->mo.budget);
  } else if (CLI_VALUE("--quiet-wait")) {
    CLI_NEED(CMD);
    return cli_parse_float(CMD, "--quiet-wait", v, 0, 3600, &o->mo.quiet_wait);
  } else if (CLI_VALUE("--peak")) {
    CLI_NEED(CMD);
    return cli_parse_float(CMD, "--peak", v, 1e-3, 1e9, &o->peak_given);
  } else {
    return cli_usage_error(CMD, "unknown option %s", argv[*i]);
  }
  return DS_EXIT_OK;
}

/* -1 after --help; else DS_EXIT_OK or a usage error's exit code */
static int parse_args(int argc, char **argv, bench_opts *o, const char **flag_device) {
  bench_args a = {o, "lowmem", "16,64", "1024,4096", NULL};
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      fputs(help, stdout);
      return -1;
    }
    int rc = parse_option(&a, argc, argv, &i);
    if (rc != DS_EXIT_OK) return rc;
  }
  const char *models = a.models, *batches = a.batches, *shapes = a.shapes;
  *flag_device = a.flag_device;
  snprintf(o->model_buf, sizeof o->model_buf, "%s", models);
  for (char *s = strtok(o->model_buf, ","); s; s = strtok(NULL, ",")) {
    if (o->model_count == MAX_LIST)
      return cli_usage_error(CMD, "--model takes at most %d models", MAX_LIST);
    o->models[o->model_count++] = s;
  }
  snprintf(o->batch_buf, sizeof o->batch_buf, "%s", batches);
  for (char *s = strtok(o->batch_buf, ","); s; s = strtok(NULL, ",")) {
    int b;
    if (o->batch_count == MAX_LIST)
      return cli_usage_error(CMD, "--batch takes at most %d sizes", MAX_LIST);
    if (cli_parse_int(CMD, "--batch", s, 1, 4096, &b) != DS_EXIT_OK) return DS_EXIT_USAGE;
    o->batches[o->batch_count++] = (unsigned)b;
  }
  o->shape_count = ds_bench_gemm_parse(shapes, o->shapes, MAX_SHAPES);
  if (!o->shape_count)
    return cli_usage_error(CMD,
                           "--gemm takes up to %d of N or MxNxK[t] (1..65536), comma-separated, "
                           "not '%s'",
                           MAX_SHAPES, shapes);
  if (!o->model_count || !o->batch_count)
    return cli_usage_error(CMD, "--model and --batch need a value");
  o->mo.layers = o->layers;
  o->mo.infer = o->infer;
  o->mo.profile = o->profile;
  return DS_EXIT_OK;
}

/* NAME: configs/NAME.json here, else beside the sources dsengine was built
 * from; a path (with '/' or ending in .json) as it is. */
static ds_status config_path(const char *model, char *out, size_t cap, ds_error *err) {
  struct stat sb;
  if (strchr(model, '/') || strstr(model, ".json")) {
    snprintf(out, cap, "%s", model);
    return DS_OK;
  }
  snprintf(out, cap, "configs/%s.json", model);
  if (stat(out, &sb) == 0) return DS_OK;
  snprintf(out, cap, "%s/%s.json", DS_CONFIG_DIR, model);
  if (stat(out, &sb) == 0) return DS_OK;
  return ds_error_set(err, DS_ERR_NOT_FOUND,
                      "model '%s': no configs/%s.json here nor in %s; name tiny, lowmem, original "
                      "or a config file",
                      model, model, DS_CONFIG_DIR);
}

/* flop in `seconds` as a fraction of the peak (GFLOP/s); 0 when unknown */
static void print_tune_note(const char *line, void *user) {
  (void)user;
  printf("  %s\n", line);
  fflush(stdout);
}

static ds_status bench_device(const ds_device_desc *dev, const bench_opts *o, bench_state *s,
                              ds_error *err) {
  ds_runtime *rt = NULL;
  ds_status st = ds_runtime_create(&rt, dev, o->profile ? DS_RUNTIME_PROFILING : 0, err);
  if (st != DS_OK) return st;
  rt->retune = o->retune;
  rt->tune_note = print_tune_note;
  rt->profiling = 0; /* a profiling queue, but events only for the profiled step */
  printf("\n######## device %d: %s (%s, %s), %u compute units\n", dev->index, dev->name,
         ds_vendor_class_name(dev->vendor_class), dev->platform_name, dev->compute_units);
  char tune_file[DS_PATH_MAX + 64], tuning[DS_PATH_MAX + 96];
  ds_tune_path(rt, tune_file, sizeof tune_file);
  if (!rt->tune)
    snprintf(tuning, sizeof tuning, "off (DSENGINE_TUNE=off): the vendor profile's variants");
  else
    snprintf(tuning, sizeof tuning, "%s, %s", rt->retune ? "measured again (--retune)" : "on",
             tune_file[0] ? tune_file : "kept in memory only (no cache folder)");
  printf("GEMM tuning: %s\n", tuning);
  cJSON *dj = s->devices ? cJSON_CreateObject() : NULL;
  if (dj) {
    cJSON_AddItemToArray(s->devices, dj);
    cJSON_AddStringToObject(dj, "device", dev->name);
    cJSON_AddStringToObject(dj, "platform", dev->platform_name);
    cJSON_AddStringToObject(dj, "vendor", ds_vendor_class_name(dev->vendor_class));
    cJSON_AddStringToObject(dj, "driver", dev->driver_version);
    cJSON_AddNumberToObject(dj, "compute_units", dev->compute_units);
    cJSON_AddStringToObject(dj, "tuning", tuning);
  }
  ds_bench_peak pk;
  memset(&pk, 0, sizeof pk);
  if (o->peak_given > 0 || !o->peak) {
    pk.gflops = o->peak_given;
    if (pk.gflops > 0) printf("peak: %.1f GFLOP/s as given by --peak (not measured)\n", pk.gflops);
  } else {
    ds_bench_quiet q = ds_bench_quiet_wait(o->mo.quiet_wait, 0.2);
    ds_bench_quiet_print(stdout, "machine", &q);
    st = ds_bench_peak_measure(rt, 5, 0.05, &pk, err);
    if (st == DS_OK) ds_bench_peak_print(stdout, &pk);
  }
  if (dj) {
    cJSON_AddNumberToObject(dj, "peak_gflops", pk.gflops);
    cJSON_AddBoolToObject(dj, "peak_measured", o->peak_given <= 0 && o->peak);
    cJSON_AddNumberToObject(dj, "copy_gbs", pk.copy_gbs);
  }
  fflush(stdout);

  if (st == DS_OK && o->gemm) {
    cJSON *ga = dj ? cJSON_AddArrayToObject(dj, "gemm") : NULL;
    ds_bench_quiet q = ds_bench_quiet_wait(o->mo.quiet_wait, 0.2);
    printf("\nGEMM, best and median of %d calls (copies of A or B included), checked at %d "
           "entries\n",
           o->reps, DS_BENCH_GEMM_CHECKS);
    ds_bench_quiet_print(stdout, "machine", &q);
    printf("%5s %5s %5s  %9s %9s %9s %7s  %s\n", "M", "N", "K", "best ms", "median", "GFLOP/s",
           "%peak", "max err");
    char pb[16];
    for (int i = 0; st == DS_OK && i < o->shape_count; i++) {
      ds_bench_gemm g;
      st = ds_bench_gemm_run(rt, o->shapes[i][0], o->shapes[i][1], o->shapes[i][2],
                             (int)o->shapes[i][3], o->reps, &g, err);
      if (st != DS_OK) break;
      printf("%5u %5u %5u%s %9.2f %9.2f %9.1f %7s  %.1e\n", g.m, g.n, g.k, g.trans_a ? "t" : " ",
             g.times.best * 1e3, g.times.median * 1e3, g.gflop / g.times.best,
             bench_pct_text(g.gflop * 1e9, g.times.best, pk.gflops, pb, sizeof pb), g.max_err);
      fflush(stdout);
      if (ga) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "m", g.m);
        cJSON_AddNumberToObject(j, "n", g.n);
        cJSON_AddNumberToObject(j, "k", g.k);
        cJSON_AddBoolToObject(j, "a_transposed", g.trans_a);
        cJSON_AddItemToObject(j, "call", bench_stats_json(&g.times));
        cJSON_AddNumberToObject(j, "gflops", g.gflop / g.times.best);
        cJSON_AddNumberToObject(j, "peak_ratio",
                                bench_ratio(g.gflop * 1e9, g.times.best, pk.gflops));
        cJSON_AddNumberToObject(j, "max_err", g.max_err);
        cJSON_AddItemToArray(ga, j);
      }
    }
  }

  if (o->train || o->layers || o->infer) {
    cJSON *ra = dj ? cJSON_AddArrayToObject(dj, "runs") : NULL;
    static ds_bench_model r;
    for (int mi = 0; st == DS_OK && mi < o->model_count; mi++)
      for (int bi = 0; st == DS_OK && bi < o->batch_count; bi++) {
        char path[DS_PATH_MAX];
        st = config_path(o->models[mi], path, sizeof path, err);
        if (st == DS_OK) st = ds_bench_model_run(rt, path, o->batches[bi], &o->mo, &r, err);
        if (st != DS_OK) break;
        bench_print_model(&r, o, pk.gflops, pk.copy_gbs);
        fflush(stdout);
        if (ra) cJSON_AddItemToArray(ra, bench_model_json(&r, o, pk.gflops, pk.copy_gbs));
        if (s->row_count < (int)(sizeof s->rows / sizeof s->rows[0])) {
          summary_row *row = &s->rows[s->row_count++];
          snprintf(row->device, sizeof row->device, "%.63s", dev->name);
          snprintf(row->model, sizeof row->model, "%s", r.model);
          row->batch = r.batch;
          row->samples_s = o->train ? r.batch / r.step.best : 0;
          row->train_ratio = o->train ? bench_ratio(r.step_flop, r.step.best, pk.gflops) : 0;
          row->faces_s = r.infer.n ? r.batch / r.infer.best : 0;
          row->infer_ratio = r.infer.n ? bench_ratio(r.infer_flop, r.infer.best, pk.gflops) : 0;
        }
      }
  }
  if (dj && st != DS_OK) cJSON_AddStringToObject(dj, "error", err->msg);
  ds_runtime_destroy(rt);
  return st;
}

int cmd_bench(int argc, char **argv) {
  bench_opts o;
  memset(&o, 0, sizeof o);
  o.reps = 3;
  o.peak = o.gemm = o.train = o.layers = o.infer = 1;
  o.mo.iters = 2;
  o.mo.budget = 60;
  o.mo.quiet_wait = 10;
  const char *flag_device = NULL, *origin = NULL;
  int rc = parse_args(argc, argv, &o, &flag_device);
  if (rc < 0) return DS_EXIT_OK;
  if (rc != DS_EXIT_OK) return rc;
  const char *spec = cli_device_spec(flag_device, &origin);

  ds_error err = {0};
  ds_device_list list = {0};
  if (ds_devices_discover(&list, &err) != DS_OK) return cli_fail(&err);
  int chosen = -1;
  const int all = strcmp(spec, "all") == 0;
  if (!all && ds_device_select(list.items, list.count, spec, origin, &chosen, &err) != DS_OK) {
    ds_device_list_free(&list);
    return cli_fail(&err);
  }
  bench_state *s = calloc(1, sizeof *s);
  cJSON *root = NULL;
  if (s && o.json_path) {
    root = bench_json_header(argc, argv);
    s->devices = cJSON_AddArrayToObject(root, "devices");
  }
  if (!s) {
    ds_device_list_free(&list);
    ds_error_set(&err, DS_ERR_NO_MEMORY, "out of host memory");
    return cli_fail(&err);
  }
  rc = DS_EXIT_OK;
  for (int i = 0; i < list.count; i++) {
    if (!all && i != chosen) continue;
    if (bench_device(&list.items[i], &o, s, &err) != DS_OK) {
      char msg[DS_ERROR_MSG_MAX];
      snprintf(msg, sizeof msg, "%s", err.msg);
      ds_error_set(&err, err.code, "bench on device %d (%s): %s", list.items[i].index,
                   list.items[i].name, msg);
      int code = cli_fail(&err);
      if (rc == DS_EXIT_OK) rc = code;
    }
  }
  bench_print_summary(s, &o);
  if (root) {
    if (bench_write_json(o.json_path, root, &err) != DS_OK) {
      int code = cli_fail(&err);
      if (rc == DS_EXIT_OK) rc = code;
    } else {
      printf("\nwrote %s\n", o.json_path);
    }
    cJSON_Delete(root);
  }
  free(s);
  ds_device_list_free(&list);
  return rc;
}
