/* bench/train_step: training throughput of whole models on one device, and
 * where the time goes layer by layer, as ratios to the device's measured
 * FMA peak (bench/peak.c). See bench/README.md for what it prints.
 *
 * FLOPs, counted from the layer shapes (2 FLOPs per multiply-add):
 *   conv   forward 2 n oh ow oc k k c      dense forward 2 n in out
 *   backward of a layer: 2 x its forward (input gradient + weight gradient),
 *   1 x for the first layer, whose input gradient is never computed
 *   a whole step: 3 x the forward FLOPs, the usual nominal count
 * Bias, activations, pixel shuffles, loss and Adam count no FLOPs: they are
 * memory-bound and show up as time only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "bench/peak.h"
#include "engine/model/model.h"
#include "engine/nn/dense.h"
#include "engine/nn/ops.h"
#include "host/buffer.h"

enum { MAX_RUNS = 16 };

typedef struct layer_result {
  double fwd_s, bwd_s;       /* best of the per-layer passes */
  double fwd_flop, bwd_flop; /* per call */
} layer_result;

typedef struct run_result {
  char model[64];
  unsigned batch;
  int iters;
  long long params; /* encoder + decoder A */
  bench_quiet quiet;
  double warmup_s; /* the first step, kernel builds included */
  bench_stats step;
  double step_flop; /* 3 x forward */
  double loss;
  int layer_count; /* 0: no per-layer pass */
  ds_layer layers[DS_MAX_MODEL_LAYERS];
  layer_result lr[DS_MAX_MODEL_LAYERS];
  double loss_s, adam_s, layers_total_s;
} run_result;

static double layer_forward_flop(const ds_layer *l, unsigned n) {
  if (l->kind == DS_LAYER_CONV) return 2.0 * n * l->oh * l->ow * l->oc * (double)l->k * l->k * l->c;
  if (l->kind == DS_LAYER_DENSE)
    return 2.0 * n * (double)l->h * l->w * l->c * l->oh * l->ow * l->oc;
  return 0;
}

/* The same descriptors model.c builds for each layer. */
static void conv_of(const ds_layer *l, unsigned n, ds_conv2d *c) {
  ds_conv2d_same(c, n, l->h, l->w, l->c, l->oc, l->k, l->stride, l->act);
}
static void dense_of(const ds_layer *l, unsigned n, ds_dense *d) {
  d->n = n;
  d->in = l->h * l->w * l->c;
  d->out = l->oh * l->ow * l->oc;
  d->act = l->act;
}

static ds_status layer_forward(ds_model *m, const ds_layer *l, int p, unsigned n, ds_error *err) {
  cl_mem x = m->act[p], y = m->act[p + 1];
  if (l->kind == DS_LAYER_CONV) {
    ds_conv2d c;
    conv_of(l, n, &c);
    return ds_conv2d_forward(m->rt, &c, y, x, m->params, l->w_off, l->b_off, &m->scratch, err);
  }
  if (l->kind == DS_LAYER_DENSE) {
    ds_dense d;
    dense_of(l, n, &d);
    return ds_dense_forward(m->rt, &d, y, x, m->params, l->w_off, l->b_off, &m->scratch, err);
  }
  return ds_pixel_shuffle_forward(m->rt, y, x, n, l->h, l->w, l->oc, err);
}

/* As ds_model_backward does for path layer p, reading dy from dbuf[cur]. */
static ds_status layer_backward(ds_model *m, const ds_layer *l, int p, int cur, unsigned n,
                                ds_error *err) {
  cl_mem dy = m->dbuf[cur], dx = p > 0 ? m->dbuf[1 - cur] : NULL;
  cl_mem x = m->act[p], y = m->act[p + 1];
  if (l->kind == DS_LAYER_CONV) {
    ds_conv2d c;
    conv_of(l, n, &c);
    return ds_conv2d_backward(m->rt, &c, dx, m->grads, l->w_off, l->b_off, dy, x, y, m->params,
                              l->w_off, &m->scratch, err);
  }
  if (l->kind == DS_LAYER_DENSE) {
    ds_dense d;
    dense_of(l, n, &d);
    return ds_dense_backward(m->rt, &d, dx, m->grads, l->w_off, l->b_off, dy, x, y, m->params,
                             l->w_off, &m->scratch, err);
  }
  return ds_pixel_shuffle_backward(m->rt, dx, dy, n, l->h, l->w, l->oc, err);
}

