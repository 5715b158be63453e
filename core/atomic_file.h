/* Files written whole or not at all, under one temporary-name scheme, and
 * the folders they go into.
 *
 * Every file the engine writes for a user or for itself (checkpoints,
 * model.json, previews, alignments, the program and tuning caches, bench
 * JSON) goes to "<path>.tmp-<pid>" in the same folder, is flushed and
 * fsynced, renamed over <path>, and the folder is fsynced. A crash leaves
 * <path> as it was and at most a temporary file, which
 * ds_atomic_remove_stale recognises by its name and removes once its
 * writer is gone. */
#ifndef DS_CORE_ATOMIC_FILE_H
#define DS_CORE_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

#define DS_ATOMIC_TMP_TAG ".tmp-"

typedef struct ds_atomic_file {
  const char *path; /* the caller's; must outlive the file */
  char *tmp;        /* <path>.tmp-<pid> */
  FILE *f;          /* write here between open and commit */
} ds_atomic_file;

/* Opens the temporary file for writing ("wb"). A failure is DS_ERR_IO naming
 * path and the reason. */
ds_status ds_atomic_open(ds_atomic_file *af, const char *path, ds_error *err);
/* Flushes, fsyncs, renames over path and fsyncs the folder; on failure the
 * temporary file is removed and path is untouched. Closes af either way. */
ds_status ds_atomic_commit(ds_atomic_file *af, ds_error *err);
/* Drops the temporary file. Safe after a failed open or a commit. */
void ds_atomic_abort(ds_atomic_file *af);
/* DS_ERR_IO for path with errnum's reason and what to check. */
ds_status ds_atomic_write_failed(const char *path, int errnum, ds_error *err);

/* n bytes to path with the protocol above. */
ds_status ds_file_write_atomic(const char *path, const void *data, size_t n, ds_error *err);

/* Creates dir and its parents (mkdir -p). A failure is DS_ERR_IO naming
 * "the <what> <dir>" and the reason. */
ds_status ds_make_dirs(const char *dir, const char *what, ds_error *err);

/* Whether a file name is a temporary file of this scheme; *pid receives its
 * writer's process id. */
int ds_atomic_is_temporary(const char *name, long *pid);
/* Removes the temporary files in dir whose writer is no longer running (or
 * is this process, which has none open when it calls this). Returns how
 * many it removed; failures only waste disk. */
int ds_atomic_remove_stale(const char *dir);

#endif
