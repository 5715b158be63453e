#include "host/buffer.h"

#include <stdlib.h>
#include <string.h>

#include "host/cl_status.h"

static ds_status no_memory(ds_runtime *rt, size_t bytes, const char *what, const char *why,
                           ds_error *err) {
  char want[32], most[32], total[32];
  ds_format_bytes(bytes, want, sizeof want);
  ds_format_bytes(rt->device.max_alloc_bytes, most, sizeof most);
  ds_format_bytes(rt->device.global_mem_bytes, total, sizeof total);
  return ds_error_set(err, DS_ERR_NO_MEMORY,
                      "out of device memory: %s needs %s (%zu bytes) on %s, %s (largest buffer "
                      "%s, %s in all)",
                      what, want, bytes, rt->device.name, why, most, total);
}

ds_status ds_buffer_create(ds_runtime *rt, size_t bytes, cl_mem_flags flags, const char *what,
                           cl_mem *out, ds_error *err) {
  *out = NULL;
  if (rt->device.max_alloc_bytes && bytes > rt->device.max_alloc_bytes)
    return no_memory(rt, bytes, what, "more than the device allows in one buffer", err);
  cl_int rc;
  cl_mem m = clCreateBuffer(rt->context, flags, bytes ? bytes : 1, NULL, &rc);
  if (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES ||
      rc == CL_OUT_OF_HOST_MEMORY || rc == CL_INVALID_BUFFER_SIZE)
    return no_memory(rt, bytes, what, ds_cl_status_name(rc), err);
  if (rc != CL_SUCCESS)
    return ds_error_set(err, DS_ERR_OPENCL, "cannot create buffer %s (%zu bytes) on %s: %s", what,
                        bytes, rt->device.name, ds_cl_status_name(rc));
  *out = m;
  return DS_OK;
}

static ds_status write(ds_runtime *rt, cl_mem buf, cl_bool blocking, size_t offset, size_t bytes,
                       const void *src, ds_error *err) {
  if (!bytes) return DS_OK;
  cl_int rc = clEnqueueWriteBuffer(rt->queue, buf, blocking, offset, bytes, src, 0, NULL, NULL);
  if (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES)
    return no_memory(rt, bytes, "an upload", ds_cl_status_name(rc), err);
  if (rc != CL_SUCCESS)
    return ds_error_set(err, DS_ERR_OPENCL, "cannot upload %zu bytes to %s: %s", bytes,
                        rt->device.name, ds_cl_status_name(rc));
  return DS_OK;
}

ds_status ds_buffer_write(ds_runtime *rt, cl_mem buf, size_t offset, size_t bytes, const void *src,
                          ds_error *err) {
  return write(rt, buf, CL_TRUE, offset, bytes, src, err);
}

ds_status ds_buffer_write_async(ds_runtime *rt, cl_mem buf, size_t offset, size_t bytes,
                                const void *src, ds_error *err) {
  return write(rt, buf, CL_FALSE, offset, bytes, src, err);
}

ds_status ds_buffer_write_rows_async(ds_runtime *rt, cl_mem buf, size_t offset, size_t pitch,
                                     size_t row_bytes, size_t rows, const void *src,
                                     ds_error *err) {
  if (!row_bytes || !rows) return DS_OK;
  const size_t origin[3] = {offset, 0, 0}, host_origin[3] = {0, 0, 0};
  const size_t region[3] = {row_bytes, rows, 1};
  cl_int rc = clEnqueueWriteBufferRect(rt->queue, buf, CL_FALSE, origin, host_origin, region, pitch,
                                       0, row_bytes, 0, src, 0, NULL, NULL);
  if (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES)
    return no_memory(rt, row_bytes * rows, "an upload", ds_cl_status_name(rc), err);
  if (rc != CL_SUCCESS)
    return ds_error_set(err, DS_ERR_OPENCL, "cannot upload %zu rows of %zu bytes to %s: %s", rows,
                        row_bytes, rt->device.name, ds_cl_status_name(rc));
  return DS_OK;
}

ds_status ds_buffer_read(ds_runtime *rt, cl_mem buf, size_t offset, size_t bytes, void *dst,
                         ds_error *err) {
  if (!bytes) return DS_OK;
  cl_int rc = clEnqueueReadBuffer(rt->queue, buf, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
  /* a blocking read runs the work before it: a device that allocates at
   * first use reports running out here */
  if (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES)
    return no_memory(rt, bytes, "a download", ds_cl_status_name(rc), err);
  if (rc != CL_SUCCESS)
    return ds_error_set(err, DS_ERR_OPENCL, "cannot download %zu bytes from %s: %s", bytes,
                        rt->device.name, ds_cl_status_name(rc));
  return DS_OK;
}

void ds_buffer_release(cl_mem *buf) {
  if (buf && *buf) {
    clReleaseMemObject(*buf);
    *buf = NULL;
  }
}

ds_status ds_buffer_ensure(ds_runtime *rt, cl_mem *buf, size_t *have, size_t bytes,
                           const char *what, ds_error *err) {
  if (*buf && *have >= bytes) return DS_OK;
  ds_buffer_release(buf);
  *have = 0;
  ds_status st = ds_buffer_create(rt, bytes, CL_MEM_READ_WRITE, what, buf, err);
  if (st == DS_OK) *have = bytes;
  return st;
}

ds_status ds_table_upload(ds_runtime *rt, ds_table *t, const void *data, size_t bytes,
                          const char *what, ds_error *err) {
  if (t->mem && bytes == t->bytes && (bytes == 0 || memcmp(t->host, data, bytes) == 0))
    return DS_OK;
  ds_status st = ds_runtime_finish(rt, err);
  if (st != DS_OK) return st;
  if (bytes > t->cap) {
    void *grown = realloc(t->host, bytes);
    if (!grown)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes on the host", what,
                          bytes);
    t->host = grown;
    t->cap = bytes;
  }
  t->bytes = 0; /* the device copy is stale until the upload is enqueued */
  st = ds_buffer_ensure(rt, &t->mem, &t->mem_bytes, bytes ? bytes : 1, what, err);
  if (st != DS_OK || bytes == 0) return st;
  memcpy(t->host, data, bytes);
  st = ds_buffer_write_async(rt, t->mem, 0, bytes, t->host, err);
  if (st == DS_OK) t->bytes = bytes;
  return st;
}

void ds_table_release(ds_table *t) {
  ds_buffer_release(&t->mem);
  free(t->host);
  memset(t, 0, sizeof *t);
}
