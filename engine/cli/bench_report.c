/* dsengine bench's report: the tables on screen and the JSON file, from the
 * figures cmd_bench.c measured (each as a share of the device's peak). */
#include "engine/cli/bench_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic_file.h"

double bench_ratio(double flop, double seconds, double peak) {
  return seconds > 0 && peak > 0 ? flop * 1e-9 / seconds / peak : 0;
}

/* "12.3 %" of the peak, or "-" when no peak was measured or given */
const char *bench_pct_text(double flop, double seconds, double peak, char *buf, size_t cap) {
  if (peak > 0)
    snprintf(buf, cap, "%.1f", 100.0 * bench_ratio(flop, seconds, peak));
  else
    snprintf(buf, cap, "-");
  return buf;
}

static void print_layers(const ds_bench_model *r, double peak, double copy_gbs) {
  char pb[16];
  printf("%-26s %-8s %-22s %9s %8s %6s %9s %8s %6s %6s\n", "layer", "kind", "in -> out", "fwd ms",
         "GFLOP/s", "%peak", "bwd ms", "GFLOP/s", "%peak", "%pass");
  for (int p = 0; p < r->layer_count; p++) {
    const ds_layer *l = &r->layers[p];
    const ds_bench_layer *x = &r->lr[p];
    char kind[16], shape[48];
    if (l->kind == DS_LAYER_CONV)
      snprintf(kind, sizeof kind, "conv%ux%u/%u", l->k, l->k, l->stride);
    else
      snprintf(kind, sizeof kind, "%s", l->kind == DS_LAYER_DENSE ? "dense" : "shuffle");
    snprintf(shape, sizeof shape, "%ux%ux%u->%ux%ux%u", l->h, l->w, l->c, l->oh, l->ow, l->oc);
    printf("%-26s %-8s %-22s %9.2f", l->name, kind, shape, x->fwd_s * 1e3);
    if (x->fwd_flop > 0)
      printf(" %8.1f %6s", x->fwd_flop * 1e-9 / x->fwd_s,
             bench_pct_text(x->fwd_flop, x->fwd_s, peak, pb, sizeof pb));
    else
      printf(" %8s %6s", "-", "-");
    printf(" %9.2f", x->bwd_s * 1e3);
    if (x->bwd_flop > 0)
      printf(" %8.1f %6s", x->bwd_flop * 1e-9 / x->bwd_s,
             bench_pct_text(x->bwd_flop, x->bwd_s, peak, pb, sizeof pb));
    else
      printf(" %8s %6s", "-", "-");
    printf(" %6.1f\n", 100.0 * (x->fwd_s + x->bwd_s) / r->layers_total_s);
  }
  printf("%-26s %-8s %-22s %9.2f %8s %6s %9s %8s %6s %6.1f\n", "loss (fwd+bwd)", "", "",
         r->loss_s * 1e3, "-", "-", "", "", "", 100.0 * r->loss_s / r->layers_total_s);
  printf("%-26s %-8s %-22s %9s %8s %6s %9.2f %8s %6s %6.1f\n", "adam", "", "", "", "", "",
         r->adam_s * 1e3, "-", "-", 100.0 * r->adam_s / r->layers_total_s);
  if (r->adam_s > 0) {
    char cb[32] = "";
    if (copy_gbs > 0)
      snprintf(cb, sizeof cb, " = %.0f %% of the copy bandwidth",
               100.0 * r->adam_bytes / r->adam_s * 1e-9 / copy_gbs);
    printf("adam: %.2f GB in %.1f ms -> %.1f GB/s%s\n", r->adam_bytes * 1e-9, r->adam_s * 1e3,
           r->adam_bytes / r->adam_s * 1e-9, cb);
  }
  printf("layer pass total %.1f ms (best per layer; the step's best is %.1f ms)\n",
         r->layers_total_s * 1e3, r->step.best * 1e3);
  int top[3] = {-1, -1, -1};
  for (int k = 0; k < 3; k++)
    for (int p = 0; p < r->layer_count; p++) {
      if (p == top[0] || p == top[1]) continue;
      double t = r->lr[p].fwd_s + r->lr[p].bwd_s;
      if (top[k] < 0 || t > r->lr[top[k]].fwd_s + r->lr[top[k]].bwd_s) top[k] = p;
    }
  printf("slowest:");
  for (int k = 0; k < 3 && top[k] >= 0; k++) {
    const double t = r->lr[top[k]].fwd_s + r->lr[top[k]].bwd_s;
    printf("%s %s %.1f ms (%.0f %%)", k ? "," : "", r->layers[top[k]].name, t * 1e3,
           100.0 * t / r->layers_total_s);
  }
  printf("\n");
}

