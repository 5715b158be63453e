/* dsengine devices: list every OpenCL device, mark the chosen one, and
 * optionally check that kernels build and compute correctly on it. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cli/cli.h"
#include "engine/nn/gemm_check.h"
#include "engine/tensor/vector.h"
#include "engine/util/report.h"
#include "host/buffer.h"
#include "host/device.h"
#include "host/kernel_sources.h"
#include "host/program.h"
#include "host/runtime.h"

static const char *help =
    "usage: dsengine devices [--device SPEC] [--json] [--check]\n"
    "\n"
    "Lists every OpenCL platform and device with its vendor class, type, compute\n"
    "units, clock and memory, and marks with '*' the device that SPEC picks.\n"
    "\n"
    "  --device SPEC  auto (default: discrete GPU > integrated GPU > accelerator >\n"
    "                 CPU, then compute units x clock, then memory), an index from\n"
    "                 the list, cpu, gpu, amd, intel, nvidia, apple, or part of a\n"
    "                 device, vendor or platform name; with --check also 'all'.\n"
    "                 Default: $DSENGINE_DEVICE, else auto.\n"
    "  --json         print the list as JSON instead of a table\n"
    "  --check        build every kernel program on the device (filling the kernel\n"
    "                 cache), compare a computation with the C reference, and build\n"
    "                 and check every GEMM variant the tuner may pick there\n"
    "\n"
    "Exit status: 0 ok, 1 a check failed, 2 no device matches SPEC.\n";

static void print_table(const ds_device_desc *d, int n, int chosen) {
  int wname = 6, wplat = 8;
  for (int i = 0; i < n; i++) {
    int ln = (int)strlen(d[i].name), lp = (int)strlen(d[i].platform_name);
    if (ln > wname) wname = ln;
    if (lp > wplat) wplat = lp;
  }
  printf("  %2s  %-*s  %-6s  %-14s  %4s  %6s  %10s  %10s  %-*s  %s\n", "#", wname, "device",
         "vendor", "type", "CUs", "MHz", "memory", "max buffer", wplat, "platform", "driver");
  for (int i = 0; i < n; i++) {
    char mem[32], alloc[32];
    ds_format_bytes(d[i].global_mem_bytes, mem, sizeof mem);
    ds_format_bytes(d[i].max_alloc_bytes, alloc, sizeof alloc);
    printf("%c %2d  %-*s  %-6s  %-14s  %4u  %6u  %10s  %10s  %-*s  %s\n", i == chosen ? '*' : ' ',
           d[i].index, wname, d[i].name, ds_vendor_class_name(d[i].vendor_class),
           ds_device_kind_name(d[i].kind), d[i].compute_units, d[i].clock_mhz, mem, alloc, wplat,
           d[i].platform_name, d[i].driver_version);
  }
}

static int print_json(const ds_device_desc *d, int n, int chosen, const char *spec) {
  cJSON *root = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(root, "devices");
  for (int i = 0; i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", d[i].index);
    cJSON_AddStringToObject(o, "name", d[i].name);
    cJSON_AddStringToObject(o, "vendor", d[i].vendor);
    cJSON_AddStringToObject(o, "vendor_class", ds_vendor_class_name(d[i].vendor_class));
    cJSON_AddStringToObject(o, "type", ds_device_kind_name(d[i].kind));
    cJSON_AddNumberToObject(o, "platform_index", d[i].platform_index);
    cJSON_AddStringToObject(o, "platform", d[i].platform_name);
    cJSON_AddStringToObject(o, "version", d[i].version);
    cJSON_AddStringToObject(o, "driver_version", d[i].driver_version);
    cJSON_AddNumberToObject(o, "compute_units", d[i].compute_units);
    cJSON_AddNumberToObject(o, "clock_mhz", d[i].clock_mhz);
    cJSON_AddNumberToObject(o, "global_mem_bytes", (double)d[i].global_mem_bytes);
    cJSON_AddNumberToObject(o, "max_alloc_bytes", (double)d[i].max_alloc_bytes);
    cJSON_AddNumberToObject(o, "local_mem_bytes", (double)d[i].local_mem_bytes);
    cJSON_AddBoolToObject(o, "chosen", i == chosen);
    cJSON_AddItemToArray(arr, o);
  }
  cJSON_AddStringToObject(root, "spec", spec);
  cJSON_AddNumberToObject(root, "chosen", chosen >= 0 ? d[chosen].index : -1);
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  if (!text) {
    fprintf(stderr, "dsengine: error: out of memory writing JSON\n");
    return DS_EXIT_FAILURE;
  }
  puts(text);
  free(text);
  return DS_EXIT_OK;
}

/* fill then axpy over an odd length, compared bit for bit with the C
 * reference (both are exact fma/stores). */
