/* The training feed: what a run publishes for whoever watches it (the
 * monitor's HTTP server, loss.png), as copies the trainer makes after each
 * iteration, preview and checkpoint. Readers never touch the trainer's own
 * buffers; they take the feed's mutex only to copy a bounded amount (a
 * status, at most one page of loss rows), so a step never waits for a page.
 *
 * The loss history is a table of rows (iteration, training seconds, loss of
 * each identity), strictly increasing in iteration: the earlier runs' points
 * from the checkpoint's state (a mean per save interval, seconds unknown),
 * then one row per iteration of this run. Runs (first and last iteration,
 * seconds, samples/s, batch, device, start time) are kept in the
 * checkpoint's state as "runs" so a later monitor can mark them. A feed that
 * cannot grow (out of memory) stops recording rows; training goes on. */
#ifndef DS_ENGINE_MONITOR_FEED_H
#define DS_ENGINE_MONITOR_FEED_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "core/error.h"
#include "engine/model/config.h"

typedef struct ds_train_feed ds_train_feed;

typedef enum ds_feed_state {
  DS_FEED_WAITING,     /* nothing published yet */
  DS_FEED_TRAINING,    /* a run of this process is going on */
  DS_FEED_FINISHED,    /* the run ended as asked */
  DS_FEED_INTERRUPTED, /* stopped by a signal, saved */
  DS_FEED_FAILED,      /* the run stopped on an error */
  DS_FEED_SAVED,       /* read from a model folder (dsengine monitor) */
} ds_feed_state;

/* One row of the loss table as readers receive it. */
typedef struct ds_feed_row {
  long long iteration;
  double seconds; /* training seconds of the model at this iteration; NAN if unknown */
  float loss[DS_MAX_IDENTITIES];
} ds_feed_row;

ds_status ds_train_feed_create(ds_train_feed **out, ds_error *err);
void ds_train_feed_destroy(ds_train_feed *f);

/* ---- the trainer's side ---- */

/* Starts a run of cfg at first_iteration on device. state_json is the
 * checkpoint's state when resuming (NULL for a new model): its "loss" and
 * "runs" past first_iteration are dropped, as the trainer drops them.
 * seconds_before is the model's training time before this run; target the
 * iteration to reach (0: open-ended). Replaces whatever the feed held. */
ds_status ds_train_feed_begin(ds_train_feed *f, const ds_model_config *cfg, const char *device,
                              long long first_iteration, long long target, double seconds_before,
                              const char *state_json, ds_error *err);

/* After iteration `iteration`: loss holds this iteration's loss per identity,
 * recent the mean of the last few; elapsed_s is this run's time. */
void ds_train_feed_iteration(ds_train_feed *f, long long iteration, double elapsed_s,
                             double samples_per_s, double eta_s, const double *loss,
                             const double *recent);
void ds_train_feed_preview(ds_train_feed *f, long long iteration);
void ds_train_feed_checkpoint(ds_train_feed *f, long long iteration);
void ds_train_feed_end(ds_train_feed *f, ds_feed_state state);

/* Adds "runs" (every run, this one included) to a checkpoint's state object;
 * 0 when out of memory. */
int ds_train_feed_add_runs(ds_train_feed *f, cJSON *state);

/* ---- a saved model (dsengine monitor, or the main job's finished model) ---- */

/* Replaces the feed's content with the model of model.json's text: config,
 * iteration, save time, state (loss, runs, device, train_seconds). where
 * names the file in errors. State becomes DS_FEED_SAVED. */
ds_status ds_train_feed_load_index(ds_train_feed *f, const char *index_json, const char *where,
                                   ds_error *err);
/* A new preview.png of the given iteration (-1: unknown) appeared. */
void ds_train_feed_preview_changed(ds_train_feed *f, long long iteration);

/* ---- the readers' side ---- */

/* The status as JSON text (documented in README.md, "Watching training");
 * malloc'd, NULL when out of memory. */
char *ds_train_feed_status_json(ds_train_feed *f);

/* Rows with iteration > since, at most max_rows of them, as JSON text
 * (README.md); malloc'd, NULL when out of memory. */
char *ds_train_feed_loss_json(ds_train_feed *f, long long since, int max_rows);

/* Copies the rows into *rows (malloc'd, caller frees): all of them when
 * there are at most max_rows, else the means of equal runs of consecutive
 * rows (at the last iteration of each), at most max_rows. Also the identity
 * names and the first iteration of each run (the latest
 * DS_FEED_MAX_RUN_MARKS). Returns the row count, or -1 when out of memory. */
enum { DS_FEED_MAX_RUN_MARKS = 64 };
long long ds_train_feed_copy_rows(ds_train_feed *f, long long max_rows, ds_feed_row **rows,
                                  int *identities, char names[DS_MAX_IDENTITIES][32],
                                  long long run_starts[DS_FEED_MAX_RUN_MARKS], int *run_count);

#endif
