#include "engine/util/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

double ds_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ds_note(ds_note_fn fn, void *user, const char *fmt, ...) {
  if (!fn) return;
  char line[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fn(line, user);
}
