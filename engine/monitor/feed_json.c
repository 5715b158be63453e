/* The training feed's readers' side: /status.json and /loss.json as text
 * (formats in README.md, "Watching training"). Each copies what it needs
 * under the lock and formats outside it where the amount is large. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/monitor/feed_internal.h"

static const char *state_name(ds_feed_state s) {
  switch (s) {
  case DS_FEED_WAITING: return "waiting";
  case DS_FEED_TRAINING: return "training";
  case DS_FEED_FINISHED: return "finished";
  case DS_FEED_INTERRUPTED: return "interrupted";
  case DS_FEED_FAILED: return "failed";
  case DS_FEED_SAVED: return "saved";
  }
  return "unknown";
}

/* A number, or null for NaN, infinities and "unknown" negatives. */
static cJSON *add_number_or_null(cJSON *o, const char *key, double v, int negative_is_unknown) {
  if (!isfinite(v) || (negative_is_unknown && v < 0)) return cJSON_AddNullToObject(o, key);
  return cJSON_AddNumberToObject(o, key, v);
}

int ds_feed_runs_json(cJSON *root, const ds_train_feed *f) {
  cJSON *runs = cJSON_AddArrayToObject(root, "runs");
  int ok = runs != NULL;
  for (int k = 0; ok && k < f->run_count; k++) {
    const feed_run *r = &f->runs[k];
    cJSON *o = cJSON_CreateObject();
    ok = o && cJSON_AddItemToArray(runs, o) &&
         cJSON_AddNumberToObject(o, "first", (double)r->first) &&
         cJSON_AddNumberToObject(o, "last", (double)r->last) &&
         cJSON_AddNumberToObject(o, "seconds", r->seconds) &&
         cJSON_AddNumberToObject(o, "samples_per_s", r->samples_per_s) &&
         cJSON_AddNumberToObject(o, "batch", r->batch) &&
         cJSON_AddStringToObject(o, "device", r->device) &&
         cJSON_AddStringToObject(o, "started", r->started);
  }
  return ok;
}

char *ds_train_feed_status_json(ds_train_feed *f) {
  cJSON *root = cJSON_CreateObject();
  pthread_mutex_lock(&f->lock);
  int ok = root && cJSON_AddStringToObject(root, "state", state_name(f->state)) &&
           cJSON_AddNumberToObject(root, "generation", (double)f->generation) &&
           cJSON_AddNumberToObject(root, "iteration", (double)f->iteration) &&
           cJSON_AddNumberToObject(root, "run_first_iteration", (double)f->first_iteration) &&
           add_number_or_null(root, "target", f->target > 0 ? (double)f->target : -1.0, 1) &&
           cJSON_AddNumberToObject(root, "elapsed_s", f->elapsed_s) &&
           cJSON_AddNumberToObject(root, "train_seconds", f->seconds_before + f->elapsed_s) &&
           cJSON_AddNumberToObject(root, "samples_per_s", f->samples_per_s) &&
           add_number_or_null(root, "eta_s", f->eta_s, 1) &&
           cJSON_AddStringToObject(root, "device", f->device) &&
           cJSON_AddNumberToObject(root, "parameters", (double)f->parameters) &&
           cJSON_AddNumberToObject(root, "batch", f->batch) &&
           cJSON_AddNumberToObject(root, "rows", (double)f->rows);
  cJSON *names = ok ? cJSON_AddArrayToObject(root, "identities") : NULL;
  cJSON *loss = ok ? cJSON_AddObjectToObject(root, "loss") : NULL;
  ok = names && loss;
  for (int i = 0; ok && i < f->ids; i++)
    ok = cJSON_AddItemToArray(names, cJSON_CreateString(f->names[i])) &&
         add_number_or_null(loss, f->names[i], f->recent[i], 0);
  cJSON *config = f->config_json ? cJSON_Parse(f->config_json) : cJSON_CreateNull();
  ok = ok && config && cJSON_AddItemToObject(root, "config", config);
  if (!ok) cJSON_Delete(config);
  if (ok && f->checkpoint_iteration >= 0) {
    cJSON *c = cJSON_AddObjectToObject(root, "checkpoint");
    ok = c && cJSON_AddNumberToObject(c, "iteration", (double)f->checkpoint_iteration) &&
         cJSON_AddStringToObject(c, "time", f->checkpoint_time);
  } else if (ok) {
    ok = cJSON_AddNullToObject(root, "checkpoint") != NULL;
  }
  if (ok && f->preview_serial > 0) {
    cJSON *p = cJSON_AddObjectToObject(root, "preview");
    ok = p && add_number_or_null(p, "iteration", (double)f->preview_iteration, 1) &&
         cJSON_AddNumberToObject(p, "serial", (double)f->preview_serial);
  } else if (ok) {
    ok = cJSON_AddNullToObject(root, "preview") != NULL;
  }
  ok = ok && ds_feed_runs_json(root, f);
  pthread_mutex_unlock(&f->lock);
  char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  return text;
}

