/* OpenCL device discovery, classification, ranking and selection.
 *
 * Discovery fills plain descriptions (ds_device_desc); ranking and selection
 * work on descriptions alone, so tests can feed synthetic machines. */
#ifndef DS_HOST_DEVICE_H
#define DS_HOST_DEVICE_H

#include <CL/cl.h>
#include <stdint.h>

#include "core/error.h"

typedef enum ds_device_kind {
  DS_KIND_DISCRETE_GPU = 0, /* ranked first */
  DS_KIND_INTEGRATED_GPU,
  DS_KIND_ACCELERATOR,
  DS_KIND_CPU,
  DS_KIND_OTHER,
} ds_device_kind;

/* Who made the compute units. CPU devices are DS_VENDOR_CPU whatever their
 * vendor string says (PoCL on an AMD EPYC reports Intel's vendor id), so
 * "amd", "intel" and "nvidia" always mean a GPU or accelerator. */
typedef enum ds_vendor_class {
  DS_VENDOR_AMD = 0,
  DS_VENDOR_INTEL,
  DS_VENDOR_NVIDIA,
  DS_VENDOR_APPLE,
  DS_VENDOR_CPU,
  DS_VENDOR_OTHER,
  DS_VENDOR_COUNT
} ds_vendor_class;

typedef struct ds_device_desc {
  int index; /* position in the listing, across all platforms */
  int platform_index;
  char platform_name[128];
  char platform_vendor[128];
  char name[256];
  char vendor[128];
  char version[128];        /* CL_DEVICE_VERSION */
  char driver_version[128]; /* CL_DRIVER_VERSION */
  unsigned vendor_id;
  ds_device_kind kind;
  ds_vendor_class vendor_class;
  unsigned compute_units;
  unsigned clock_mhz;
  uint64_t global_mem_bytes;
  uint64_t max_alloc_bytes;
  uint64_t local_mem_bytes;
  size_t max_work_group_size;
  int fp64;                /* double precision in kernels (cl_khr_fp64) */
  cl_platform_id platform; /* NULL in synthetic descriptions */
  cl_device_id id;
} ds_device_desc;

typedef struct ds_device_list {
  ds_device_desc *items;
  int count;
} ds_device_list;

/* Every device of every platform. No platform at all is DS_ERR_NOT_FOUND with
 * a message that says how to install one. Free with ds_device_list_free. */
ds_status ds_devices_discover(ds_device_list *out, ds_error *err);
void ds_device_list_free(ds_device_list *list);

ds_device_kind ds_device_kind_from_cl(cl_device_type type, int host_unified_memory);
ds_vendor_class ds_vendor_classify(unsigned vendor_id, const char *vendor, const char *name,
                                   ds_device_kind kind);
const char *ds_device_kind_name(ds_device_kind kind);
const char *ds_vendor_class_name(ds_vendor_class vendor);

/* < 0 when a ranks before b: kind, then compute units x clock, then memory,
 * then listing order. */
int ds_device_rank_compare(const ds_device_desc *a, const ds_device_desc *b);

/* Resolves a device spec: NULL, "" or "auto" (the best ranked), an index,
 * "cpu", "gpu", "accelerator", a vendor ("amd", "intel", "nvidia", "apple"),
 * or a case-insensitive substring of the device name, vendor or platform.
 * Among several matches the best ranked wins. origin names where the spec
 * came from ("--device", "DSENGINE_DEVICE") for the error message, which
 * lists what exists. */
ds_status ds_device_select(const ds_device_desc *devs, int n, const char *spec, const char *origin,
                           int *index, ds_error *err);

/* A short human size: "3.82 GiB". Writes into buf and returns it. */
const char *ds_format_bytes(uint64_t bytes, char *buf, int cap);

#endif
