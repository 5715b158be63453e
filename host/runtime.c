#include "host/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/cl_status.h"
#include "host/profile.h"
#include "host/program.h"
#include "host/program_cache.h"
#include "host/tune_cache.h"

ds_status ds_runtime_create(ds_runtime **out, const ds_device_desc *dev, unsigned flags,
                            ds_error *err) {
  *out = NULL;
  ds_runtime *rt = calloc(1, sizeof *rt);
  if (!rt) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory creating a runtime");
  rt->device = *dev;
  rt->profile = ds_vendor_profile_for(dev->vendor_class);
  rt->profiling = (flags & DS_RUNTIME_PROFILING) != 0;

  cl_int rc;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform, 0};
  rt->context = clCreateContext(props, 1, &dev->id, NULL, NULL, &rc);
  if (rc != CL_SUCCESS) {
    free(rt);
    return ds_error_set(err, DS_ERR_OPENCL,
                        "cannot create an OpenCL context on %s (%s): %s; the driver may be "
                        "broken or the device busy, try another --device",
                        dev->name, dev->platform_name, ds_cl_status_name(rc));
  }
  /* clCreateCommandQueue is deprecated in 2.0 but is the call every 1.2
   * driver has. */
  rt->queue = clCreateCommandQueue(rt->context, dev->id,
                                   rt->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &rc);
  if (rc != CL_SUCCESS) {
    clReleaseContext(rt->context);
    free(rt);
    return ds_error_set(err, DS_ERR_OPENCL, "cannot create a command queue on %s: %s", dev->name,
                        ds_cl_status_name(rc));
  }

  const char *kdir = getenv("DSENGINE_KERNEL_DIR");
  if (kdir && *kdir) snprintf(rt->kernel_dir, sizeof rt->kernel_dir, "%s", kdir);
  ds_program_cache_default_dir(rt->cache_dir, sizeof rt->cache_dir);
  const char *tune = getenv("DSENGINE_TUNE");
  rt->tune = !(tune && (!strcmp(tune, "off") || !strcmp(tune, "0")));
  *out = rt;
  return DS_OK;
}

ds_status ds_runtime_open(ds_runtime **out, const char *spec, const char *origin, unsigned flags,
                          ds_error *err) {
  *out = NULL;
  ds_device_list list;
  ds_status st = ds_devices_discover(&list, err);
  if (st != DS_OK) return st;
  int idx = 0;
  st = ds_device_select(list.items, list.count, spec, origin, &idx, err);
  if (st == DS_OK) st = ds_runtime_create(out, &list.items[idx], flags, err);
  ds_device_list_free(&list);
  return st;
}

void ds_runtime_destroy(ds_runtime *rt) {
  if (!rt) return;
  ds_profile_clear(rt);
  free(rt->launches);
  ds_program_release_all(rt);
  ds_tune_release(rt);
  if (rt->queue) clReleaseCommandQueue(rt->queue);
  if (rt->context) clReleaseContext(rt->context);
  free(rt);
}

ds_status ds_runtime_finish(ds_runtime *rt, ds_error *err) {
  cl_int rc = clFinish(rt->queue);
  if (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "out of device memory: work on %s failed: %s",
                        rt->device.name, ds_cl_status_name(rc));
  if (rc != CL_SUCCESS)
    return ds_error_set(err, DS_ERR_OPENCL, "work on %s failed: %s", rt->device.name,
                        ds_cl_status_name(rc));
  return DS_OK;
}
