/* Memory needs against the device's and the host's limits (host/memory.h). */
#include "host/memory.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The value of "key:" in /proc/meminfo, in bytes; 0 when absent. */
static uint64_t meminfo(const char *key) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kib = 0;
  size_t n = strlen(key);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, n) == 0 && line[n] == ':') {
      unsigned long long v;
      if (sscanf(line + n + 1, "%llu", &v) == 1) kib = v;
      break;
    }
  fclose(f);
  return kib * 1024;
}

/* One number from a file ("max" and unreadable files give 0). */
static uint64_t read_number(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  unsigned long long v = 0;
  int ok = fscanf(f, "%llu", &v) == 1;
  fclose(f);
  return ok ? v : 0;
}

/* What a cgroup memory limit leaves (v2, else v1); 0 when there is none. */
static uint64_t cgroup_left(void) {
  uint64_t limit = read_number("/sys/fs/cgroup/memory.max");
  uint64_t used = read_number("/sys/fs/cgroup/memory.current");
  if (!limit) {
    limit = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    used = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  }
  /* v1 reports "no limit" as a number near 2^63 */
  if (!limit || limit >= ((uint64_t)1 << 60)) return 0;
  return limit > used ? limit - used : 1;
}

uint64_t ds_host_memory_available(void) {
  uint64_t avail = meminfo("MemAvailable");
  if (!avail) {
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages > 0 && size > 0) avail = (uint64_t)pages * (uint64_t)size;
  }
  uint64_t left = cgroup_left();
  if (left && (!avail || left < avail)) avail = left;
  return avail;
}

int ds_device_shares_host_memory(const ds_device_desc *dev) {
  return dev->kind == DS_KIND_CPU || dev->kind == DS_KIND_INTEGRATED_GPU;
}

ds_status ds_memory_check(const ds_device_desc *dev, const ds_memory_need *need,
                          uint64_t host_available, const char *hint, ds_error *err) {
  char a[32], b[32], c[32], d[32];
  const char *what = need->what[0] ? need->what : "this work";
  const char *sep = hint && *hint ? "; " : "";
  if (!hint) hint = "";
  if (dev->global_mem_bytes && need->device_bytes > dev->global_mem_bytes)
    return ds_error_set(err, DS_ERR_NO_MEMORY,
                        "out of device memory: %s needs %s of device memory, %s has %s%s%s", what,
                        ds_format_bytes(need->device_bytes, a, sizeof a), dev->name,
                        ds_format_bytes(dev->global_mem_bytes, b, sizeof b), sep, hint);
  if (dev->max_alloc_bytes && need->largest_buffer > dev->max_alloc_bytes)
    return ds_error_set(err, DS_ERR_NO_MEMORY,
                        "out of device memory: %s needs a buffer of %s, %s allows at most %s in "
                        "one buffer%s%s",
                        what, ds_format_bytes(need->largest_buffer, a, sizeof a), dev->name,
                        ds_format_bytes(dev->max_alloc_bytes, b, sizeof b), sep, hint);
  if (!host_available) return DS_OK;
  if (ds_device_shares_host_memory(dev)) {
    uint64_t total = need->device_bytes + need->host_bytes;
    if (total > host_available)
      return ds_error_set(err, DS_ERR_NO_MEMORY,
                          "out of host memory: %s needs %s (%s of buffers on %s, which shares "
                          "the host's memory, and %s of host copies), the host has %s "
                          "available%s%s",
                          what, ds_format_bytes(total, a, sizeof a),
                          ds_format_bytes(need->device_bytes, b, sizeof b), dev->name,
                          ds_format_bytes(need->host_bytes, c, sizeof c),
                          ds_format_bytes(host_available, d, sizeof d), sep, hint);
  } else if (need->host_bytes > host_available) {
    return ds_error_set(err, DS_ERR_NO_MEMORY,
                        "out of host memory: %s needs %s of host memory beside the device, the "
                        "host has %s available%s%s",
                        what, ds_format_bytes(need->host_bytes, a, sizeof a),
                        ds_format_bytes(host_available, b, sizeof b), sep, hint);
  }
  return DS_OK;
}
