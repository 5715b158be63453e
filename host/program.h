/* Building OpenCL programs (through the binary cache) and launching kernels. */
#ifndef DS_HOST_PROGRAM_H
#define DS_HOST_PROGRAM_H

#include <CL/cl.h>

#include "host/runtime.h"

/* Builds source for rt's device with the vendor profile's options plus
 * options (may be NULL), loading the binary from the cache when it holds one
 * and storing it otherwise. A cache file that is corrupt or that the driver
 * rejects is rebuilt from source and replaced. A build failure is DS_ERR_BUILD
 * with the device in err->msg and the full build log in err->detail. The
 * caller owns *out. */
ds_status ds_program_build(ds_runtime *rt, const char *name, const char *source, size_t length,
                           const char *options, cl_program *out, ds_error *err);

/* The cl/ program called name ("core/vector"), built with options once per
 * runtime and owned by it. */
ds_status ds_program_get(ds_runtime *rt, const char *name, const char *options, cl_program *out,
                         ds_error *err);

/* A kernel of an embedded program, created once per runtime and owned by it
 * (set its arguments before each launch; one host thread per runtime). */
ds_status ds_kernel_get(ds_runtime *rt, const char *program, const char *options,
                        const char *kernel, cl_kernel *out, ds_error *err);

/* The kernel's function name into buf ("(unnamed)" when the driver will not
 * say), always terminated. */
void ds_kernel_name(cl_kernel k, char *buf, size_t cap);

/* Sets argument i, naming the kernel and argument on failure. */
ds_status ds_kernel_arg(cl_kernel k, cl_uint i, size_t size, const void *value, ds_error *err);

/* Sets arguments 0 .. count-1 from (size_t size, const void *value) pairs:
 *   ds_kernel_args(k, err, 2, DS_ARG(dst), DS_ARG(n));
 * stopping at the first failure, which names the kernel and argument. */
ds_status ds_kernel_args(cl_kernel k, ds_error *err, int count, ...);
#define DS_ARG(x) sizeof(x), (const void *)&(x)

/* Enqueues k with global sizes rounded up to multiples of local (local may be
 * NULL). Kernels guard their own bounds. */
ds_status ds_kernel_launch(ds_runtime *rt, cl_kernel k, cl_uint dims, const size_t *global,
                           const size_t *local, ds_error *err);

/* Releases every program the runtime owns (ds_runtime_destroy calls this). */
void ds_program_release_all(ds_runtime *rt);

#endif
