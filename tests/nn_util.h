/* Shared helpers for the layer tests: random data, device round trips and
 * error norms. */
#ifndef DS_TESTS_NN_UTIL_H
#define DS_TESTS_NN_UTIL_H

#include <math.h>
#include <stdlib.h>

#include "host/buffer.h"
#include "host/runtime.h"

static unsigned nn_rng = 12345;
static inline float urand(void) { /* uniform in [-1, 1) */
  nn_rng = nn_rng * 1664525u + 1013904223u;
  return (float)(nn_rng >> 8) / 8388608.0f - 1.0f;
}

static inline float *rand_array(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  for (size_t i = 0; i < n; i++)
    p[i] = urand();
  return p;
}

static inline cl_mem upload(ds_runtime *rt, const float *p, size_t n) {
  ds_error err = {0};
  cl_mem m = NULL;
  if (ds_buffer_create(rt, (n ? n : 1) * sizeof(float), CL_MEM_READ_WRITE, "test", &m, &err) ==
      DS_OK)
    ds_buffer_write(rt, m, 0, n * sizeof(float), p, &err);
  return m;
}

static inline float *download(ds_runtime *rt, cl_mem m, size_t n) {
  ds_error err = {0};
  float *p = malloc((n ? n : 1) * sizeof *p);
  ds_buffer_read(rt, m, 0, n * sizeof(float), p, &err);
  return p;
}

/* max |a - b| / max(max |b|, 1e-30) */
static inline double rel_err(const float *a, const float *b, size_t n) {
  double md = 0, mb = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d;
    if (fabs(b[i]) > mb) mb = fabs(b[i]);
  }
  return md / (mb > 1e-30 ? mb : 1e-30);
}

#endif