static ds_status check_compute(ds_runtime *rt, ds_error *err) {
  enum { N = 100003 };
  float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *ref = malloc(N * sizeof *ref);
  cl_mem dx = NULL, dy = NULL;
  ds_status st = (x && y && ref) ? DS_OK : ds_error_set(err, DS_ERR_NO_MEMORY, "out of memory");
  if (st == DS_OK) {
    unsigned s = 12345;
    for (int i = 0; i < N; i++) {
      s = s * 1103515245u + 12345u;
      x[i] = (float)((s >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    ds_fill_f32_reference(ref, 0.25f, N);
    ds_axpy_f32_reference(ref, x, -1.5f, N);
    st = ds_buffer_create(rt, N * sizeof(float), CL_MEM_READ_WRITE, "check x", &dx, err);
  }
  if (st == DS_OK)
    st = ds_buffer_create(rt, N * sizeof(float), CL_MEM_READ_WRITE, "check y", &dy, err);
  if (st == DS_OK) st = ds_buffer_write(rt, dx, 0, N * sizeof(float), x, err);
  if (st == DS_OK) st = ds_fill_f32(rt, dy, 0.25f, N, err);
  if (st == DS_OK) st = ds_axpy_f32(rt, dy, dx, -1.5f, N, err);
  if (st == DS_OK) st = ds_buffer_read(rt, dy, 0, N * sizeof(float), y, err);
  if (st == DS_OK) {
    for (int i = 0; i < N; i++)
      if (y[i] != ref[i]) {
        st = ds_error_set(err, DS_ERR_OPENCL,
                          "%s computes wrong results: axpy element %d is %.9g, the C reference "
                          "gives %.9g; the driver is not usable",
                          rt->device.name, i, (double)y[i], (double)ref[i]);
        break;
      }
  }
  ds_buffer_release(&dx);
  ds_buffer_release(&dy);
  free(x);
  free(y);
  free(ref);
  return st;
}

static int check_device(const ds_device_desc *dev) {
  ds_error err = {0};
  ds_runtime *rt = NULL;
  double t0 = ds_now_s();
  ds_status st = ds_runtime_create(&rt, dev, 0, &err);
  for (int i = 0; st == DS_OK && i < ds_kernel_source_count; i++) {
    cl_program p;
    st = ds_program_get(rt, ds_kernel_sources[i].name, NULL, &p, &err);
  }
  if (st == DS_OK) st = check_compute(rt, &err);
  /* every GEMM variant the tuner may pick here, built and run once */
  ds_gemm_check_result gemm = {0};
  if (st == DS_OK) st = ds_gemm_check_variants(rt, &gemm, &err);
  if (st == DS_OK && gemm.unfit)
    printf("check #%d %s: %d GEMM variants cannot run here and are skipped by the tuner; the "
           "last: %s\n",
           dev->index, dev->name, gemm.unfit, gemm.unfit_note);
  if (st == DS_OK)
    printf("check #%d %s: %d kernel programs ready (%d compiled, %d from cache) in %.1f s; "
           "%d GEMM variants built; results match the C reference: ok\n",
           dev->index, dev->name, rt->program_count, rt->stats.source_builds, rt->stats.cache_hits,
           ds_now_s() - t0, gemm.checked);
  ds_runtime_destroy(rt);
  if (st != DS_OK) {
    fprintf(stderr, "check #%d %s: FAILED\n", dev->index, dev->name);
    cli_fail(&err);
    return DS_EXIT_FAILURE;
  }
  return DS_EXIT_OK;
}

#define CMD "dsengine devices"

typedef struct devices_args {
  const char *flag;
  int json, check;
} devices_args;

static int parse_option(devices_args *s, int argc, char **argv, int *i) {
  const char *v = NULL;
  int m = 0;
  if (CLI_VALUE("--device")) {
    CLI_NEED(CMD);
    s->flag = v;
  } else if (strcmp(argv[*i], "--json") == 0) {
    s->json = 1;
  } else if (strcmp(argv[*i], "--check") == 0) {
    s->check = 1;
  } else {
    return cli_usage_error(CMD, "unknown option %s", argv[*i]);
  }
  return DS_EXIT_OK;
}

int cmd_devices(int argc, char **argv) {
  devices_args a = {0};
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      fputs(help, stdout);
      return DS_EXIT_OK;
    }
    int rc = parse_option(&a, argc, argv, &i);
    if (rc != DS_EXIT_OK) return rc;
  }
  const char *flag = a.flag;
  const int json = a.json, check = a.check;

  const char *origin;
  const char *spec = cli_device_spec(flag, &origin);
  ds_error err = {0};
  ds_device_list list;
  if (ds_devices_discover(&list, &err) != DS_OK) return cli_fail(&err);

  int all = strcmp(spec, "all") == 0;
  if (all && !check) {
    ds_device_list_free(&list);
    return cli_usage_error(CMD, "%s all only goes with --check", origin);
  }
  int chosen = -1;
  if (!all && ds_device_select(list.items, list.count, spec, origin, &chosen, &err) != DS_OK) {
    ds_device_list_free(&list);
    return cli_fail(&err);
  }

  int rc = DS_EXIT_OK;
  if (json) {
    rc = print_json(list.items, list.count, chosen, spec);
  } else {
    print_table(list.items, list.count, chosen);
    if (chosen >= 0)
      printf("\n* chosen by %s %s: #%d %s\n", origin, spec, list.items[chosen].index,
             list.items[chosen].name);
  }
  if (check && rc == DS_EXIT_OK) {
    for (int i = 0; i < list.count; i++)
      if ((all || i == chosen) && check_device(&list.items[i]) != DS_EXIT_OK) rc = DS_EXIT_FAILURE;
  }
  ds_device_list_free(&list);
  return rc;
}