static void keep_min(double *best, double t) {
  if (!(*best > 0) || t < *best) *best = t;
}

/* One training step of identity `id`, each layer timed on its own with the
 * queue drained before and after, so the times add up to the layer pass.
 * The data flows as in ds_model_train_step, so the values stay realistic. */
static ds_status layer_pass(ds_model *m, int id, cl_mem target, run_result *r, ds_error *err) {
  const unsigned n = m->batch;
  const int len = ds_model_path_length(m);
  ds_status st = ds_runtime_finish(m->rt, err);
  m->input = m->act[0];
  for (int p = 0; st == DS_OK && p < len; p++) {
    double t0 = bench_now();
    st = layer_forward(m, ds_model_path_layer(m, id, p), p, n, err);
    if (st == DS_OK) st = ds_runtime_finish(m->rt, err);
    keep_min(&r->lr[p].fwd_s, bench_now() - t0);
  }
  double t0 = bench_now();
  if (st == DS_OK) st = ds_model_loss(m, id, target, n, NULL, err);
  if (st == DS_OK) st = ds_runtime_finish(m->rt, err);
  keep_min(&r->loss_s, bench_now() - t0);
  int cur = 0;
  for (int p = len - 1; st == DS_OK && p >= 0; p--, cur = 1 - cur) {
    t0 = bench_now();
    st = layer_backward(m, ds_model_path_layer(m, id, p), p, cur, n, err);
    if (st == DS_OK) st = ds_runtime_finish(m->rt, err);
    keep_min(&r->lr[p].bwd_s, bench_now() - t0);
  }
  t0 = bench_now();
  if (st == DS_OK) st = ds_model_adam(m, id, err);
  if (st == DS_OK) st = ds_runtime_finish(m->rt, err);
  keep_min(&r->adam_s, bench_now() - t0);
  return st;
}

static ds_status upload_random(ds_runtime *rt, cl_mem buf, size_t n, unsigned seed, ds_error *err) {
  float *h = malloc(n * sizeof *h);
  if (!h) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for %zu floats", n);
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    h[i] = (float)(seed >> 8) * (1.0f / 16777216.0f);
  }
  ds_status st = ds_buffer_write(rt, buf, 0, n * sizeof *h, h, err);
  free(h);
  return st;
}

typedef struct options {
  const char *models[MAX_RUNS];
  int model_count, model_named; /* model_named: --model was given, and not as "all" */
  unsigned batches[8];
  int batch_count;
  int iters, layers;
  double budget; /* seconds of timed steps per model and batch, as estimated from the warm-up */
  double quiet_wait, peak_gflops;
  const char *config_dir, *json_path;
} options;

