/* Watching a model folder from outside the training (dsengine monitor, or
 * the main job's finished model): model.json and preview.png are re-read
 * into a training feed whenever they change. Both are replaced by rename, so
 * every read sees a whole file. */
#ifndef DS_ENGINE_MONITOR_MODEL_WATCH_H
#define DS_ENGINE_MONITOR_MODEL_WATCH_H

#include <sys/types.h>
#include <time.h>

#include "core/error.h"
#include "engine/monitor/feed.h"

typedef struct ds_file_stamp {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  int present;
} ds_file_stamp;

typedef struct ds_model_watch {
  char index_path[1100], preview_path[1100];
  ds_file_stamp index, preview;
} ds_model_watch;

void ds_model_watch_init(ds_model_watch *w, const char *model_dir);

/* Reloads what changed since the last call into f. *changed (may be NULL)
 * is set when anything was reloaded. A missing model.json is not an error
 * (training may not have saved yet); an unreadable or invalid one is, naming
 * the file, and the feed keeps what it had. */
ds_status ds_model_watch_poll(ds_model_watch *w, ds_train_feed *f, int *changed, ds_error *err);

#endif
