/* Re-reading a model folder's model.json and preview.png into a training
 * feed when they change (model_watch.h). */
#include "engine/monitor/model_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/media/png.h"

/* as the checkpoint reader's bound on model.json */
#define INDEX_MAX_BYTES ((off_t)256 << 20)

void ds_model_watch_init(ds_model_watch *w, const char *model_dir) {
  memset(w, 0, sizeof *w);
  snprintf(w->index_path, sizeof w->index_path, "%s/model.json", model_dir);
  snprintf(w->preview_path, sizeof w->preview_path, "%s/preview.png", model_dir);
}

/* 1 when path differs from *stamp (which is updated), 0 when not. */
static int stamp_changed(const char *path, ds_file_stamp *stamp) {
  struct stat sb;
  ds_file_stamp now = {0};
  if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
    now.present = 1;
    now.dev = sb.st_dev;
    now.ino = sb.st_ino;
    now.size = sb.st_size;
    now.mtime = sb.st_mtim;
  }
  int same = now.present == stamp->present && now.dev == stamp->dev && now.ino == stamp->ino &&
             now.size == stamp->size && now.mtime.tv_sec == stamp->mtime.tv_sec &&
             now.mtime.tv_nsec == stamp->mtime.tv_nsec;
  *stamp = now;
  return !same;
}

static ds_status read_text(const char *path, char **out, ds_error *err) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    const int e = errno;
    if (fd >= 0) close(fd);
    return ds_error_set(err, DS_ERR_IO, "cannot read %s: %s", path, strerror(e));
  }
  if (sb.st_size > INDEX_MAX_BYTES) {
    close(fd);
    return ds_error_set(err, DS_ERR_CORRUPT, "%s: implausibly large for a checkpoint index", path);
  }
  size_t n = (size_t)sb.st_size, got = 0;
  char *text = malloc(n + 1);
  while (text && got < n) {
    ssize_t k = read(fd, text + got, n - got);
    if (k <= 0) break;
    got += (size_t)k;
  }
  close(fd);
  if (!text) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory reading %s", path);
  text[got] = '\0';
  *out = text;
  return DS_OK;
}

/* The iteration in the preview's Title ("dsengine NAME  iteration N  ..."), or -1. */
static long long preview_iteration(const char *path) {
  char *title = NULL;
  long long it = -1;
  if (ds_png_read_text(path, "Title", &title, NULL) == DS_OK && title) {
    const char *p = strstr(title, "iteration ");
    if (p) it = strtoll(p + 10, NULL, 10);
  }
  free(title);
  return it;
}

ds_status ds_model_watch_poll(ds_model_watch *w, ds_train_feed *f, int *changed, ds_error *err) {
  int any = 0;
  ds_status st = DS_OK;
  if (stamp_changed(w->index_path, &w->index) && w->index.present) {
    char *text;
    st = read_text(w->index_path, &text, err);
    if (st == DS_OK) st = ds_train_feed_load_index(f, text, w->index_path, err);
    free(text);
    any = st == DS_OK;
  }
  if (stamp_changed(w->preview_path, &w->preview) && w->preview.present) {
    ds_train_feed_preview_changed(f, preview_iteration(w->preview_path));
    any = 1;
  }
  if (changed) *changed = any;
  return st;
}
