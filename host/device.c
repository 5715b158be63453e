#include "host/device.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "host/cl_status.h"

/* PCI vendor ids that OpenCL drivers report. */
enum {
  PCI_AMD = 0x1002,
  PCI_AMD_CPU = 0x1022,
  PCI_INTEL = 0x8086,
  PCI_NVIDIA = 0x10de,
  PCI_APPLE = 0x106b
};

static int contains_nocase(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  if (n == 0) return 1;
  for (; *hay; hay++) {
    size_t i = 0;
    while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
      i++;
    if (i == n) return 1;
  }
  return 0;
}

ds_device_kind ds_device_kind_from_cl(cl_device_type type, int host_unified_memory) {
  if (type & CL_DEVICE_TYPE_GPU)
    return host_unified_memory ? DS_KIND_INTEGRATED_GPU : DS_KIND_DISCRETE_GPU;
  if (type & CL_DEVICE_TYPE_ACCELERATOR) return DS_KIND_ACCELERATOR;
  if (type & CL_DEVICE_TYPE_CPU) return DS_KIND_CPU;
  return DS_KIND_OTHER;
}

ds_vendor_class ds_vendor_classify(unsigned vendor_id, const char *vendor, const char *name,
                                   ds_device_kind kind) {
  if (kind == DS_KIND_CPU) return DS_VENDOR_CPU;
  switch (vendor_id) {
  case PCI_AMD:
  case PCI_AMD_CPU: return DS_VENDOR_AMD;
  case PCI_INTEL: return DS_VENDOR_INTEL;
  case PCI_NVIDIA: return DS_VENDOR_NVIDIA;
  case PCI_APPLE: return DS_VENDOR_APPLE;
  default: break;
  }
  /* Some drivers (Apple, Mesa's rusticl, older AMD) report other ids; the
   * vendor string is the fallback. */
  const char *strings[2] = {vendor ? vendor : "", name ? name : ""};
  for (int i = 0; i < 2; i++) {
    if (contains_nocase(strings[i], "nvidia")) return DS_VENDOR_NVIDIA;
    if (contains_nocase(strings[i], "advanced micro devices") || contains_nocase(strings[i], "amd"))
      return DS_VENDOR_AMD;
    if (contains_nocase(strings[i], "intel")) return DS_VENDOR_INTEL;
    if (contains_nocase(strings[i], "apple")) return DS_VENDOR_APPLE;
  }
  return DS_VENDOR_OTHER;
}

const char *ds_device_kind_name(ds_device_kind kind) {
  switch (kind) {
  case DS_KIND_DISCRETE_GPU: return "discrete GPU";
  case DS_KIND_INTEGRATED_GPU: return "integrated GPU";
  case DS_KIND_ACCELERATOR: return "accelerator";
  case DS_KIND_CPU: return "CPU";
  case DS_KIND_OTHER: break;
  }
  return "other";
}

const char *ds_vendor_class_name(ds_vendor_class vendor) {
  static const char *names[DS_VENDOR_COUNT] = {"AMD", "Intel", "NVIDIA", "Apple", "CPU", "other"};
  return (vendor >= 0 && vendor < DS_VENDOR_COUNT) ? names[vendor] : "other";
}

int ds_device_rank_compare(const ds_device_desc *a, const ds_device_desc *b) {
  if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
  uint64_t pa = (uint64_t)a->compute_units * a->clock_mhz;
  uint64_t pb = (uint64_t)b->compute_units * b->clock_mhz;
  if (pa != pb) return pa > pb ? -1 : 1;
  if (a->global_mem_bytes != b->global_mem_bytes)
    return a->global_mem_bytes > b->global_mem_bytes ? -1 : 1;
  return a->index - b->index;
}

const char *ds_format_bytes(uint64_t bytes, char *buf, int cap) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    u++;
  }
  if (u == 0)
    snprintf(buf, cap, "%llu B", (unsigned long long)bytes);
  else
    snprintf(buf, cap, "%.2f %s", v, units[u]);
  return buf;
}

/* ---- discovery ---- */

static void info_string(cl_device_id d, cl_device_info what, char *buf, size_t cap) {
  buf[0] = '\0';
  if (clGetDeviceInfo(d, what, cap, buf, NULL) != CL_SUCCESS) buf[0] = '\0';
  buf[cap - 1] = '\0';
}

static void trim(char *s) {
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
  size_t lead = strspn(s, " \t");
  if (lead) memmove(s, s + lead, n - lead + 1);
}

