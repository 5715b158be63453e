/* Ranking and --device selection on synthetic machines: no OpenCL call. */
#include <stdlib.h>

#include "check.h"
#include "host/device.h"

static ds_device_desc dev(int index, const char *name, const char *vendor, unsigned vendor_id,
                          cl_device_type type, int unified, unsigned cus, unsigned mhz, double gib,
                          const char *platform) {
  ds_device_desc d;
  memset(&d, 0, sizeof d);
  d.index = index;
  snprintf(d.name, sizeof d.name, "%s", name);
  snprintf(d.vendor, sizeof d.vendor, "%s", vendor);
  snprintf(d.platform_name, sizeof d.platform_name, "%s", platform);
  d.vendor_id = vendor_id;
  d.kind = ds_device_kind_from_cl(type, unified);
  d.vendor_class = ds_vendor_classify(vendor_id, vendor, name, d.kind);
  d.compute_units = cus;
  d.clock_mhz = mhz;
  d.global_mem_bytes = (uint64_t)(gib * 1073741824.0);
  return d;
}

static int pick(const ds_device_desc *d, int n, const char *spec, ds_error *err) {
  int idx = -1;
  ds_error_clear(err);
  if (ds_device_select(d, n, spec, "--device", &idx, err) != DS_OK) return -1;
  return d[idx].index;
}

/* AMD discrete + Intel integrated + PoCL CPU, listed CPU first so the
 * ranking, not the order, decides. */
static void amd_intel_cpu(void) {
  ds_device_desc d[3] = {
      dev(0, "pthread-skylake-avx512-AMD EPYC", "AuthenticAMD", 0x8086, CL_DEVICE_TYPE_CPU, 1, 16,
          3000, 30, "Portable Computing Language"),
      dev(1, "Intel(R) UHD Graphics 770", "Intel(R) Corporation", 0x8086, CL_DEVICE_TYPE_GPU, 1, 32,
          1450, 12, "Intel(R) OpenCL Graphics"),
      dev(2, "gfx1030", "Advanced Micro Devices, Inc.", 0x1002, CL_DEVICE_TYPE_GPU, 0, 40, 2600, 16,
          "AMD Accelerated Parallel Processing"),
  };
  snprintf(d[0].platform_vendor, sizeof d[0].platform_vendor, "The pocl project");
  ds_error err = {0};
  CHECK(d[0].vendor_class == DS_VENDOR_CPU, "PoCL on EPYC is class %s",
        ds_vendor_class_name(d[0].vendor_class));
  CHECK(d[1].kind == DS_KIND_INTEGRATED_GPU, "kind %s", ds_device_kind_name(d[1].kind));
  CHECK(d[2].kind == DS_KIND_DISCRETE_GPU, "kind %s", ds_device_kind_name(d[2].kind));
  CHECK(pick(d, 3, "auto", &err) == 2, "auto picks the discrete AMD GPU");
  CHECK(pick(d, 3, NULL, &err) == 2, "no spec means auto");
  CHECK(pick(d, 3, "", &err) == 2, "empty spec means auto");
  CHECK(pick(d, 3, "gpu", &err) == 2, "gpu picks the discrete GPU first");
  CHECK(pick(d, 3, "cpu", &err) == 0, "cpu");
  CHECK(pick(d, 3, "CPU", &err) == 0, "specs are case-insensitive");
  CHECK(pick(d, 3, "amd", &err) == 2, "amd is the GPU, not the EPYC CPU");
  CHECK(pick(d, 3, "intel", &err) == 1, "intel is the integrated GPU, not PoCL's Intel vendor id");
  CHECK(pick(d, 3, "nvidia", &err) == -1, "no NVIDIA here");
  CHECK_CONTAINS(err.msg, "--device nvidia");
  CHECK_CONTAINS(err.msg, "#0 pthread-skylake-avx512-AMD EPYC");
  CHECK_CONTAINS(err.msg, "#1 Intel(R) UHD Graphics 770");
  CHECK_CONTAINS(err.msg, "#2 gfx1030");
  CHECK(err.code == DS_ERR_NOT_FOUND, "code %d", err.code);
  CHECK(strchr(err.msg, '\n') == NULL, "one line: %s", err.msg);
  CHECK(pick(d, 3, "0", &err) == 0, "index 0");
  CHECK(pick(d, 3, "1", &err) == 1, "index 1");
  CHECK(pick(d, 3, "2", &err) == 2, "index 2");
  CHECK(pick(d, 3, "3", &err) == -1, "index out of range");
  CHECK_CONTAINS(err.msg, "no device with index 3");
  CHECK(pick(d, 3, "uhd", &err) == 1, "name substring");
  CHECK(pick(d, 3, "gfx10", &err) == 2, "name prefix");
  CHECK(pick(d, 3, "pocl", &err) == 0, "platform vendor substring");
  CHECK(pick(d, 3, "Accelerated Parallel", &err) == 2, "platform name substring");
  CHECK(pick(d, 3, "accelerator", &err) == -1, "no accelerator");
  CHECK(pick(d, 3, "radeon vii", &err) == -1, "unknown name");
  CHECK_CONTAINS(err.msg, "--device radeon vii matches no device");
  ds_error_clear(&err);
}

