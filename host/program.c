#include "host/program.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/cl_status.h"
#include "core/hash.h"
#include "host/kernel_sources.h"
#include "host/profile.h"
#include "host/program_cache.h"
#include "host/quiet.h"

struct ds_program_entry {
  char *name;
  char *options;
  cl_program program;
  /* kernels handed out by ds_kernel_get, owned */
  char **kernel_names;
  cl_kernel *kernels;
  int kernel_count;
};

static void full_options(const ds_runtime *rt, const char *options, char *buf, size_t cap) {
  snprintf(buf, cap, "%s%s%s", rt->profile->build_options, options && *options ? " " : "",
           options ? options : "");
}

/* Everything that changes the binary: a driver update changes the driver
 * version, a kernel edit changes the source hash. */
static char *cache_key(const ds_runtime *rt, const char *opts, const char *source, size_t len) {
  const ds_device_desc *d = &rt->device;
  size_t cap = 1024 + strlen(opts) + sizeof d->name + sizeof d->platform_name + sizeof d->version +
               sizeof d->driver_version;
  char *key = malloc(cap);
  if (!key) return NULL;
  snprintf(key, cap,
           "dsengine program v1\nplatform=%s\ndevice=%s\nversion=%s\ndriver=%s\n"
           "options=%s\nsource=%016llx:%zu\n",
           d->platform_name, d->name, d->version, d->driver_version, opts,
           (unsigned long long)ds_fnv64(DS_FNV64_INIT, source, len), len);
  return key;
}

static ds_status build_failed(ds_runtime *rt, cl_program prog, const char *name, cl_int rc,
                              ds_error *err) {
  size_t n = 0;
  char *log = NULL;
  if (clGetProgramBuildInfo(prog, rt->device.id, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) == CL_SUCCESS &&
      n > 0 && (log = malloc(n + 1))) {
    if (clGetProgramBuildInfo(prog, rt->device.id, CL_PROGRAM_BUILD_LOG, n, log, NULL) !=
        CL_SUCCESS)
      log[0] = '\0';
    log[n] = '\0';
  }
  ds_error_set(err, DS_ERR_BUILD,
               "kernel program '%s' failed to build on %s (%s, driver %s): %s; build log follows",
               name, rt->device.name, rt->device.platform_name, rt->device.driver_version,
               ds_cl_status_name(rc));
  ds_error_set_detail(err, log && *log ? log : "(the driver gave no build log)");
  free(log);
  return DS_ERR_BUILD;
}

static ds_status from_binary(ds_runtime *rt, const unsigned char *bin, size_t len, const char *opts,
                             cl_program *out) {
  cl_int rc, bin_rc = CL_SUCCESS;
  cl_program p =
      clCreateProgramWithBinary(rt->context, 1, &rt->device.id, &len, &bin, &bin_rc, &rc);
  if (rc != CL_SUCCESS || bin_rc != CL_SUCCESS) return DS_ERR_CORRUPT;
  if (clBuildProgram(p, 1, &rt->device.id, opts, NULL, NULL) != CL_SUCCESS) {
    clReleaseProgram(p);
    return DS_ERR_CORRUPT;
  }
  *out = p;
  return DS_OK;
}

static void store_binary(ds_runtime *rt, cl_program p, const char *key) {
  size_t len = 0;
  if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof len, &len, NULL) != CL_SUCCESS || !len)
    return; /* this driver gives no binaries: nothing to cache */
  unsigned char *bin = malloc(len);
  if (!bin) return;
  if (clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS &&
      ds_program_cache_store(rt->cache_dir, key, bin, len, NULL) == DS_OK)
    rt->stats.cache_writes++;
  /* A cache that cannot be written (read-only home, full disk) costs time on
   * the next start, not correctness, so it is not an error. */
  free(bin);
}