static void print_profile(const ds_bench_model *r) {
  printf("one step's device time by kernel (%d kernels, %.1f ms):\n", r->kernel_total,
         r->profile_ms);
  for (int i = 0; i < r->kernel_count; i++)
    printf("  %-28s %9.2f ms %5.1f %% %6ld launches\n", r->kernels[i].name, r->kernels[i].ms,
           100.0 * r->kernels[i].ms / r->profile_ms, r->kernels[i].launches);
}

void bench_print_model(const ds_bench_model *r, const bench_opts *o, double peak, double copy_gbs) {
  char pb[16];
  printf("\n== %s, batch %u: %.2f M parameters (encoder + decoder A) ==\n", r->model, r->batch,
         r->params / 1e6);
  ds_bench_quiet_print(stdout, "machine", &r->quiet);
  printf("warm-up step (kernel builds and tuning included): %.2f s\n", r->warmup_s);
  if (r->iters < r->iters_asked)
    printf("(--iters %d cut to %d: a step takes %.1f s and --budget is %.0f s)\n", r->iters_asked,
           r->iters, r->second_s, o->mo.budget);
  if (o->train)
    printf("train: best %.1f ms, median %.1f ms of %d -> %.2f samples/s; %.2f GFLOP/step -> "
           "%.1f GFLOP/s = %s %% of peak; loss %.4f\n",
           r->step.best * 1e3, r->step.median * 1e3, r->step.n, r->batch / r->step.best,
           r->step_flop * 1e-9, r->step_flop * 1e-9 / r->step.best,
           bench_pct_text(r->step_flop, r->step.best, peak, pb, sizeof pb), r->loss);
  if (r->infer.n)
    printf("infer: best %.1f ms, median %.1f ms of %d -> %.1f faces/s; %.2f GFLOP/batch -> %.1f "
           "GFLOP/s = %s %% of peak\n",
           r->infer.best * 1e3, r->infer.median * 1e3, r->infer.n, r->batch / r->infer.best,
           r->infer_flop * 1e-9, r->infer_flop * 1e-9 / r->infer.best,
           bench_pct_text(r->infer_flop, r->infer.best, peak, pb, sizeof pb));
  if (r->layer_count) print_layers(r, peak, copy_gbs);
  if (r->kernel_count) print_profile(r);
}

cJSON *bench_stats_json(const ds_bench_stats *s) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "best_s", s->best);
  cJSON_AddNumberToObject(o, "median_s", s->median);
  cJSON_AddNumberToObject(o, "n", s->n);
  return o;
}

static cJSON *quiet_json(const ds_bench_quiet *q) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "load", cJSON_CreateDoubleArray(q->load, 3));
  cJSON_AddNumberToObject(o, "cpu_busy", q->busy);
  cJSON_AddBoolToObject(o, "quiet", q->quiet);
  return o;
}