static void describe(ds_device_desc *d, cl_device_id id) {
  cl_device_type type = 0;
  cl_bool unified = CL_FALSE;
  cl_uint cus = 0, clock = 0, vid = 0;
  cl_ulong gmem = 0, amem = 0, lmem = 0;
  size_t wg = 0;
  cl_device_fp_config fp64 = 0;
  clGetDeviceInfo(id, CL_DEVICE_TYPE, sizeof type, &type, NULL);
  clGetDeviceInfo(id, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL);
  clGetDeviceInfo(id, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
  clGetDeviceInfo(id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
  clGetDeviceInfo(id, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL);
  clGetDeviceInfo(id, CL_DEVICE_VENDOR_ID, sizeof vid, &vid, NULL);
  clGetDeviceInfo(id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
  clGetDeviceInfo(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof amem, &amem, NULL);
  clGetDeviceInfo(id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lmem, &lmem, NULL);
  clGetDeviceInfo(id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
  info_string(id, CL_DEVICE_NAME, d->name, sizeof d->name);
  info_string(id, CL_DEVICE_VENDOR, d->vendor, sizeof d->vendor);
  info_string(id, CL_DEVICE_VERSION, d->version, sizeof d->version);
  info_string(id, CL_DRIVER_VERSION, d->driver_version, sizeof d->driver_version);
  trim(d->name);
  trim(d->vendor);
  d->id = id;
  d->vendor_id = vid;
  d->kind = ds_device_kind_from_cl(type, unified == CL_TRUE);
  d->vendor_class = ds_vendor_classify(vid, d->vendor, d->name, d->kind);
  d->compute_units = cus;
  d->clock_mhz = clock;
  d->global_mem_bytes = gmem;
  d->max_alloc_bytes = amem;
  d->local_mem_bytes = lmem;
  d->max_work_group_size = wg;
  d->fp64 = fp64 != 0;
}

ds_status ds_devices_discover(ds_device_list *out, ds_error *err) {
  out->items = NULL;
  out->count = 0;
  cl_uint nplat = 0;
  cl_int rc = clGetPlatformIDs(0, NULL, &nplat);
  if (rc == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (rc == CL_SUCCESS && nplat == 0))
    return ds_error_set(err, DS_ERR_NOT_FOUND,
                        "no OpenCL platform found: install a driver (for the CPU: "
                        "apt-get install pocl-opencl-icd) and check /etc/OpenCL/vendors");
  if (rc != CL_SUCCESS)
    return ds_error_set(err, DS_ERR_OPENCL, "cannot list OpenCL platforms: %s",
                        ds_cl_status_name(rc));
  cl_platform_id *plats = calloc(nplat, sizeof *plats);
  if (!plats) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory listing platforms");
  clGetPlatformIDs(nplat, plats, NULL);

  int cap = 0;
  for (cl_uint p = 0; p < nplat; p++) {
    cl_uint ndev = 0;
    /* A platform without devices answers CL_DEVICE_NOT_FOUND: skip it. */
    if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev) != CL_SUCCESS || ndev == 0)
      continue;
    cl_device_id *ids = calloc(ndev, sizeof *ids);
    ds_device_desc *grown = realloc(out->items, (size_t)(cap + ndev) * sizeof *grown);
    if (!ids || !grown) {
      free(ids);
      if (grown) out->items = grown;
      free(plats);
      ds_device_list_free(out);
      return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory listing devices");
    }
    out->items = grown;
    cap += (int)ndev;
    clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, ids, NULL);
    char pname[128] = "", pvendor[128] = "";
    clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
    clGetPlatformInfo(plats[p], CL_PLATFORM_VENDOR, sizeof pvendor, pvendor, NULL);
    pname[sizeof pname - 1] = pvendor[sizeof pvendor - 1] = '\0';
    for (cl_uint i = 0; i < ndev; i++) {
      ds_device_desc *d = &out->items[out->count];
      memset(d, 0, sizeof *d);
      d->index = out->count;
      d->platform_index = (int)p;
      d->platform = plats[p];
      snprintf(d->platform_name, sizeof d->platform_name, "%s", pname);
      snprintf(d->platform_vendor, sizeof d->platform_vendor, "%s", pvendor);
      trim(d->platform_name);
      describe(d, ids[i]);
      out->count++;
    }
    free(ids);
  }
  free(plats);
  if (out->count == 0)
    return ds_error_set(err, DS_ERR_NOT_FOUND,
                        "OpenCL platforms exist but none has a device: check the driver "
                        "installation (clinfo shows what the loader sees)");
  return DS_OK;
}

void ds_device_list_free(ds_device_list *list) {
  free(list->items);
  list->items = NULL;
  list->count = 0;
}

/* ---- selection ---- */

typedef int (*device_filter)(const ds_device_desc *d, const char *arg);

static int want_any(const ds_device_desc *d, const char *arg) { return 1; }
static int want_cpu(const ds_device_desc *d, const char *arg) { return d->kind == DS_KIND_CPU; }
static int want_gpu(const ds_device_desc *d, const char *arg) {
  return d->kind == DS_KIND_DISCRETE_GPU || d->kind == DS_KIND_INTEGRATED_GPU;
}
static int want_accel(const ds_device_desc *d, const char *arg) {
  return d->kind == DS_KIND_ACCELERATOR;
}
static int want_vendor(const ds_device_desc *d, const char *arg) {
  return strcmp(ds_vendor_class_name(d->vendor_class), arg) == 0;
}
static int want_name(const ds_device_desc *d, const char *arg) {
  return contains_nocase(d->name, arg) || contains_nocase(d->vendor, arg) ||
         contains_nocase(d->platform_name, arg) || contains_nocase(d->platform_vendor, arg);
}

static void list_devices(ds_error *err, const ds_device_desc *devs, int n) {
  ds_error_append(err, "; found:");
  if (n == 0) ds_error_append(err, " no device");
  for (int i = 0; i < n; i++)
    ds_error_append(err, "%s #%d %s (%s, %s)", i ? "," : "", devs[i].index, devs[i].name,
                    ds_device_kind_name(devs[i].kind), devs[i].platform_name);
  if (n) ds_error_append(err, " (pick one by index or name, or see 'dsengine devices')");
}

static int is_index(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!isdigit((unsigned char)*s)) return 0;
  return 1;
}

