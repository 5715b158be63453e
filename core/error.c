#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ds_status ds_error_set(ds_error *err, ds_status code, const char *fmt, ...) {
  if (!err) return code;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}

void ds_error_append(ds_error *err, const char *fmt, ...) {
  if (!err) return;
  size_t used = strlen(err->msg);
  if (used + 1 >= sizeof err->msg) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg + used, sizeof err->msg - used, fmt, ap);
  va_end(ap);
}

void ds_error_set_detail(ds_error *err, const char *text) {
  if (!err) return;
  free(err->detail);
  err->detail = text ? strdup(text) : NULL;
}

void ds_error_clear(ds_error *err) {
  if (!err) return;
  free(err->detail);
  err->detail = NULL;
  err->code = DS_OK;
  err->msg[0] = '\0';
}

const char *ds_status_name(ds_status code) {
  switch (code) {
  case DS_OK: return "ok";
  case DS_ERR_INVALID: return "invalid input";
  case DS_ERR_NOT_FOUND: return "not found";
  case DS_ERR_OPENCL: return "OpenCL error";
  case DS_ERR_BUILD: return "kernel build failed";
  case DS_ERR_NO_MEMORY: return "out of memory";
  case DS_ERR_IO: return "I/O error";
  case DS_ERR_CORRUPT: return "corrupt file";
  case DS_ERR_INTERRUPTED: return "interrupted";
  }
  return "unknown error";
}
