/* Tuning results: which variant of a kernel won for an (op, shape) on this
 * device, measured once and kept beside the program cache, as text:
 *   <cache dir>/tune-<16 hex digits of device, driver and vendor>.txt
 * a first line "# dsengine tuning: <device> | <driver>", then one entry a
 * line, "<key> = <value>". The file is rewritten whole to a temporary name
 * and renamed, so a reader never sees half; a line that does not parse is
 * skipped (the entry is measured again).
 *
 * rt->tune (DSENGINE_TUNE=off clears it) says whether callers may measure
 * at all; rt->retune makes every lookup miss, so each shape is measured
 * again and its entry replaced. */
#ifndef DS_HOST_TUNE_CACHE_H
#define DS_HOST_TUNE_CACHE_H

#include <stdint.h>

#include "host/runtime.h"

enum { DS_TUNE_KEY_MAX = 96, DS_TUNE_VALUE_MAX = 96 };

typedef struct ds_tune_entry {
  char key[DS_TUNE_KEY_MAX];
  char value[DS_TUNE_VALUE_MAX];
  int fresh; /* measured by this process (kept by a --retune lookup) */
} ds_tune_entry;

/* The value stored for key, or NULL (none, or rt->retune and not measured
 * since). Loads the file on first use. */
const char *ds_tune_get(ds_runtime *rt, const char *key);

/* Stores key = value in memory and rewrites the file (when there is a cache
 * folder). Failing to write only loses the entry for later runs: *written
 * says whether it reached the disk. */
void ds_tune_put(ds_runtime *rt, const char *key, const char *value, int *written);

/* The file tuning results for rt's device go to (empty: no cache folder). */
void ds_tune_path(const ds_runtime *rt, char *path, size_t cap);

/* A hash of the named cl/ programs' sources (from rt->kernel_dir when set,
 * else the embedded copies) for keys of entries that depend on them. */
uint32_t ds_tune_source_tag(const ds_runtime *rt, const char *const *programs, int count);

/* Frees the entries (ds_runtime_destroy calls this). */
void ds_tune_release(ds_runtime *rt);

#endif