/* NVIDIA + CPU: the GPU wins even though the CPU has more CUs x clock. */
static void nvidia_cpu(void) {
  ds_device_desc d[2] = {
      dev(0, "AMD Ryzen 9 7950X 16-Core Processor", "AuthenticAMD", 0x1022, CL_DEVICE_TYPE_CPU, 1,
          32, 5800, 64, "Portable Computing Language"),
      dev(1, "NVIDIA GeForce RTX 3060", "NVIDIA Corporation", 0x10de, CL_DEVICE_TYPE_GPU, 0, 28,
          1777, 12, "NVIDIA CUDA"),
  };
  ds_error err = {0};
  CHECK(d[0].vendor_class == DS_VENDOR_CPU, "CPU class");
  CHECK(d[1].vendor_class == DS_VENDOR_NVIDIA, "NVIDIA class");
  CHECK(pick(d, 2, "auto", &err) == 1, "GPU ranks above CPU");
  CHECK(pick(d, 2, "nvidia", &err) == 1, "nvidia");
  CHECK(pick(d, 2, "amd", &err) == -1, "an AMD CPU is not an AMD GPU");
  CHECK(pick(d, 2, "Ryzen", &err) == 0, "but its name selects it");
  CHECK(pick(d, 2, "cpu", &err) == 0, "cpu");
  CHECK(pick(d, 2, "DSENGINE", &err) == -1, "no match");
  ds_error_clear(&err);
  int idx;
  CHECK(ds_device_select(d, 2, "intel", "DSENGINE_DEVICE", &idx, &err) == DS_ERR_NOT_FOUND,
        "intel");
  CHECK_CONTAINS(err.msg, "DSENGINE_DEVICE=intel");
  ds_error_clear(&err);
}

static void cpu_only(void) {
  ds_device_desc d[1] = {dev(0, "pthread-haswell-Intel(R) Xeon(R)", "GenuineIntel", 0x8086,
                             CL_DEVICE_TYPE_CPU, 1, 4, 2200, 8, "Portable Computing Language")};
  ds_error err = {0};
  CHECK(pick(d, 1, "auto", &err) == 0, "the only device");
  CHECK(pick(d, 1, "gpu", &err) == -1, "no GPU");
  CHECK(pick(d, 1, "intel", &err) == -1, "intel means an Intel GPU");
  CHECK(pick(d, 1, "xeon", &err) == 0, "name");
  CHECK(pick(d, 1, "00", &err) == 0, "index with a leading zero");
  ds_error_clear(&err);
  CHECK(pick(d, 0, "auto", &err) == -1, "no devices at all");
  CHECK_CONTAINS(err.msg, "no device");
  ds_error_clear(&err);
}

/* Ties: CUs x clock, then memory, then listing order. */
static void tie_breaks(void) {
  ds_device_desc d[4] = {
      dev(0, "gpu-a", "x", 0x1002, CL_DEVICE_TYPE_GPU, 0, 20, 1000, 8, "p"),
      dev(1, "gpu-b", "x", 0x1002, CL_DEVICE_TYPE_GPU, 0, 10, 2000, 16, "p"),
      dev(2, "gpu-c", "x", 0x1002, CL_DEVICE_TYPE_GPU, 0, 10, 2000, 16, "p"),
      dev(3, "accel", "x", 0x1234, CL_DEVICE_TYPE_ACCELERATOR, 0, 100, 3000, 64, "p"),
  };
  ds_error err = {0};
  CHECK(pick(d, 4, "auto", &err) == 1, "equal CUs x clock: more memory, then the earlier index");
  CHECK(pick(d, 4, "accelerator", &err) == 3, "accelerator");
  CHECK(ds_device_rank_compare(&d[3], &d[0]) > 0, "accelerators rank below GPUs");
  CHECK(ds_device_rank_compare(&d[1], &d[2]) < 0, "stable by index");
  CHECK(d[3].vendor_class == DS_VENDOR_OTHER, "unknown vendor id and name");
  ds_error_clear(&err);
}

static void classify(void) {
  CHECK(ds_vendor_classify(0, "Apple", "Apple M2", DS_KIND_INTEGRATED_GPU) == DS_VENDOR_APPLE,
        "apple by name");
  CHECK(ds_vendor_classify(0x1002, "", "", DS_KIND_DISCRETE_GPU) == DS_VENDOR_AMD, "amd by id");
  CHECK(ds_vendor_classify(0x4d4f4351, "Intel(R) Corporation", "", DS_KIND_INTEGRATED_GPU) ==
            DS_VENDOR_INTEL,
        "intel by vendor string");
  CHECK(ds_device_kind_from_cl(CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_DEFAULT, 0) ==
            DS_KIND_DISCRETE_GPU,
        "flags");
  char buf[32];
  CHECK(strcmp(ds_format_bytes(1536, buf, sizeof buf), "1.50 KiB") == 0, "%s", buf);
  CHECK(strcmp(ds_format_bytes(12, buf, sizeof buf), "12 B") == 0, "%s", buf);
}

int main(void) {
  amd_intel_cpu();
  nvidia_cpu();
  cpu_only();
  tie_breaks();
  classify();
  return check_summary("device_select");
}