ds_status ds_device_select(const ds_device_desc *devs, int n, const char *spec, const char *origin,
                           int *index, ds_error *err) {
  if (!spec || !*spec) spec = "auto";
  /* "--device nvidia" for a flag, "DSENGINE_DEVICE=nvidia" for a variable */
  char from[256];
  if (!origin) origin = "--device";
  snprintf(from, sizeof from, "%s%s%s", origin, strncmp(origin, "--", 2) == 0 ? " " : "=", spec);
  if (is_index(spec)) {
    long want = strtol(spec, NULL, 10);
    for (int i = 0; i < n; i++)
      if (devs[i].index == want) {
        *index = i;
        return DS_OK;
      }
    ds_error_set(err, DS_ERR_NOT_FOUND, "%s: there is no device with index %ld", from, want);
    list_devices(err, devs, n);
    return DS_ERR_NOT_FOUND;
  }

  static const struct {
    const char *spec;
    device_filter filter;
    const char *arg;
    const char *what;
  } words[] = {
      {"auto", want_any, NULL, "any OpenCL device"},
      {"cpu", want_cpu, NULL, "a CPU device"},
      {"gpu", want_gpu, NULL, "a GPU"},
      {"accelerator", want_accel, NULL, "an accelerator"},
      {"amd", want_vendor, "AMD", "an AMD GPU"},
      {"intel", want_vendor, "Intel", "an Intel GPU"},
      {"nvidia", want_vendor, "NVIDIA", "an NVIDIA GPU"},
      {"apple", want_vendor, "Apple", "an Apple GPU"},
  };
  device_filter filter = want_name;
  const char *arg = spec, *what = NULL;
  for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
    if (strcasecmp(spec, words[w].spec) == 0) {
      filter = words[w].filter;
      arg = words[w].arg;
      what = words[w].what;
      break;
    }
  }

  int best = -1;
  for (int i = 0; i < n; i++)
    if (filter(&devs[i], arg) && (best < 0 || ds_device_rank_compare(&devs[i], &devs[best]) < 0))
      best = i;
  if (best >= 0) {
    *index = best;
    return DS_OK;
  }
  if (what)
    ds_error_set(err, DS_ERR_NOT_FOUND, "%s asks for %s, and there is none", from, what);
  else
    ds_error_set(err, DS_ERR_NOT_FOUND, "%s matches no device name, vendor or platform", from);
  list_devices(err, devs, n);
  return DS_ERR_NOT_FOUND;
}
