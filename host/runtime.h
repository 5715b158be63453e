/* One device in use: its context, queue, programs and their disk cache.
 *
 * Environment read at creation:
 *   DSENGINE_CACHE_DIR  program binary cache folder ("off" disables it);
 *                       default $XDG_CACHE_HOME/dsengine, else ~/.cache/dsengine
 *   DSENGINE_KERNEL_DIR read cl/ sources from this folder instead of the copy
 *                       embedded in the binary (kernel development)
 *   DSENGINE_TUNE       "off": never measure kernel variants, use the vendor
 *                       profile's (tests, for fixed kernels) */
#ifndef DS_HOST_RUNTIME_H
#define DS_HOST_RUNTIME_H

#include <CL/cl.h>

#include "host/device.h"
#include "core/error.h"
#include "host/vendor.h"

enum { DS_RUNTIME_PROFILING = 1u << 0 };
enum { DS_PATH_MAX = 1024 };

typedef struct ds_program_stats {
  int source_builds; /* programs compiled from source */
  int cache_hits;    /* programs loaded from the binary cache */
  int cache_writes;  /* binaries written to the cache */
  int cache_rejects; /* cache files found corrupt or unusable, then rebuilt */
} ds_program_stats;

typedef struct ds_program_entry ds_program_entry;
typedef struct ds_tune_entry ds_tune_entry;

/* A kernel launch kept for host/profile.h. */
typedef struct ds_launch {
  cl_kernel kernel;
  cl_event event;
} ds_launch;

typedef struct ds_runtime {
  ds_device_desc device;
  const ds_vendor_profile *profile;
  cl_context context;
  cl_command_queue queue;
  int profiling; /* DS_RUNTIME_PROFILING: launches are kept (host/profile.h) */
  ds_launch *launches;
  int launch_count, launch_cap;
  char cache_dir[DS_PATH_MAX];  /* empty: no disk cache */
  char kernel_dir[DS_PATH_MAX]; /* empty: embedded sources */
  ds_program_stats stats;
  ds_program_entry *programs; /* built embedded programs, owned */
  int program_count, program_cap;
  /* host/tune_cache.h: kernel variants measured per shape */
  int tune;   /* 1: ops may measure their variants (DSENGINE_TUNE=off: 0) */
  int retune; /* 1: measure again, ignoring what the tuning file holds */
  ds_tune_entry *tune_entries;
  int tune_count, tune_cap, tune_loaded;
  /* told one line per shape measured (the first with what tuning is), so
   * a first run does not sit silent while it tunes; NULL: quiet */
  void (*tune_note)(const char *line, void *user);
  void *tune_note_user;
  int tuned_shapes;     /* shapes measured by this runtime */
  double tuned_seconds; /* and the time that took */
} ds_runtime;

/* Creates a context and an in-order queue on dev. */
ds_status ds_runtime_create(ds_runtime **out, const ds_device_desc *dev, unsigned flags,
                            ds_error *err);
/* Discovers devices, resolves spec (see ds_device_select) and creates the
 * runtime on the chosen one. */
ds_status ds_runtime_open(ds_runtime **out, const char *spec, const char *origin, unsigned flags,
                          ds_error *err);
void ds_runtime_destroy(ds_runtime *rt);

/* Waits for the queue; reports a failed kernel or transfer by name. */
ds_status ds_runtime_finish(ds_runtime *rt, ds_error *err);

#endif
