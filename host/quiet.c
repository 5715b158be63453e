#include "host/quiet.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ds_stderr_quiet(const ds_runtime *rt) {
  const char *verbose = getenv("DSENGINE_DRIVER_VERBOSE");
  if (rt->device.vendor_class != DS_VENDOR_CPU || (verbose && strcmp(verbose, "0"))) return -1;
  fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  const int null = open("/dev/null", O_WRONLY);
  if (saved < 0 || null < 0 || dup2(null, STDERR_FILENO) < 0) {
    if (saved >= 0) close(saved);
    if (null >= 0) close(null);
    return -1;
  }
  close(null);
  return saved;
}

void ds_stderr_restore(int token) {
  if (token < 0) return;
  fflush(stderr);
  dup2(token, STDERR_FILENO);
  close(token);
}