/* ---- /loss.json: rows formatted by hand, thousands at a time ---- */

typedef struct text {
  char *s;
  size_t n, cap;
  int failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
  if (t->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->s + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    if (k < 0) {
      t->failed = 1;
      return;
    }
    if ((size_t)k < t->cap - t->n) {
      t->n += (size_t)k;
      return;
    }
    size_t cap = 2 * t->cap + (size_t)k + 64;
    char *s = realloc(t->s, cap);
    if (!s) {
      t->failed = 1;
      return;
    }
    t->s = s;
    t->cap = cap;
  }
}

static void put_value(text *t, double v) {
  if (isfinite(v))
    put(t, ",%.7g", v);
  else
    put(t, ",null");
}

static void put_string(text *t, const char *s) {
  put(t, "\"");
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      put(t, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      put(t, "\\u%04x", (unsigned char)*s);
    else
      put(t, "%c", *s);
  }
  put(t, "\"");
}

char *ds_train_feed_loss_json(ds_train_feed *f, long long since, int max_rows) {
  pthread_mutex_lock(&f->lock);
  const int ids = f->ids;
  const long long generation = f->generation, total = f->rows;
  char names[DS_MAX_IDENTITIES][32];
  memcpy(names, f->names, sizeof names);
  /* first row past since: rows are strictly increasing in iteration */
  long long lo = 0, hi = f->rows;
  while (lo < hi) {
    long long mid = lo + (hi - lo) / 2;
    if (f->row_iteration[mid] <= since)
      lo = mid + 1;
    else
      hi = mid;
  }
  long long n = f->rows - lo < max_rows ? f->rows - lo : max_rows;
  long long *it = malloc((size_t)(n ? n : 1) * sizeof *it);
  double *sec = malloc((size_t)(n ? n : 1) * sizeof *sec);
  float *loss = malloc((size_t)(n ? n : 1) * (size_t)(ids ? ids : 1) * sizeof *loss);
  if (it && sec && loss && n > 0) {
    memcpy(it, f->row_iteration + lo, (size_t)n * sizeof *it);
    memcpy(sec, f->row_seconds + lo, (size_t)n * sizeof *sec);
    memcpy(loss, f->row_loss + lo * ids, (size_t)n * (size_t)ids * sizeof *loss);
  }
  const int more = lo + n < f->rows;
  pthread_mutex_unlock(&f->lock);

  text t = {0};
  if (!it || !sec || !loss) t.failed = 1;
  put(&t, "{\"generation\":%lld,\"since\":%lld,\"total\":%lld,\"identities\":[", generation, since,
      total);
  for (int i = 0; i < ids; i++) {
    if (i) put(&t, ",");
    put_string(&t, names[i]);
  }
  put(&t, "],\"columns\":[\"iteration\",\"seconds\"");
  for (int i = 0; i < ids; i++) {
    put(&t, ",");
    put_string(&t, names[i]);
  }
  put(&t, "],\"rows\":[");
  for (long long r = 0; r < n && !t.failed; r++) {
    put(&t, "%s[%lld", r ? "," : "", it[r]);
    put_value(&t, sec[r]);
    for (int i = 0; i < ids; i++)
      put_value(&t, loss[r * ids + i]);
    put(&t, "]");
  }
  put(&t, "],\"next\":%lld,\"more\":%s}", n > 0 ? it[n - 1] : since, more ? "true" : "false");
  free(it);
  free(sec);
  free(loss);
  if (t.failed) {
    free(t.s);
    return NULL;
  }
  return t.s;
}