cJSON *bench_model_json(const ds_bench_model *r, const bench_opts *o, double peak,
                        double copy_gbs) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "model", r->model);
  cJSON_AddNumberToObject(j, "batch", r->batch);
  cJSON_AddNumberToObject(j, "params", (double)r->params);
  cJSON_AddNumberToObject(j, "iters", r->iters);
  cJSON_AddItemToObject(j, "machine", quiet_json(&r->quiet));
  cJSON_AddNumberToObject(j, "warmup_s", r->warmup_s);
  if (o->train) {
    cJSON *t = cJSON_AddObjectToObject(j, "train");
    cJSON_AddItemToObject(t, "step", bench_stats_json(&r->step));
    cJSON_AddNumberToObject(t, "samples_per_s", r->batch / r->step.best);
    cJSON_AddNumberToObject(t, "gflop_per_step", r->step_flop * 1e-9);
    cJSON_AddNumberToObject(t, "gflops", r->step_flop * 1e-9 / r->step.best);
    cJSON_AddNumberToObject(t, "peak_ratio", bench_ratio(r->step_flop, r->step.best, peak));
    cJSON_AddNumberToObject(t, "loss", r->loss);
  }
  if (r->infer.n) {
    cJSON *t = cJSON_AddObjectToObject(j, "infer");
    cJSON_AddItemToObject(t, "forward", bench_stats_json(&r->infer));
    cJSON_AddNumberToObject(t, "faces_per_s", r->batch / r->infer.best);
    cJSON_AddNumberToObject(t, "gflop_per_batch", r->infer_flop * 1e-9);
    cJSON_AddNumberToObject(t, "peak_ratio", bench_ratio(r->infer_flop, r->infer.best, peak));
  }
  if (r->layer_count) {
    cJSON *arr = cJSON_AddArrayToObject(j, "layers");
    for (int p = 0; p < r->layer_count; p++) {
      const ds_bench_layer *x = &r->lr[p];
      cJSON *l = cJSON_CreateObject();
      cJSON_AddStringToObject(l, "name", r->layers[p].name);
      cJSON_AddNumberToObject(l, "fwd_s", x->fwd_s);
      cJSON_AddNumberToObject(l, "fwd_gflop", x->fwd_flop * 1e-9);
      cJSON_AddNumberToObject(l, "fwd_peak_ratio", bench_ratio(x->fwd_flop, x->fwd_s, peak));
      cJSON_AddNumberToObject(l, "bwd_s", x->bwd_s);
      cJSON_AddNumberToObject(l, "bwd_gflop", x->bwd_flop * 1e-9);
      cJSON_AddNumberToObject(l, "bwd_peak_ratio", bench_ratio(x->bwd_flop, x->bwd_s, peak));
      cJSON_AddItemToArray(arr, l);
    }
    cJSON_AddNumberToObject(j, "loss_s", r->loss_s);
    cJSON_AddNumberToObject(j, "adam_s", r->adam_s);
    cJSON_AddNumberToObject(j, "adam_gbs", r->adam_s > 0 ? r->adam_bytes / r->adam_s * 1e-9 : 0);
    cJSON_AddNumberToObject(
        j, "adam_copy_ratio",
        r->adam_s > 0 && copy_gbs > 0 ? r->adam_bytes / r->adam_s * 1e-9 / copy_gbs : 0);
    cJSON_AddNumberToObject(j, "layer_pass_s", r->layers_total_s);
  }
  if (r->kernel_count) {
    cJSON *arr = cJSON_AddArrayToObject(j, "step_kernels");
    for (int i = 0; i < r->kernel_count; i++) {
      cJSON *k = cJSON_CreateObject();
      cJSON_AddStringToObject(k, "name", r->kernels[i].name);
      cJSON_AddNumberToObject(k, "ms", r->kernels[i].ms);
      cJSON_AddNumberToObject(k, "launches", (double)r->kernels[i].launches);
      cJSON_AddItemToArray(arr, k);
    }
    cJSON_AddNumberToObject(j, "step_kernels_ms", r->profile_ms);
  }
  return j;
}

void bench_print_summary(const bench_state *s, const bench_opts *o) {
  if (!s->row_count) return;
  printf("\n%-28s %-10s %6s %11s %7s %9s %7s\n", "device", "model", "batch", "samples/s", "%peak",
         "faces/s", "%peak");
  for (int i = 0; i < s->row_count; i++) {
    const summary_row *r = &s->rows[i];
    printf("%-28.28s %-10s %6u", r->device, r->model, r->batch);
    char tr[16] = "-", ir[16] = "-";
    if (r->train_ratio > 0) snprintf(tr, sizeof tr, "%.1f", 100 * r->train_ratio);
    if (r->infer_ratio > 0) snprintf(ir, sizeof ir, "%.1f", 100 * r->infer_ratio);
    if (o->train)
      printf(" %11.2f %7s", r->samples_s, tr);
    else
      printf(" %11s %7s", "-", "-");
    if (o->infer)
      printf(" %9.1f %7s\n", r->faces_s, ir);
    else
      printf(" %9s %7s\n", "-", "-");
  }
}

ds_status bench_write_json(const char *path, cJSON *root, ds_error *err) {
  char *text = cJSON_Print(root);
  if (!text) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of memory writing %s", path);
  size_t n = strlen(text);
  text[n] = '\n'; /* cJSON's terminator becomes the file's last line break */
  ds_status st = ds_file_write_atomic(path, text, n + 1, err);
  free(text);
  return st;
}

cJSON *bench_json_header(int argc, char **argv) {
  cJSON *root = cJSON_CreateObject();
  char cmd[1024] = "dsengine";
  for (int i = 0; i < argc; i++) {
    size_t n = strlen(cmd);
    snprintf(cmd + n, sizeof cmd - n, " %s", argv[i]);
  }
  cJSON_AddStringToObject(root, "command", cmd);
  char date[32], host[256] = "";
  time_t now = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  cJSON_AddStringToObject(root, "date", date);
  gethostname(host, sizeof host - 1);
  cJSON_AddStringToObject(root, "host", host);
  cJSON_AddNumberToObject(root, "online_cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
  cJSON_AddStringToObject(root, "flop_formula",
                          "train step = 3 x forward; conv fwd 2*n*oh*ow*oc*k*k*c, dense fwd "
                          "2*n*in*out; layer bwd 2 x fwd (1 x for the first layer)");
  return root;
}
