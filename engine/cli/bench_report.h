/* dsengine bench's options and results as the command (cmd_bench.c, which
 * parses and measures) and its report (bench_report.c: tables on screen and
 * the JSON file) share them. Only engine/cli includes this. */
#ifndef DS_ENGINE_CLI_BENCH_REPORT_H
#define DS_ENGINE_CLI_BENCH_REPORT_H

#include <cjson/cJSON.h>

#include "core/error.h"
#include "engine/bench/bench_util.h"
#include "engine/bench/model_bench.h"

enum { MAX_LIST = 8, MAX_SHAPES = 16 };

typedef struct bench_opts {
  const char *models[MAX_LIST];
  int model_count;
  unsigned batches[MAX_LIST];
  int batch_count;
  unsigned shapes[MAX_SHAPES][4];
  int shape_count;
  int reps, retune, profile;
  int peak, gemm, train, layers, infer; /* parts to run */
  double peak_given;
  ds_bench_model_options mo;
  const char *json_path;
  char model_buf[512], batch_buf[64];
} bench_opts;

/* One summary row per model and batch, kept for the table at the end. */
typedef struct summary_row {
  char device[64], model[64];
  unsigned batch;
  double samples_s, train_ratio, faces_s, infer_ratio;
} summary_row;

typedef struct bench_state {
  summary_row rows[64];
  int row_count;
  cJSON *devices; /* array, NULL without --json */
} bench_state;

/* The tables of one model and batch on one device (layers, step, profile). */
void bench_print_model(const ds_bench_model *r, const bench_opts *o, double peak, double copy_gbs);
/* The same as a JSON object for --json. */
cJSON *bench_model_json(const ds_bench_model *r, const bench_opts *o, double peak, double copy_gbs);
/* GFLOP/s over peak as a percentage ("12.3"), or "-" without a peak. */
const char *bench_pct_text(double flop, double seconds, double peak, char *buf, size_t cap);
double bench_ratio(double flop, double seconds, double peak);
/* A timing's statistics (best, median, runs) as a JSON object. */
cJSON *bench_stats_json(const ds_bench_stats *s);
/* The closing table: every device, model and batch. */
void bench_print_summary(const bench_state *s, const bench_opts *o);
/* The JSON file: its header (command, date, host) and the whole, atomically. */
cJSON *bench_json_header(int argc, char **argv);
ds_status bench_write_json(const char *path, cJSON *root, ds_error *err);

#endif
