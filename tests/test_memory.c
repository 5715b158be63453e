/* The memory check (host/memory.h) on synthetic machines: a 4 GiB and a
 * 128 GiB CPU device, an integrated and a discrete GPU, so the decision and
 * its one-line message do not depend on the machine the suite runs on; and
 * the host's available memory as this machine reports it. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "host/memory.h"

static const uint64_t GiB = (uint64_t)1 << 30;

static ds_device_desc device(ds_device_kind kind, uint64_t global, uint64_t max_alloc) {
  ds_device_desc d;
  memset(&d, 0, sizeof d);
  snprintf(d.name, sizeof d.name, "%s", kind == DS_KIND_CPU ? "test-cpu" : "test-gpu");
  d.kind = kind;
  d.global_mem_bytes = global;
  d.max_alloc_bytes = max_alloc;
  return d;
}

static ds_memory_need need(uint64_t device, uint64_t largest, uint64_t host) {
  ds_memory_need n;
  memset(&n, 0, sizeof n);
  snprintf(n.what, sizeof n.what, "model 'x' at batch 8");
  n.device_bytes = device;
  n.largest_buffer = largest;
  n.host_bytes = host;
  return n;
}

static int one_line(const char *s) { return strchr(s, '\n') == NULL; }

/* fits, or fails with DS_ERR_NO_MEMORY and a message holding `word` and the hint */
static void expect(const ds_device_desc *dev, ds_memory_need n, uint64_t host, const char *word) {
  ds_error err = {0};
  ds_status st = ds_memory_check(dev, &n, host, "try a smaller --batch (now 8)", &err);
  if (!word) {
    CHECK(st == DS_OK, "%s: %s", n.what, err.msg);
    return;
  }
  CHECK(st == DS_ERR_NO_MEMORY, "expected out of memory (%s), got %s", word, ds_status_name(st));
  CHECK_CONTAINS(err.msg, word);
  CHECK_CONTAINS(err.msg, "model 'x' at batch 8");
  CHECK_CONTAINS(err.msg, "try a smaller --batch (now 8)");
  CHECK(one_line(err.msg), "not one line: %s", err.msg);
}

int main(void) {
  /* a 4 GiB CPU machine and a 128 GiB one: the same model is refused on
   * the small one for its global memory and fits on the large one */
  ds_device_desc small = device(DS_KIND_CPU, 3 * GiB + GiB / 2, GiB);
  ds_device_desc large = device(DS_KIND_CPU, 120 * GiB, 30 * GiB);
  expect(&small, need(16 * GiB, 4 * GiB, 12 * GiB), 3 * GiB, "of device memory, test-cpu has");
  expect(&large, need(16 * GiB, 4 * GiB, 12 * GiB), 125 * GiB, NULL);
  /* the largest buffer alone */
  expect(&small, need(2 * GiB, 2 * GiB, 0), 3 * GiB, "in one buffer");
  /* a CPU device reports more global memory than the host has left: the
   * device buffers and the host copies together must fit the host (the case
   * the OOM killer used to end) */
  ds_device_desc cpu = device(DS_KIND_CPU, 21 * GiB, 8 * GiB);
  expect(&cpu, need(16 * GiB, 4 * GiB, 12 * GiB), 23 * GiB, "out of host memory");
  expect(&cpu, need(16 * GiB, 4 * GiB, 6 * GiB), 23 * GiB, NULL);
  ds_device_desc igpu = device(DS_KIND_INTEGRATED_GPU, 21 * GiB, 8 * GiB);
  expect(&igpu, need(16 * GiB, 4 * GiB, 12 * GiB), 23 * GiB, "which shares the host's memory");
  /* a discrete GPU has its own memory: only the host copies count on the host */
  ds_device_desc gpu = device(DS_KIND_DISCRETE_GPU, 80 * GiB, 20 * GiB);
  expect(&gpu, need(16 * GiB, 4 * GiB, 12 * GiB), 23 * GiB, NULL);
  expect(&gpu, need(16 * GiB, 4 * GiB, 30 * GiB), 23 * GiB, "of host memory beside the device");
  expect(&gpu, need(90 * GiB, 4 * GiB, 1 * GiB), 128 * GiB, "of device memory");
  /* unknown host memory (0): the device's limits only */
  expect(&cpu, need(16 * GiB, 4 * GiB, 12 * GiB), 0, NULL);
  /* zero limits are unknown limits, not zero bytes */
  ds_device_desc unknown = device(DS_KIND_DISCRETE_GPU, 0, 0);
  expect(&unknown, need(16 * GiB, 4 * GiB, 1), 2, NULL);
  expect(&unknown, need(16 * GiB, 4 * GiB, 3), 2, "of host memory");

  uint64_t avail = ds_host_memory_available();
  CHECK(avail > 16 * ((uint64_t)1 << 20), "host memory available: %llu bytes",
        (unsigned long long)avail);
  printf("this host: %.2f GiB available\n", (double)avail / (double)GiB);
  return check_summary("memory");
}
