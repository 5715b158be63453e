/* The training feed's publishing side: the trainer's hooks, the runs kept in
 * a checkpoint's state, and loading a saved model.json (feed.h). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/monitor/feed_internal.h"

void ds_feed_utc_now(char out[32]) {
  time_t now = time(NULL);
  struct tm utc;
  if (!gmtime_r(&now, &utc) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) out[0] = '\0';
}

ds_status ds_train_feed_create(ds_train_feed **out, ds_error *err) {
  ds_train_feed *f = calloc(1, sizeof *f);
  if (!f || pthread_mutex_init(&f->lock, NULL) != 0) {
    free(f);
    *out = NULL;
    return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for the training monitor");
  }
  f->checkpoint_iteration = -1;
  f->eta_s = -1;
  *out = f;
  return DS_OK;
}

static void clear_content(ds_train_feed *f) {
  free(f->config_json);
  free(f->row_iteration);
  free(f->row_seconds);
  free(f->row_loss);
  free(f->runs);
  long long generation = f->generation + 1;
  /* everything after the mutex, which the caller holds and which must not be copied */
  memset((char *)f + offsetof(ds_train_feed, state), 0, sizeof *f - offsetof(ds_train_feed, state));
  f->generation = generation;
  f->checkpoint_iteration = -1;
  f->eta_s = -1;
}

void ds_train_feed_destroy(ds_train_feed *f) {
  if (!f) return;
  clear_content(f);
  pthread_mutex_destroy(&f->lock);
  free(f);
}

/* ---- rows and runs (the caller holds the lock) ---- */

static void append_row(ds_train_feed *f, long long iteration, double seconds, const double *loss) {
  if (f->rows_full) return;
  if (f->rows == f->row_cap) {
    long long cap = f->row_cap ? 2 * f->row_cap : 4096;
    long long *it = realloc(f->row_iteration, (size_t)cap * sizeof *it);
    if (it) f->row_iteration = it;
    double *sec = it ? realloc(f->row_seconds, (size_t)cap * sizeof *sec) : NULL;
    if (sec) f->row_seconds = sec;
    float *l = sec ? realloc(f->row_loss, (size_t)cap * (size_t)f->ids * sizeof *l) : NULL;
    if (!l) {
      f->rows_full = 1;
      return;
    }
    f->row_loss = l;
    f->row_cap = cap;
  }
  f->row_iteration[f->rows] = iteration;
  f->row_seconds[f->rows] = seconds;
  for (int i = 0; i < f->ids; i++)
    f->row_loss[f->rows * f->ids + i] = (float)loss[i];
  f->rows++;
}

static feed_run *add_run(ds_train_feed *f) {
  if (f->run_count == f->run_cap) {
    int cap = f->run_cap ? 2 * f->run_cap : 8;
    feed_run *r = realloc(f->runs, (size_t)cap * sizeof *r);
    if (!r) return NULL;
    f->runs = r;
    f->run_cap = cap;
  }
  feed_run *r = &f->runs[f->run_count++];
  memset(r, 0, sizeof *r);
  return r;
}

static double number(const cJSON *o, const char *key, double fallback) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

static void copy_string(char *out, size_t cap, const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  snprintf(out, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* The checkpoint's "loss" ({"A": [[iteration, loss], ...], ...}, every
 * identity saved at the same iterations) up to iteration `upto`, as rows of
 * unknown seconds. A point an identity lacks reads as NaN. */
static void load_history(ds_train_feed *f, const cJSON *loss, long long upto) {
  const cJSON *first = cJSON_GetObjectItemCaseSensitive(loss, f->names[0]);
  int n = cJSON_IsArray(first) ? cJSON_GetArraySize(first) : 0;
  for (int k = 0; k < n; k++) {
    const cJSON *it = cJSON_GetArrayItem(cJSON_GetArrayItem(first, k), 0);
    if (!cJSON_IsNumber(it)) continue;
    long long iteration = (long long)it->valuedouble;
    if (iteration > upto || (f->rows && iteration <= f->row_iteration[f->rows - 1])) continue;
    double v[DS_MAX_IDENTITIES];
    for (int i = 0; i < f->ids; i++) {
      const cJSON *pair =
          cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(loss, f->names[i]), k);
      const cJSON *pi = cJSON_GetArrayItem(pair, 0), *pl = cJSON_GetArrayItem(pair, 1);
      v[i] = cJSON_IsNumber(pi) && (long long)pi->valuedouble == iteration && cJSON_IsNumber(pl)
                 ? pl->valuedouble
                 : NAN;
    }
    append_row(f, iteration, NAN, v);
  }
}

/* The checkpoint's "runs" up to iteration `upto`; a model saved before runs
 * were recorded gets one run covering its history. */
