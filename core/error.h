/* Error codes and messages for library code.
 *
 * Library functions return a ds_status and, when given a ds_error, fill it
 * with one line that names the thing that failed and what to do next. Only
 * engine/cli prints and exits. A multi-line detail (a kernel build log) may
 * ride along in err->detail. */
#ifndef DS_CORE_ERROR_H
#define DS_CORE_ERROR_H

typedef enum ds_status {
  DS_OK = 0,
  DS_ERR_INVALID = -1,     /* bad argument or malformed user input */
  DS_ERR_NOT_FOUND = -2,   /* a requested device, file or name does not exist */
  DS_ERR_OPENCL = -3,      /* an OpenCL call failed */
  DS_ERR_BUILD = -4,       /* a kernel program failed to build */
  DS_ERR_NO_MEMORY = -5,   /* host or device allocation failed */
  DS_ERR_IO = -6,          /* reading or writing a file failed */
  DS_ERR_CORRUPT = -7,     /* a file exists but its content is not valid */
  DS_ERR_INTERRUPTED = -8, /* stopped by a signal */
} ds_status;

enum { DS_ERROR_MSG_MAX = 1024 };

typedef struct ds_error {
  ds_status code;
  char msg[DS_ERROR_MSG_MAX];
  char *detail; /* owned; NULL when there is none */
} ds_error;

/* Sets code and message (printf-style) and returns code. err may be NULL. */
ds_status ds_error_set(ds_error *err, ds_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends to the message, e.g. a hint that only the caller can give. */
void ds_error_append(ds_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies text into err->detail, replacing any earlier detail. */
void ds_error_set_detail(ds_error *err, const char *text);
/* Frees the detail and resets to DS_OK. Safe on a zeroed or NULL error. */
void ds_error_clear(ds_error *err);
const char *ds_status_name(ds_status code);

#endif