static ds_status bench_model(ds_runtime *rt, const options *o, const char *model, unsigned batch,
                             run_result *r, ds_error *err) {
  char path[DS_PATH_MAX];
  if (strchr(model, '/') || strstr(model, ".json"))
    snprintf(path, sizeof path, "%s", model);
  else
    snprintf(path, sizeof path, "%s/%s.json", o->config_dir, model);
  ds_model_config cfg;
  ds_status st = ds_model_config_load(path, &cfg, err);
  if (st != DS_OK) return st;
  memset(r, 0, sizeof *r);
  snprintf(r->model, sizeof r->model, "%s", cfg.name);
  r->batch = batch;
  int64_t enc = 0, dec = 0;
  ds_model_param_count(&cfg, &enc, &dec);
  r->params = (long long)(enc + dec);
  int id = ds_model_identity_index(&cfg, "A");
  if (id < 0) id = 0;

  ds_model *m = calloc(1, sizeof *m);
  float *host = NULL;
  cl_mem target = NULL;
  if (!m) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for model %s", path);
  ds_model_build(m, &cfg);
  st = ds_model_device_create(m, rt, batch, err);
  if (st != DS_OK) {
    free(m);
    return st;
  }
  const size_t in_floats = (size_t)batch * cfg.input_size * cfg.input_size * cfg.input_channels;
  host = malloc(m->param_floats * sizeof *host);
  if (!host) st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for the parameters");
  if (st == DS_OK) ds_model_init_params(m, 1, host);
  if (st == DS_OK)
    st = ds_buffer_write(rt, m->params, 0, m->param_floats * sizeof *host, host, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, in_floats * sizeof(float), CL_MEM_READ_WRITE, "target batch", &target,
                          err);
  if (st == DS_OK) st = upload_random(rt, m->act[0], in_floats, 7u, err);
  if (st == DS_OK) st = upload_random(rt, target, in_floats, 11u, err);

  double t0 = bench_now();
  if (st == DS_OK) st = ds_model_train_step(m, id, NULL, target, batch, &r->loss, err);
  if (st == DS_OK) st = ds_runtime_finish(rt, err);
  r->warmup_s = bench_now() - t0;

  /* timed steps and layer passes cost 2 x iters steps; the warm-up step
   * (builds included) bounds a step's time from above */
  int iters = o->iters;
  if (st == DS_OK && o->budget > 0 && 2.0 * iters * r->warmup_s > o->budget) {
    iters = (int)(o->budget / (2.0 * r->warmup_s));
    iters = iters < 1 ? 1 : iters;
    printf("\n(%s at batch %u: --iters %d cut to %d, as the warm-up step took %.1f s and "
           "--budget is %.0f s)\n",
           r->model, batch, o->iters, iters, r->warmup_s, o->budget);
  }
  r->iters = iters;
  r->quiet = bench_quiet_wait(o->quiet_wait, 0.2);
  double times[1024];
  for (int i = 0; st == DS_OK && i < iters; i++) {
    t0 = bench_now();
    st = ds_model_train_step(m, id, NULL, target, batch, &r->loss, err);
    if (st == DS_OK) st = ds_runtime_finish(rt, err);
    times[i] = bench_now() - t0;
  }
  if (st == DS_OK) r->step = bench_stats_of(times, iters);

  const int len = ds_model_path_length(m);
  double fwd = 0;
  for (int p = 0; p < len; p++) {
    const ds_layer *l = ds_model_path_layer(m, id, p);
    r->layers[p] = *l;
    r->lr[p].fwd_flop = layer_forward_flop(l, batch);
    r->lr[p].bwd_flop = (p > 0 ? 2 : 1) * r->lr[p].fwd_flop;
    fwd += r->lr[p].fwd_flop;
  }
  r->step_flop = 3 * fwd;
  if (o->layers) {
    r->layer_count = len;
    for (int i = 0; st == DS_OK && i < iters; i++)
      st = layer_pass(m, id, target, r, err);
    r->layers_total_s = r->loss_s + r->adam_s;
    for (int p = 0; p < len; p++)
      r->layers_total_s += r->lr[p].fwd_s + r->lr[p].bwd_s;
  }
  if (st == DS_OK && !isfinite(r->loss))
    st = ds_error_set(err, DS_ERR_INVALID, "model %s at batch %u: the loss is %g, not finite",
                      r->model, batch, r->loss);
  ds_buffer_release(&target);
  free(host);
  ds_model_device_destroy(m);
  free(m);
  return st;
}

static double pct(double gflops, double peak) { return peak > 0 ? 100.0 * gflops / peak : 0; }

