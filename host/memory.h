/* Will a model fit? Device and host memory needs against what the device and
 * the host have, checked before anything is allocated.
 *
 * A device that shares host memory (a CPU, an integrated GPU) reports a
 * global memory size that the host's other users also draw from: PoCL on a
 * 24 GiB machine reports 21.5 GiB whatever else is running. Allocating past
 * what the host has left does not fail in OpenCL there; the kernel's OOM
 * killer ends the process later, silently. So on such a device the device
 * buffers and the host copies together must fit the host's available memory
 * too. The check is a pure function of its inputs, so tests can feed it any
 * machine. */
#ifndef DS_HOST_MEMORY_H
#define DS_HOST_MEMORY_H

#include <stdint.h>

#include "host/device.h"
#include "core/error.h"

typedef struct ds_memory_need {
  char what[160];          /* "model 'lowmem' at batch 64" */
  uint64_t device_bytes;   /* every device buffer together */
  uint64_t largest_buffer; /* the largest single device buffer */
  uint64_t host_bytes;     /* host memory at the peak, beside the device buffers */
} ds_memory_need;

/* Bytes the host can still give this process: MemAvailable of
 * /proc/meminfo, lowered to what a cgroup memory limit leaves. 0 when
 * unknown (then only the device's own limits are checked). */
uint64_t ds_host_memory_available(void);

/* Whether the device's memory is the host's (CPU, integrated GPU). */
int ds_device_shares_host_memory(const ds_device_desc *dev);

/* DS_ERR_NO_MEMORY with one line naming the need, the limit it exceeds and
 * `hint` (what to change, e.g. "try a smaller --batch (now 64)") when need
 * does not fit: the device's global memory, its largest buffer, or (host_
 * available > 0) the host's available memory, which on a device sharing it
 * must hold the device buffers as well. */
ds_status ds_memory_check(const ds_device_desc *dev, const ds_memory_need *need,
                          uint64_t host_available, const char *hint, ds_error *err);

#endif
