/* Elementwise vector kernels (cl/core/vector.cl) against their C references
 * on odd and edge sizes. Runs on the default device and, in a second ctest
 * entry, under Oclgrind, which reports out-of-bounds and uninitialised
 * accesses that PoCL forgives. */
#include <stdlib.h>

#include "check.h"
#include "engine/tensor/vector.h"
#include "host/buffer.h"
#include "host/runtime.h"

static unsigned rng = 2024;
static float frand(void) {
  rng = rng * 1664525u + 1013904223u;
  return (float)(rng >> 8) / 16777216.0f * 2.0f - 1.0f;
}

/* fill and axpy against their C references on odd and edge sizes. */
static void vector_kernels(ds_runtime *rt) {
  const size_t sizes[] = {1, 2, 7, 63, 64, 65, 257, 1000, 100003};
  ds_error err = {0};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *ref = malloc(n * sizeof *ref);
    cl_mem dx = NULL, dy = NULL;
    /* one guard element past n must stay untouched */
    CHECK_OK(ds_buffer_create(rt, (n + 1) * sizeof(float), CL_MEM_READ_WRITE, "y", &dy, &err),
             &err);
    CHECK_OK(ds_buffer_create(rt, n * sizeof(float), CL_MEM_READ_WRITE, "x", &dx, &err), &err);
    /* y starts as noise with a guard after it. The whole buffer is written
     * at once: Oclgrind 21.10 wrongly flags kernel-written elements as
     * uninitialised after a partial host write to the same buffer. */
    const float guard = 1234.5f;
    float *init = malloc((n + 1) * sizeof *init);
    for (size_t i = 0; i < n; i++)
      init[i] = frand();
    init[n] = guard;
    CHECK_OK(ds_buffer_write(rt, dy, 0, (n + 1) * sizeof(float), init, &err), &err);
    free(init);
    float a = frand();
    for (size_t i = 0; i < n; i++)
      x[i] = frand();
    float v = frand();
    CHECK_OK(ds_buffer_write(rt, dx, 0, n * sizeof(float), x, &err), &err);
    CHECK_OK(ds_fill_f32(rt, dy, v, n, &err), &err);
    CHECK_OK(ds_buffer_read(rt, dy, 0, n * sizeof(float), y, &err), &err);
    ds_fill_f32_reference(ref, v, n);
    CHECK(memcmp(y, ref, n * sizeof(float)) == 0, "fill n=%zu", n);
    CHECK_OK(ds_axpy_f32(rt, dy, dx, a, n, &err), &err);
    CHECK_OK(ds_buffer_read(rt, dy, 0, n * sizeof(float), y, &err), &err);
    ds_axpy_f32_reference(ref, x, a, n);
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++)
      if (y[i] != ref[i]) bad = i;
    CHECK(bad == n, "axpy n=%zu first mismatch at %zu", n, bad);
    float after = 0;
    CHECK_OK(ds_buffer_read(rt, dy, n * sizeof(float), sizeof after, &after, &err), &err);
    CHECK(after == guard, "n=%zu: element past the end changed to %g", n, (double)after);
    ds_buffer_release(&dx);
    ds_buffer_release(&dy);
    free(x);
    free(y);
    free(ref);
  }
  CHECK_OK(ds_fill_f32(rt, NULL, 0.0f, 0, &err), &err); /* empty range: no launch */
}

int main(void) {
  ds_error err = {0};
  ds_runtime *rt = NULL;
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (rt) vector_kernels(rt);
  ds_runtime_destroy(rt);
  return check_summary("vector");
}
