/* The feed's fields, shared by feed.c (publishing and loading) and
 * feed_json.c (the readers' JSON views). Every field is guarded by lock. */
#ifndef DS_ENGINE_MONITOR_FEED_INTERNAL_H
#define DS_ENGINE_MONITOR_FEED_INTERNAL_H

#include <cjson/cJSON.h>
#include <pthread.h>

#include "engine/monitor/feed.h"

typedef struct feed_run {
  long long first, last; /* iterations (first, last] were trained in this run */
  double seconds, samples_per_s;
  int batch;
  char device[128];
  char started[32]; /* ISO-8601 UTC, "" when unknown */
} feed_run;

struct ds_train_feed {
  pthread_mutex_t lock; /* first: clear_content zeroes every field after it */
  ds_feed_state state;
  long long generation; /* bumped whenever the content is replaced, not appended to */
  int ids;
  char names[DS_MAX_IDENTITIES][32];
  char *config_json; /* compact JSON object, NULL before the first run */
  long long parameters;
  int batch;
  char device[128];
  long long first_iteration, iteration, target;
  double seconds_before, elapsed_s, samples_per_s, eta_s;
  double recent[DS_MAX_IDENTITIES];
  long long checkpoint_iteration; /* -1: none */
  char checkpoint_time[32];
  long long preview_iteration, preview_serial; /* serial 0: no preview yet */
  /* the loss table, column-wise: loss[r * ids + i] */
  long long *row_iteration;
  double *row_seconds;
  float *row_loss;
  long long rows, row_cap;
  int rows_full; /* an allocation failed: rows are no longer recorded */
  feed_run *runs;
  int run_count, run_cap;
};

/* The ISO-8601 UTC time of now into out[32]. */
void ds_feed_utc_now(char out[32]);
/* Adds "runs" (every run's first and last iteration, time, speed, batch,
 * device, start) to root; the caller holds the lock. 1 on success. */
int ds_feed_runs_json(cJSON *root, const ds_train_feed *f);

#endif