static void print_run(const run_result *r, double peak) {
  const double gflops = r->step_flop / r->step.best * 1e-9;
  printf("\n== %s, batch %u: %.2f M parameters (encoder + decoder A) ==\n", r->model, r->batch,
         r->params / 1e6);
  bench_quiet_print(stdout, "machine", &r->quiet);
  printf("warm-up step (kernel builds included): %.2f s\n", r->warmup_s);
  printf("step: best %.1f ms, median %.1f ms of %d -> %.2f samples/s (median %.2f); "
         "%.2f GFLOP/step -> %.1f GFLOP/s = %.1f %% of peak; loss %.4f\n",
         r->step.best * 1e3, r->step.median * 1e3, r->step.n, r->batch / r->step.best,
         r->batch / r->step.median, r->step_flop * 1e-9, gflops, pct(gflops, peak), r->loss);
  if (!r->layer_count) return;
  printf("%-26s %-8s %-22s %9s %8s %6s %9s %8s %6s %6s\n", "layer", "kind", "in -> out", "fwd ms",
         "GFLOP/s", "%peak", "bwd ms", "GFLOP/s", "%peak", "%pass");
  for (int p = 0; p < r->layer_count; p++) {
    const ds_layer *l = &r->layers[p];
    const layer_result *x = &r->lr[p];
    char kind[16], shape[48];
    if (l->kind == DS_LAYER_CONV)
      snprintf(kind, sizeof kind, "conv%ux%u/%u", l->k, l->k, l->stride);
    else
      snprintf(kind, sizeof kind, "%s", l->kind == DS_LAYER_DENSE ? "dense" : "shuffle");
    snprintf(shape, sizeof shape, "%ux%ux%u->%ux%ux%u", l->h, l->w, l->c, l->oh, l->ow, l->oc);
    const double fg = x->fwd_flop / x->fwd_s * 1e-9, bg = x->bwd_flop / x->bwd_s * 1e-9;
    printf("%-26s %-8s %-22s %9.2f", l->name, kind, shape, x->fwd_s * 1e3);
    if (x->fwd_flop > 0)
      printf(" %8.1f %6.1f", fg, pct(fg, peak));
    else
      printf(" %8s %6s", "-", "-");
    printf(" %9.2f", x->bwd_s * 1e3);
    if (x->bwd_flop > 0)
      printf(" %8.1f %6.1f", bg, pct(bg, peak));
    else
      printf(" %8s %6s", "-", "-");
    printf(" %6.1f\n", 100.0 * (x->fwd_s + x->bwd_s) / r->layers_total_s);
  }
  printf("%-26s %-8s %-22s %9.2f %8s %6s %9s %8s %6s %6.1f\n", "loss (fwd+bwd)", "", "",
         r->loss_s * 1e3, "-", "-", "", "", "", 100.0 * r->loss_s / r->layers_total_s);
  printf("%-26s %-8s %-22s %9s %8s %6s %9.2f %8s %6s %6.1f\n", "adam", "", "", "", "", "",
         r->adam_s * 1e3, "-", "-", 100.0 * r->adam_s / r->layers_total_s);
  printf("layer pass total %.1f ms (best per layer; the step's best is %.1f ms)\n",
         r->layers_total_s * 1e3, r->step.best * 1e3);
  /* the three layers that take the most time, forward and backward together */
  int top[3] = {-1, -1, -1};
  for (int k = 0; k < 3; k++)
    for (int p = 0; p < r->layer_count; p++) {
      if (p == top[0] || p == top[1]) continue;
      double t = r->lr[p].fwd_s + r->lr[p].bwd_s;
      if (top[k] < 0 || t > r->lr[top[k]].fwd_s + r->lr[top[k]].bwd_s) top[k] = p;
    }
  printf("slowest:");
  for (int k = 0; k < 3 && top[k] >= 0; k++)
    printf("%s %s %.1f ms (%.0f %%)", k ? "," : "", r->layers[top[k]].name,
           (r->lr[top[k]].fwd_s + r->lr[top[k]].bwd_s) * 1e3,
           100.0 * (r->lr[top[k]].fwd_s + r->lr[top[k]].bwd_s) / r->layers_total_s);
  printf("\n");
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      fprintf(f, "\\u%04x", (unsigned char)*s);
    else
      fputc(*s, f);
  }
  fputc('"', f);
}

static double ratio(double flop, double s, double peak) {
  return s > 0 && peak > 0 ? flop / s * 1e-9 / peak : 0;
}

