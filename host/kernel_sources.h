/* The OpenCL sources under cl/, embedded at build time by
 * cmake/embed_kernels_run.cmake. A program's name is its path under cl/
 * without ".cl" ("core/vector"). */
#ifndef DS_HOST_KERNEL_SOURCES_H
#define DS_HOST_KERNEL_SOURCES_H

#include <stddef.h>

typedef struct ds_kernel_source {
  const char *name;
  const char *text; /* NUL-terminated */
  size_t length;    /* without the NUL */
} ds_kernel_source;

extern const ds_kernel_source ds_kernel_sources[]; /* ends with a {0} entry */
extern const int ds_kernel_source_count;

#endif
