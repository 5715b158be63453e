/* Per-kernel device time, for benchmarks: with a runtime opened with
 * DS_RUNTIME_PROFILING, every ds_kernel_launch keeps its event; the report
 * waits for them and sums the device's start-to-end times by kernel name.
 * Without profiling nothing is recorded. */
#ifndef DS_HOST_PROFILE_H
#define DS_HOST_PROFILE_H

#include <CL/cl.h>
#include <stddef.h>

#include "core/error.h"

typedef struct ds_runtime ds_runtime;

typedef struct ds_kernel_time {
  char name[64];
  double ms; /* device time, all launches */
  long launches;
} ds_kernel_time;

/* Keeps ev (owned from here on) as a launch of k (NULL: a library's launch,
 * listed as "(library)"). Out of memory: dropped. */
void ds_profile_record(ds_runtime *rt, cl_kernel k, cl_event ev);

/* Waits for the recorded launches and returns their totals by kernel, the
 * largest first (*out malloc'd, caller frees), then forgets them. */
ds_status ds_profile_take(ds_runtime *rt, ds_kernel_time **out, int *count, ds_error *err);

/* Forgets recorded launches (releasing their events). */
void ds_profile_clear(ds_runtime *rt);

#endif