static void load_runs(ds_train_feed *f, const cJSON *state, long long upto) {
  const cJSON *runs = cJSON_GetObjectItemCaseSensitive(state, "runs");
  const cJSON *r;
  cJSON_ArrayForEach(r, runs) {
    long long first = (long long)number(r, "first", -1), last = (long long)number(r, "last", -1);
    if (first < 0 || first >= upto || last < first) continue;
    feed_run *run = add_run(f);
    if (!run) return;
    run->first = first;
    run->last = last < upto ? last : upto;
    run->seconds = number(r, "seconds", 0);
    run->samples_per_s = number(r, "samples_per_s", 0);
    run->batch = (int)number(r, "batch", 0);
    copy_string(run->device, sizeof run->device, r, "device");
    copy_string(run->started, sizeof run->started, r, "started");
  }
  if (f->run_count == 0 && upto > 0) {
    feed_run *run = add_run(f);
    if (!run) return;
    run->last = upto;
    run->seconds = number(state, "train_seconds", 0);
    run->batch = (int)number(state, "batch", 0);
    run->samples_per_s = run->seconds > 0 ? (double)upto * run->batch * f->ids / run->seconds : 0.0;
    copy_string(run->device, sizeof run->device, state, "device");
  }
}

static ds_status set_config(ds_train_feed *f, const ds_model_config *cfg, ds_error *err) {
  f->ids = cfg->decoder_count;
  for (int i = 0; i < f->ids; i++)
    snprintf(f->names[i], sizeof f->names[i], "%s", cfg->decoders[i]);
  f->parameters = (long long)ds_model_param_count(cfg, NULL, NULL);
  f->batch = cfg->batch;
  char *pretty = ds_model_config_to_json(cfg);
  cJSON *parsed = pretty ? cJSON_Parse(pretty) : NULL;
  f->config_json = parsed ? cJSON_PrintUnformatted(parsed) : NULL;
  free(pretty);
  cJSON_Delete(parsed);
  return f->config_json
             ? DS_OK
             : ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for the training monitor");
}

/* ---- the trainer's hooks ---- */

ds_status ds_train_feed_begin(ds_train_feed *f, const ds_model_config *cfg, const char *device,
                              long long first_iteration, long long target, double seconds_before,
                              const char *state_json, ds_error *err) {
  cJSON *state = state_json ? cJSON_Parse(state_json) : NULL;
  pthread_mutex_lock(&f->lock);
  clear_content(f);
  ds_status st = set_config(f, cfg, err);
  if (st == DS_OK) {
    snprintf(f->device, sizeof f->device, "%s", device);
    f->first_iteration = f->iteration = first_iteration;
    f->target = target;
    f->seconds_before = seconds_before;
    f->state = DS_FEED_TRAINING;
    if (state) {
      load_history(f, cJSON_GetObjectItemCaseSensitive(state, "loss"), first_iteration);
      load_runs(f, state, first_iteration);
    }
    feed_run *run = add_run(f);
    if (run) {
      run->first = run->last = first_iteration;
      run->batch = cfg->batch;
      snprintf(run->device, sizeof run->device, "%s", device);
      ds_feed_utc_now(run->started);
    }
  }
  pthread_mutex_unlock(&f->lock);
  cJSON_Delete(state);
  return st;
}

void ds_train_feed_iteration(ds_train_feed *f, long long iteration, double elapsed_s,
                             double samples_per_s, double eta_s, const double *loss,
                             const double *recent) {
  pthread_mutex_lock(&f->lock);
  f->iteration = iteration;
  f->elapsed_s = elapsed_s;
  f->samples_per_s = samples_per_s;
  f->eta_s = eta_s;
  for (int i = 0; i < f->ids; i++)
    f->recent[i] = recent[i];
  append_row(f, iteration, f->seconds_before + elapsed_s, loss);
  if (f->run_count) {
    feed_run *run = &f->runs[f->run_count - 1];
    run->last = iteration;
    run->seconds = elapsed_s;
    run->samples_per_s = samples_per_s;
  }
  pthread_mutex_unlock(&f->lock);
}

void ds_train_feed_preview(ds_train_feed *f, long long iteration) {
  ds_train_feed_preview_changed(f, iteration);
}

void ds_train_feed_preview_changed(ds_train_feed *f, long long iteration) {
  pthread_mutex_lock(&f->lock);
  f->preview_iteration = iteration;
  f->preview_serial++;
  pthread_mutex_unlock(&f->lock);
}

void ds_train_feed_checkpoint(ds_train_feed *f, long long iteration) {
  pthread_mutex_lock(&f->lock);
  f->checkpoint_iteration = iteration;
  ds_feed_utc_now(f->checkpoint_time);
  pthread_mutex_unlock(&f->lock);
}

