/* The Poisson solver's state, shared by its set-up (poisson_plan.c: region
 * sizes, their tables and clFFT plans, the scratch buffers) and its solve
 * (poisson.c); nothing else includes this. */
#ifndef DS_ENGINE_CONVERT_POISSON_INTERNAL_H
#define DS_ENGINE_CONVERT_POISSON_INTERNAL_H

#include <clFFT.h>

#include "engine/convert/poisson.h"

/* Region sizes whose plans and tables stay baked; the least recently used
 * goes first. A warm re-bake costs ~30 ms, a cold one seconds. */
enum { MAX_SIZES = 16 };

/* One region size: its path, transform layout, baked plan and tables. */
typedef struct size_entry {
  int w, h;
  ds_poisson_path path;
  int nt, ms, lines;
  int batch;      /* rows transformed: lines, made even for the real FFT */
  int fft_len;    /* 2(nt + 1) for the real FFT, P for the chirp-z one */
  int pitch;      /* floats per transform input row */
  int spec_pitch; /* complex values per transform output row */
  clfftPlanHandle plan;
  int has_plan;
  size_t tmp_bytes;
  cl_mem off, wt, piv, kern; /* kern: chirp-z only */
  unsigned long serial, last_used;
} size_entry;

struct ds_poisson {
  ds_runtime *rt;
  size_entry sizes[MAX_SIZES];
  int size_count;
  unsigned long clock, next_serial;
  /* scratch shared by all sizes, grown on demand: the transform input rows,
   * the forward output, the chirp-z inverse output, clFFT's temporary */
  cl_mem rows, spec, back, tmp;
  size_t rows_bytes, spec_bytes, back_bytes, tmp_bytes;
  unsigned long rows_zeroed_for; /* serial of the layout rows' gaps are zero for */
};

/* clFFT's and OpenCL's status codes by name. */
const char *ds_poisson_clfft_status_name(int st);
/* DS_ERR_OPENCL naming the clFFT step, the region size and the device. */
ds_status ds_poisson_clfft_failed(ds_runtime *rt, const size_entry *e, const char *what, int st,
                                  ds_error *err);
/* The baked entry of a w x h region: found, or made (tables uploaded, plan
 * baked), evicting the least recently used beyond MAX_SIZES. */
ds_status ds_poisson_entry_get(ds_poisson *p, int w, int h, size_entry **out, ds_error *err);
void ds_poisson_entry_release(size_entry *e);
/* The scratch buffers e's solve needs, grown and zeroed as its layout needs. */
ds_status ds_poisson_scratch_for(ds_poisson *p, const size_entry *e, ds_error *err);

#endif
