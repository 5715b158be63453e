/* Device buffers whose failures name the buffer, its size and the device. */
#ifndef DS_HOST_BUFFER_H
#define DS_HOST_BUFFER_H

#include <CL/cl.h>
#include <stddef.h>

#include "host/runtime.h"

/* Allocates bytes of device memory. what names the buffer in errors
 * ("encoder weights"). A request larger than the device's largest single
 * allocation, or one the driver refuses, is DS_ERR_NO_MEMORY with a message
 * that gives the bytes asked for and what the device offers; callers append
 * a hint of their own (a smaller batch, another model). Zero bytes allocate
 * one so every buffer is a valid object. */
ds_status ds_buffer_create(ds_runtime *rt, size_t bytes, cl_mem_flags flags, const char *what,
                           cl_mem *out, ds_error *err);

/* Blocking transfers. */
ds_status ds_buffer_write(ds_runtime *rt, cl_mem buf, size_t offset, size_t bytes, const void *src,
                          ds_error *err);
ds_status ds_buffer_read(ds_runtime *rt, cl_mem buf, size_t offset, size_t bytes, void *dst,
                         ds_error *err);
/* An upload that only enqueues: src must stay unchanged until the queue has
 * run it (a later blocking transfer or ds_runtime_finish). */
ds_status ds_buffer_write_async(ds_runtime *rt, cl_mem buf, size_t offset, size_t bytes,
                                const void *src, ds_error *err);
/* The same for rows rows of row_bytes (contiguous in src) into rows pitch
 * bytes apart from byte offset of buf. */
ds_status ds_buffer_write_rows_async(ds_runtime *rt, cl_mem buf, size_t offset, size_t pitch,
                                     size_t row_bytes, size_t rows, const void *src, ds_error *err);

/* Releases *buf and sets it to NULL; NULL is fine. */
void ds_buffer_release(cl_mem *buf);
/* Scratch that grows: keeps *buf when its *have bytes suffice, else releases
 * it and creates one of bytes (contents lost), updating *have. */
ds_status ds_buffer_ensure(ds_runtime *rt, cl_mem *buf, size_t *have, size_t bytes,
                           const char *what, ds_error *err);

/* A small table of kernel parameters kept on the device. ds_table_upload
 * enqueues the upload of bytes from data without waiting, from a copy the
 * table owns, and sends nothing when the device holds those bytes already;
 * before it changes its copy it waits for the queue (an earlier upload may
 * still be reading it). Zero-initialise; release with ds_table_release. */
typedef struct ds_table {
  cl_mem mem;
  size_t mem_bytes;  /* of mem */
  void *host;        /* what mem holds (once its upload has run) */
  size_t bytes, cap; /* of host */
} ds_table;

ds_status ds_table_upload(ds_runtime *rt, ds_table *t, const void *data, size_t bytes,
                          const char *what, ds_error *err);
void ds_table_release(ds_table *t);

#endif