ds_status ds_program_build(ds_runtime *rt, const char *name, const char *source, size_t length,
                           const char *options, cl_program *out, ds_error *err) {
  *out = NULL;
  size_t optcap = 512 + (options ? strlen(options) : 0) + strlen(rt->profile->build_options);
  char *opts = malloc(optcap);
  char *key = NULL;
  if (!opts) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory building %s", name);
  full_options(rt, options, opts, optcap);

  ds_status st = DS_OK;
  if (rt->cache_dir[0]) {
    key = cache_key(rt, opts, source, length);
    unsigned char *bin = NULL;
    size_t binlen = 0;
    ds_status ls =
        key ? ds_program_cache_load(rt->cache_dir, key, &bin, &binlen, NULL) : DS_ERR_NO_MEMORY;
    if (ls == DS_OK && from_binary(rt, bin, binlen, opts, out) == DS_OK) {
      rt->stats.cache_hits++;
      free(bin);
      goto done;
    }
    if (ls == DS_OK || ls == DS_ERR_CORRUPT) rt->stats.cache_rejects++;
    free(bin);
  }

  cl_int rc;
  cl_program p = clCreateProgramWithSource(rt->context, 1, &source, &length, &rc);
  if (rc != CL_SUCCESS) {
    st = ds_error_set(err, DS_ERR_OPENCL, "cannot create program '%s' on %s: %s", name,
                      rt->device.name, ds_cl_status_name(rc));
    goto done;
  }
  rt->stats.source_builds++;
  const int quiet = ds_stderr_quiet(rt); /* the build log keeps what PoCL prints */
  rc = clBuildProgram(p, 1, &rt->device.id, opts, NULL, NULL);
  ds_stderr_restore(quiet);
  if (rc != CL_SUCCESS) {
    st = build_failed(rt, p, name, rc, err);
    clReleaseProgram(p);
    goto done;
  }
  if (key) store_binary(rt, p, key);
  *out = p;
done:
  free(key);
  free(opts);
  return st;
}

static ds_status read_source_file(const char *dir, const char *name, char **text, size_t *len,
                                  ds_error *err) {
  char path[DS_PATH_MAX + 256];
  snprintf(path, sizeof path, "%s/%s.cl", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f)
    return ds_error_set(err, DS_ERR_NOT_FOUND,
                        "kernel source %s not found (DSENGINE_KERNEL_DIR=%s); unset "
                        "DSENGINE_KERNEL_DIR to use the sources built into dsengine",
                        path, dir);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    fclose(f);
    return ds_error_set(err, DS_ERR_IO, "cannot read kernel source %s", path);
  }
  fclose(f);
  buf[n] = '\0';
  *text = buf;
  *len = (size_t)n;
  return DS_OK;
}

static ds_status program_entry(ds_runtime *rt, const char *name, const char *options,
                               ds_program_entry **out, ds_error *err) {
  const char *opt = options ? options : "";
  for (int i = 0; i < rt->program_count; i++) {
    if (strcmp(rt->programs[i].name, name) == 0 && strcmp(rt->programs[i].options, opt) == 0) {
      *out = &rt->programs[i];
      return DS_OK;
    }
  }

  char *owned = NULL;
  const char *text = NULL;
  size_t len = 0;
  if (rt->kernel_dir[0]) {
    ds_status st = read_source_file(rt->kernel_dir, name, &owned, &len, err);
    if (st != DS_OK) return st;
    text = owned;
  } else {
    for (int i = 0; i < ds_kernel_source_count; i++)
      if (strcmp(ds_kernel_sources[i].name, name) == 0) {
        text = ds_kernel_sources[i].text;
        len = ds_kernel_sources[i].length;
      }
    if (!text)
      return ds_error_set(err, DS_ERR_NOT_FOUND, "no kernel program named '%s' in cl/", name);
  }

  if (rt->program_count == rt->program_cap) {
    int cap = rt->program_cap ? 2 * rt->program_cap : 8;
    ds_program_entry *grown = realloc(rt->programs, (size_t)cap * sizeof *grown);
    if (!grown) {
      free(owned);
      return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
    }
    rt->programs = grown;
    rt->program_cap = cap;
  }
  cl_program p;
  ds_status st = ds_program_build(rt, name, text, len, opt, &p, err);
  free(owned);
  if (st != DS_OK) return st;
  ds_program_entry *e = &rt->programs[rt->program_count];
  e->name = strdup(name);
  e->options = strdup(opt);
  if (!e->name || !e->options) {
    free(e->name);
    free(e->options);
    clReleaseProgram(p);
    return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  }
  e->program = p;
  e->kernel_names = NULL;
  e->kernels = NULL;
  e->kernel_count = 0;
  rt->program_count++;
  *out = e;
  return DS_OK;
}

ds_status ds_program_get(ds_runtime *rt, const char *name, const char *options, cl_program *out,
                         ds_error *err) {
  ds_program_entry *e;
  ds_status st = program_entry(rt, name, options, &e, err);
  *out = st == DS_OK ? e->program : NULL;
  return st;
}