static ds_status write_json(const char *path, const ds_runtime *rt, const bench_peak *pk,
                            int peak_measured, const run_result *runs, int nruns, ds_error *err) {
  char tmp[DS_PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return ds_error_set(err, DS_ERR_IO, "cannot write %s; check the folder exists", tmp);
  fprintf(f, "{\n  \"device\": ");
  json_string(f, rt->device.name);
  fprintf(f, ",\n  \"peak_gflops\": %.3f,\n  \"peak_measured\": %s,\n  \"copy_gbs\": %.3f,\n",
          pk->gflops, peak_measured ? "true" : "false", pk->copy_gbs);
  fprintf(f, "  \"flop_formula\": \"step = 3 x forward; conv fwd 2*n*oh*ow*oc*k*k*c, dense fwd "
             "2*n*in*out; layer bwd 2 x fwd (1 x for the first layer)\",\n  \"runs\": [");
  for (int i = 0; i < nruns; i++) {
    const run_result *r = &runs[i];
    fprintf(f, "%s\n    {\"model\": ", i ? "," : "");
    json_string(f, r->model);
    fprintf(f,
            ", \"batch\": %u, \"iters\": %d, \"params\": %lld,\n     \"load\": [%.2f, %.2f, "
            "%.2f], \"cpu_busy\": %.3f, \"quiet\": %s, \"warmup_s\": %.4f,\n"
            "     \"step_best_s\": %.6f, \"step_median_s\": %.6f, \"samples_per_s\": %.4f, "
            "\"samples_per_s_median\": %.4f,\n     \"step_gflop\": %.4f, \"gflops\": %.3f, "
            "\"peak_ratio\": %.4f, \"loss\": %.6f",
            r->batch, r->iters, r->params, r->quiet.load[0], r->quiet.load[1], r->quiet.load[2],
            r->quiet.busy, r->quiet.quiet ? "true" : "false", r->warmup_s, r->step.best,
            r->step.median, r->batch / r->step.best, r->batch / r->step.median, r->step_flop * 1e-9,
            r->step_flop / r->step.best * 1e-9, ratio(r->step_flop, r->step.best, pk->gflops),
            r->loss);
    if (r->layer_count)
      fprintf(f, ",\n     \"loss_s\": %.6f, \"adam_s\": %.6f, \"layer_pass_s\": %.6f", r->loss_s,
              r->adam_s, r->layers_total_s);
    fprintf(f, ",\n     \"layers\": [");
    for (int p = 0; p < r->layer_count; p++) {
      const layer_result *x = &r->lr[p];
      fprintf(f, "%s\n       {\"name\": ", p ? "," : "");
      json_string(f, r->layers[p].name);
      fprintf(f,
              ", \"fwd_s\": %.6f, \"fwd_gflop\": %.4f, \"fwd_peak_ratio\": %.4f, \"bwd_s\": "
              "%.6f, \"bwd_gflop\": %.4f, \"bwd_peak_ratio\": %.4f}",
              x->fwd_s, x->fwd_flop * 1e-9, ratio(x->fwd_flop, x->fwd_s, pk->gflops), x->bwd_s,
              x->bwd_flop * 1e-9, ratio(x->bwd_flop, x->bwd_s, pk->gflops));
    }
    fprintf(f, "]}");
  }
  fprintf(f, "\n  ]\n}\n");
  int bad = ferror(f);
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path) != 0) {
    remove(tmp);
    return ds_error_set(err, DS_ERR_IO, "cannot write %s; check the disk and the folder", path);
  }
  return DS_OK;
}

static int usage(const char *why) {
  fprintf(stderr,
          "train_step: error: %s\n"
          "usage: train_step [--model tiny,lowmem (default)|original|all|FILE.json]\n"
          "                  [--batch 16 (default),64] [--iters N (3)] [--budget S (60)]\n"
          "                  [--device SPEC] [--json FILE] [--no-layers]\n"
          "                  [--peak GFLOPS (skip measuring)] [--quiet-wait S (10)]\n"
          "                  [--configs DIR]\n",
          why);
  return 2;
}

static int parse_args(int argc, char **argv, options *o, const char **spec, const char **origin) {
  static char model_buf[1024], batch_buf[128];
  const char *models = "tiny,lowmem", *batches = "16";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--no-layers")) {
      o->layers = 0;
      continue;
    }
    static const char *with_value[] = {"--model", "--batch", "--iters",      "--budget", "--device",
                                       "--json",  "--peak",  "--quiet-wait", "--configs"};
    int known = 0;
    for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
      known |= !strcmp(a, with_value[k]);
    if (!known) return usage("unknown option or argument");
    if (!v) return usage("an option lacks its value");
    if (!strcmp(a, "--model"))
      models = v, o->model_named = strcmp(v, "all") != 0;
    else if (!strcmp(a, "--batch"))
      batches = v;
    else if (!strcmp(a, "--iters"))
      o->iters = atoi(v);
    else if (!strcmp(a, "--budget"))
      o->budget = atof(v);
    else if (!strcmp(a, "--device"))
      *spec = v, *origin = "--device";
    else if (!strcmp(a, "--json"))
      o->json_path = v;
    else if (!strcmp(a, "--peak"))
      o->peak_gflops = atof(v);
    else if (!strcmp(a, "--quiet-wait"))
      o->quiet_wait = atof(v);
    else if (!strcmp(a, "--configs"))
      o->config_dir = v;
    else
      return usage("unknown option");
    i++;
  }
  if (o->iters < 1 || o->iters > 1024) return usage("--iters must be 1..1024");
  snprintf(model_buf, sizeof model_buf, "%s",
           strcmp(models, "all") ? models : "tiny,lowmem,original");
  for (char *s = strtok(model_buf, ","); s && o->model_count < MAX_RUNS; s = strtok(NULL, ","))
    o->models[o->model_count++] = s;
  snprintf(batch_buf, sizeof batch_buf, "%s", batches);
  for (char *s = strtok(batch_buf, ","); s && o->batch_count < 8; s = strtok(NULL, ",")) {
    int b = atoi(s);
    if (b < 1 || b > 4096) return usage("--batch takes sizes 1..4096, e.g. 16,64");
    o->batches[o->batch_count++] = (unsigned)b;
  }
  if (!o->model_count || !o->batch_count) return usage("--model and --batch need a value");
  return 0;
}

