#include "host/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/cl_status.h"
#include "host/program.h"
#include "host/runtime.h"

void ds_profile_record(ds_runtime *rt, cl_kernel k, cl_event ev) {
  if (rt->launch_count == rt->launch_cap) {
    const int cap = rt->launch_cap ? 2 * rt->launch_cap : 256;
    ds_launch *grown = realloc(rt->launches, (size_t)cap * sizeof *grown);
    if (!grown) {
      clReleaseEvent(ev);
      return;
    }
    rt->launches = grown;
    rt->launch_cap = cap;
  }
  rt->launches[rt->launch_count++] = (ds_launch){k, ev};
}

void ds_profile_clear(ds_runtime *rt) {
  for (int i = 0; i < rt->launch_count; i++)
    clReleaseEvent(rt->launches[i].event);
  rt->launch_count = 0;
}

static int by_time(const void *a, const void *b) {
  const ds_kernel_time *x = a, *y = b;
  return (x->ms < y->ms) - (x->ms > y->ms);
}

ds_status ds_profile_take(ds_runtime *rt, ds_kernel_time **out, int *count, ds_error *err) {
  *out = NULL;
  *count = 0;
  cl_int rc = clFinish(rt->queue);
  ds_kernel_time *t = rt->launch_count ? calloc((size_t)rt->launch_count, sizeof *t) : NULL;
  if (rc != CL_SUCCESS || (rt->launch_count && !t)) {
    free(t);
    ds_profile_clear(rt);
    return rc != CL_SUCCESS ? ds_error_set(err, DS_ERR_OPENCL, "work on %s failed: %s",
                                           rt->device.name, ds_cl_status_name(rc))
                            : ds_error_set(err, DS_ERR_NO_MEMORY, "profile: out of host memory");
  }
  int n = 0;
  for (int i = 0; i < rt->launch_count; i++) {
    cl_ulong start = 0, end = 0;
    char name[64];
    clGetEventProfilingInfo(rt->launches[i].event, CL_PROFILING_COMMAND_START, sizeof start, &start,
                            NULL);
    clGetEventProfilingInfo(rt->launches[i].event, CL_PROFILING_COMMAND_END, sizeof end, &end,
                            NULL);
    if (rt->launches[i].kernel)
      ds_kernel_name(rt->launches[i].kernel, name, sizeof name);
    else /* a library's launch (CLBlast): its event, no kernel handle */
      snprintf(name, sizeof name, "(library)");
    int j = 0;
    while (j < n && strcmp(t[j].name, name))
      j++;
    if (j == n) memcpy(t[n++].name, name, sizeof name);
    t[j].ms += end > start ? (double)(end - start) * 1e-6 : 0;
    t[j].launches++;
  }
  ds_profile_clear(rt);
  qsort(t, (size_t)n, sizeof *t, by_time);
  *out = t;
  *count = n;
  return DS_OK;
}