void ds_train_feed_end(ds_train_feed *f, ds_feed_state state) {
  pthread_mutex_lock(&f->lock);
  f->state = state;
  f->eta_s = state == DS_FEED_TRAINING ? f->eta_s : -1;
  pthread_mutex_unlock(&f->lock);
}

int ds_train_feed_add_runs(ds_train_feed *f, cJSON *state) {
  pthread_mutex_lock(&f->lock);
  int ok = ds_feed_runs_json(state, f);
  pthread_mutex_unlock(&f->lock);
  return ok;
}

/* ---- a saved model ---- */

ds_status ds_train_feed_load_index(ds_train_feed *f, const char *index_json, const char *where,
                                   ds_error *err) {
  cJSON *root = cJSON_Parse(index_json);
  const cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
  const cJSON *state = cJSON_GetObjectItemCaseSensitive(root, "state");
  ds_model_config cfg;
  char *config_text = cJSON_IsObject(config) ? cJSON_PrintUnformatted(config) : NULL;
  ds_status st = DS_OK;
  if (!cJSON_IsObject(root) || !cJSON_IsObject(state) || !config_text)
    st = ds_error_set(err, DS_ERR_CORRUPT,
                      "%s: not a dsengine checkpoint index (no config or state); give --model "
                      "the folder dsengine train writes",
                      where);
  else
    st = ds_model_config_parse(config_text, where, &cfg, err);
  free(config_text);
  if (st != DS_OK) {
    cJSON_Delete(root);
    return st;
  }
  long long iteration = (long long)number(root, "iteration", 0);
  pthread_mutex_lock(&f->lock);
  long long preview_iteration = f->preview_iteration, preview_serial = f->preview_serial;
  clear_content(f);
  st = set_config(f, &cfg, err);
  if (st == DS_OK) {
    f->state = DS_FEED_SAVED;
    f->first_iteration = f->iteration = iteration;
    f->seconds_before = number(state, "train_seconds", 0);
    f->batch = (int)number(state, "batch", cfg.batch);
    copy_string(f->device, sizeof f->device, state, "device");
    f->checkpoint_iteration = iteration;
    copy_string(f->checkpoint_time, sizeof f->checkpoint_time, root, "saved");
    f->preview_iteration = preview_iteration;
    f->preview_serial = preview_serial;
    load_history(f, cJSON_GetObjectItemCaseSensitive(state, "loss"), iteration);
    load_runs(f, state, iteration + 1);
    if (f->rows)
      for (int i = 0; i < f->ids; i++)
        f->recent[i] = f->row_loss[(f->rows - 1) * f->ids + i];
    if (f->run_count) f->samples_per_s = f->runs[f->run_count - 1].samples_per_s;
  }
  pthread_mutex_unlock(&f->lock);
  cJSON_Delete(root);
  return st;
}

/* ---- rows for a plot ---- */

long long ds_train_feed_copy_rows(ds_train_feed *f, long long max_rows, ds_feed_row **rows,
                                  int *identities, char names[DS_MAX_IDENTITIES][32],
                                  long long run_starts[DS_FEED_MAX_RUN_MARKS], int *run_count) {
  pthread_mutex_lock(&f->lock);
  *identities = f->ids;
  memcpy(names, f->names, sizeof f->names);
  int from = f->run_count > DS_FEED_MAX_RUN_MARKS ? f->run_count - DS_FEED_MAX_RUN_MARKS : 0;
  *run_count = f->run_count - from;
  for (int k = from; k < f->run_count; k++)
    run_starts[k - from] = f->runs[k].first;
  /* buckets of consecutive rows, each shown as its mean at its last iteration */
  const long long bucket = f->rows > max_rows ? (f->rows + max_rows - 1) / max_rows : 1;
  long long n = (f->rows + bucket - 1) / bucket;
  *rows = malloc((size_t)(n ? n : 1) * sizeof **rows);
  if (!*rows) n = -1;
  for (long long o = 0; o < n; o++) {
    const long long a = o * bucket, b = a + bucket < f->rows ? a + bucket : f->rows;
    ds_feed_row *out = &(*rows)[o];
    out->iteration = f->row_iteration[b - 1];
    out->seconds = f->row_seconds[b - 1];
    for (int i = 0; i < f->ids; i++) {
      double sum = 0;
      int count = 0;
      for (long long r = a; r < b; r++) {
        const float v = f->row_loss[r * f->ids + i];
        if (isfinite(v)) {
          sum += v;
          count++;
        }
      }
      out->loss[i] = count ? (float)(sum / count) : NAN;
    }
  }
  pthread_mutex_unlock(&f->lock);
  return n;
}