int main(int argc, char **argv) {
  options o = {
      .iters = 3, .layers = 1, .budget = 60, .quiet_wait = 10, .config_dir = DS_CONFIG_DIR};
  const char *spec = getenv("DSENGINE_DEVICE"), *origin = "DSENGINE_DEVICE";
  int rc = parse_args(argc, argv, &o, &spec, &origin);
  if (rc) return rc;

  ds_error err = {0};
  ds_runtime *rt = NULL;
  if (ds_runtime_open(&rt, spec, origin, 0, &err) != DS_OK) {
    fprintf(stderr, "train_step: error: %s\n", err.msg);
    ds_error_clear(&err);
    return 2;
  }
  printf("device: %s (%s), %u compute units\n", rt->device.name, rt->device.platform_name,
         rt->device.compute_units);
  bench_peak pk;
  memset(&pk, 0, sizeof pk);
  ds_status st = DS_OK;
  if (o.peak_gflops > 0) {
    pk.gflops = o.peak_gflops;
    printf("peak: %.1f GFLOP/s as given by --peak (not measured)\n", pk.gflops);
  } else {
    bench_quiet q = bench_quiet_wait(o.quiet_wait, 0.2);
    bench_quiet_print(stdout, "machine", &q);
    st = bench_peak_measure(rt, 5, 0.05, &pk, &err);
    if (st == DS_OK) bench_peak_print(stdout, &pk);
  }

  static run_result runs[MAX_RUNS];
  int nruns = 0;
  for (int mi = 0; st == DS_OK && mi < o.model_count; mi++)
    for (int bi = 0; st == DS_OK && bi < o.batch_count && nruns < MAX_RUNS; bi++) {
      /* original at 64 takes many seconds per step on a CPU: only when named */
      if (!o.model_named && !strcmp(o.models[mi], "original") && o.batches[bi] > 16) {
        printf("\n(original at batch %u skipped: name it with --model original to run it)\n",
               o.batches[bi]);
        continue;
      }
      st = bench_model(rt, &o, o.models[mi], o.batches[bi], &runs[nruns], &err);
      if (st == DS_OK) print_run(&runs[nruns++], pk.gflops);
      fflush(stdout);
    }
  if (st == DS_OK && nruns) {
    printf("\n%-10s %6s %12s %10s %8s\n", "model", "batch", "samples/s", "GFLOP/s", "%peak");
    for (int i = 0; i < nruns; i++) {
      const double g = runs[i].step_flop / runs[i].step.best * 1e-9;
      printf("%-10s %6u %12.2f %10.1f %8.1f\n", runs[i].model, runs[i].batch,
             runs[i].batch / runs[i].step.best, g, pct(g, pk.gflops));
    }
  }
  if (st == DS_OK && o.json_path)
    st = write_json(o.json_path, rt, &pk, o.peak_gflops <= 0, runs, nruns, &err);
  if (st != DS_OK) {
    fprintf(stderr, "train_step: error: %s\n", err.msg);
    if (err.detail) fprintf(stderr, "%s\n", err.detail);
  }
  ds_error_clear(&err);
  ds_runtime_destroy(rt);
  return st == DS_OK ? 0 : 1;
}
