/* Quieting what OpenCL drivers print. PoCL's compiler writes "N warnings
 * generated" (and a build's errors) straight to the process's stderr, under
 * the user's progress line, although the build log holds the same text.
 * Library code must not print, so builds on CPU devices run with stderr
 * pointed at /dev/null; DSENGINE_DRIVER_VERBOSE=1 keeps it. */
#ifndef DS_HOST_QUIET_H
#define DS_HOST_QUIET_H

#include "host/runtime.h"

/* Redirects stderr when rt's device is a CPU; returns a token for
 * ds_stderr_restore (-1 when nothing was redirected). */
int ds_stderr_quiet(const ds_runtime *rt);
void ds_stderr_restore(int token);

#endif