ds_status ds_kernel_get(ds_runtime *rt, const char *program, const char *options,
                        const char *kernel, cl_kernel *out, ds_error *err) {
  *out = NULL;
  ds_program_entry *e;
  ds_status st = program_entry(rt, program, options, &e, err);
  if (st != DS_OK) return st;
  for (int k = 0; k < e->kernel_count; k++)
    if (strcmp(e->kernel_names[k], kernel) == 0) {
      *out = e->kernels[k];
      return DS_OK;
    }
  cl_kernel *ks = realloc(e->kernels, (size_t)(e->kernel_count + 1) * sizeof *ks);
  if (ks) e->kernels = ks;
  char **names = realloc(e->kernel_names, (size_t)(e->kernel_count + 1) * sizeof *names);
  if (names) e->kernel_names = names;
  char *copy = strdup(kernel);
  if (!ks || !names || !copy) {
    free(copy);
    return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  }
  cl_int rc;
  cl_kernel k = clCreateKernel(e->program, kernel, &rc);
  if (rc != CL_SUCCESS) {
    free(copy);
    return ds_error_set(err, DS_ERR_OPENCL, "no kernel '%s' in program '%s' on %s: %s", kernel,
                        program, rt->device.name, ds_cl_status_name(rc));
  }
  e->kernels[e->kernel_count] = k;
  e->kernel_names[e->kernel_count] = copy;
  e->kernel_count++;
  *out = k;
  return DS_OK;
}

void ds_program_release_all(ds_runtime *rt) {
  for (int i = 0; i < rt->program_count; i++) {
    ds_program_entry *e = &rt->programs[i];
    for (int k = 0; k < e->kernel_count; k++) {
      clReleaseKernel(e->kernels[k]);
      free(e->kernel_names[k]);
    }
    free(e->kernels);
    free(e->kernel_names);
    clReleaseProgram(rt->programs[i].program);
    free(rt->programs[i].name);
    free(rt->programs[i].options);
  }
  free(rt->programs);
  rt->programs = NULL;
  rt->program_count = rt->program_cap = 0;
}

void ds_kernel_name(cl_kernel k, char *buf, size_t cap) {
  buf[0] = '\0';
  if (clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, cap, buf, NULL) != CL_SUCCESS)
    snprintf(buf, cap, "(unnamed)");
  buf[cap - 1] = '\0';
}

ds_status ds_kernel_arg(cl_kernel k, cl_uint i, size_t size, const void *value, ds_error *err) {
  cl_int rc = clSetKernelArg(k, i, size, value);
  if (rc == CL_SUCCESS) return DS_OK;
  char name[128];
  ds_kernel_name(k, name, sizeof name);
  return ds_error_set(err, DS_ERR_OPENCL, "cannot set argument %u of kernel %s: %s", i, name,
                      ds_cl_status_name(rc));
}

ds_status ds_kernel_args(cl_kernel k, ds_error *err, int count, ...) {
  va_list ap;
  va_start(ap, count);
  ds_status st = DS_OK;
  for (int i = 0; i < count && st == DS_OK; i++) {
    const size_t size = va_arg(ap, size_t);
    const void *value = va_arg(ap, const void *);
    st = ds_kernel_arg(k, (cl_uint)i, size, value, err);
  }
  va_end(ap);
  return st;
}

ds_status ds_kernel_launch(ds_runtime *rt, cl_kernel k, cl_uint dims, const size_t *global,
                           const size_t *local, ds_error *err) {
  size_t g[3];
  for (cl_uint i = 0; i < dims; i++)
    if (global[i] == 0) return DS_OK; /* an empty range is no work, not an error */
  for (cl_uint i = 0; i < dims; i++)
    g[i] = local ? (global[i] + local[i] - 1) / local[i] * local[i] : global[i];
  cl_event ev = NULL;
  cl_int rc = clEnqueueNDRangeKernel(rt->queue, k, dims, NULL, g, local, 0, NULL,
                                     rt->profiling ? &ev : NULL);
  if (rc == CL_SUCCESS) {
    if (ev) ds_profile_record(rt, k, ev);
    return DS_OK;
  }
  char name[128];
  ds_kernel_name(k, name, sizeof name);
  ds_status code = (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES)
                       ? DS_ERR_NO_MEMORY
                       : DS_ERR_OPENCL;
  return ds_error_set(err, code, "cannot launch kernel %s on %s: %s", name, rt->device.name,
                      ds_cl_status_name(rc));
}
