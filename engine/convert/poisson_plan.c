/* The Poisson solver's set-up per region size: which transform path a
 * size takes, its slot tables (offsets, weights, tridiagonal pivots, the
 * chirp-z kernel), its baked clFFT plan, and the scratch buffers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/convert/poisson_internal.h"
#include "engine/tensor/vector.h"
#include "host/buffer.h"
#include "host/cl_status.h"
#include "host/quiet.h"

static const double PI = 3.14159265358979323846;

const char *ds_poisson_clfft_status_name(int st) {
  switch (st) {
  case CLFFT_BUGCHECK: return "CLFFT_BUGCHECK";
  case CLFFT_NOTIMPLEMENTED: return "CLFFT_NOTIMPLEMENTED";
  case CLFFT_TRANSPOSED_NOTIMPLEMENTED: return "CLFFT_TRANSPOSED_NOTIMPLEMENTED";
  case CLFFT_FILE_NOT_FOUND: return "CLFFT_FILE_NOT_FOUND";
  case CLFFT_FILE_CREATE_FAILURE: return "CLFFT_FILE_CREATE_FAILURE";
  case CLFFT_VERSION_MISMATCH: return "CLFFT_VERSION_MISMATCH";
  case CLFFT_INVALID_PLAN: return "CLFFT_INVALID_PLAN";
  case CLFFT_DEVICE_NO_DOUBLE: return "CLFFT_DEVICE_NO_DOUBLE";
  case CLFFT_DEVICE_MISMATCH: return "CLFFT_DEVICE_MISMATCH";
  default: return st >= CLFFT_BUGCHECK ? "unknown clFFT status" : ds_cl_status_name(st);
  }
}

/* ---- sizes ---- */

static int smooth7(int n) {
  static const int primes[] = {2, 3, 5, 7};
  if (n < 1) return 0;
  for (int i = 0; i < 4; i++)
    while (n % primes[i] == 0)
      n /= primes[i];
  return n == 1;
}

int ds_poisson_good_size(int n) {
  int m = n < 3 ? 3 : n;
  while (!smooth7(m - 1))
    m++;
  return m;
}

ds_poisson_path ds_poisson_path_for(int w, int h) {
  if (smooth7(w - 1)) return DS_POISSON_DST_X;
  if (smooth7(h - 1)) return DS_POISSON_DST_Y;
  return DS_POISSON_BLUESTEIN_X;
}

void ds_poisson_entry_release(size_entry *e) {
  if (e->has_plan) clfftDestroyPlan(&e->plan);
  ds_buffer_release(&e->off);
  ds_buffer_release(&e->wt);
  ds_buffer_release(&e->piv);
  ds_buffer_release(&e->kern);
  memset(e, 0, sizeof *e);
}

/* ---- per-size tables and plans ---- */

static const char *path_name(ds_poisson_path path) {
  return path == DS_POISSON_BLUESTEIN_X ? "chirp-z complex" : "real-to-complex";
}

static ds_status upload(ds_runtime *rt, const void *data, size_t bytes, const char *what,
                        cl_mem *out, ds_error *err) {
  ds_status st = ds_buffer_create(rt, bytes, CL_MEM_READ_ONLY, what, out, err);
  if (st == DS_OK) st = ds_buffer_write(rt, *out, 0, bytes, data, err);
  return st;
}

/* c_k = exp(i pi k^2 / (2(nt + 1))), the chirp of the DST-I's kernel
 * sin(pi n k / (nt + 1)), with the phase reduced exactly in integers. */
static void chirp(int nt, long k, double *re, double *im) {
  const long period = 4L * (nt + 1);
  const double a = 2.0 * PI * (double)((k * k) % period) / (double)period;
  *re = cos(a);
  *im = sin(a);
}

/* The tables of engine/convert/poisson.cl: slot offsets and weights per t,
 * the elimination pivots, and for the chirp-z path the transformed
 * convolution kernel. The chirp-z DST (k, n = 1..nt) is
 *   S_k = Im sum_n x_n e^{i theta n k} = Im c_k sum_n (x_n c_n) conj(c_{k-n}),
 * theta = pi / (nt + 1), since n k = (n^2 + k^2 - (k - n)^2) / 2: a linear
 * convolution of x_n c_n with conj(c_m), m = -(nt-1)..nt-1, done cyclically
 * with length P >= 2 nt - 1 so that the two ends do not wrap onto each other. */
static ds_status entry_tables(ds_runtime *rt, size_entry *e, ds_error *err) {
  const int nt = e->nt, ms = e->ms, P = e->fft_len;
  int *off = calloc((size_t)nt * 4, sizeof *off);
  float *wt = calloc((size_t)nt * 4, sizeof *wt);
  float *piv = malloc((size_t)nt * ms * sizeof *piv);
  float *kern = e->path == DS_POISSON_BLUESTEIN_X ? malloc((size_t)P * 2 * sizeof *kern) : NULL;
  double *b = e->path == DS_POISSON_BLUESTEIN_X ? calloc((size_t)P * 2, sizeof *b) : NULL;
  ds_status st = DS_OK;
  if (!off || !wt || !piv || (e->path == DS_POISSON_BLUESTEIN_X && (!kern || !b))) {
    st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for the %dx%d Poisson tables",
                      e->w, e->h);
    goto done;
  }
  for (int t = 0; t < nt; t++) {
    const int k = t + 1;
    if (e->path == DS_POISSON_BLUESTEIN_X) {
      double cr, ci;
      chirp(nt, k, &cr, &ci);
      off[4 * t] = 2 * t, off[4 * t + 1] = 2 * t + 1, off[4 * t + 2] = t;
      wt[4 * t] = (float)cr, wt[4 * t + 1] = (float)ci;     /* x_k c_k */
      wt[4 * t + 2] = (float)ci, wt[4 * t + 3] = (float)cr; /* Im(c_k y) */
    } else {
      /* odd extension: x_k at k, -x_k at 2(nt+1) - k; X_k = -2i S_k */
      off[4 * t] = k, off[4 * t + 1] = e->fft_len - k, off[4 * t + 2] = k;
      wt[4 * t] = 1.0f, wt[4 * t + 1] = -1.0f, wt[4 * t + 2] = 0.0f, wt[4 * t + 3] = -0.5f;
    }
    const double d = 2.0 * cos(PI * k / (nt + 1)) - 4.0;
    double prev = 0.0;
    for (int s = 0; s < ms; s++) {
      prev = 1.0 / (d - prev);
      piv[(size_t)s * nt + t] = (float)prev;
    }
  }
  if (e->path == DS_POISSON_BLUESTEIN_X) {
    for (int m = 0; m < nt; m++) {
      double cr, ci;
      chirp(nt, m, &cr, &ci);
      b[2 * m] = cr, b[2 * m + 1] = -ci;
      if (m > 0) b[2 * (P - m)] = cr, b[2 * (P - m) + 1] = -ci;
    }
    /* its DFT, once per size on the host: P^2 terms with exact twiddle indices */
    for (int j = 0; j < P; j++) {
      double re = 0.0, im = 0.0;
      for (int m = 0; m < P; m++) {
        if (b[2 * m] == 0.0 && b[2 * m + 1] == 0.0) continue;
        const double a = -2.0 * PI * (double)(((long)j * m) % P) / P;
        const double c = cos(a), s = sin(a);
        re += b[2 * m] * c - b[2 * m + 1] * s;
        im += b[2 * m] * s + b[2 * m + 1] * c;
      }
      kern[2 * j] = (float)re, kern[2 * j + 1] = (float)im;
    }
  }
  st = upload(rt, off, (size_t)nt * 4 * sizeof *off, "Poisson slot offsets", &e->off, err);
  if (st == DS_OK)
    st = upload(rt, wt, (size_t)nt * 4 * sizeof *wt, "Poisson slot weights", &e->wt, err);
  if (st == DS_OK)
    st = upload(rt, piv, (size_t)nt * ms * sizeof *piv, "Poisson pivots", &e->piv, err);
  if (st == DS_OK && kern)
    st = upload(rt, kern, (size_t)P * 2 * sizeof *kern, "Poisson chirp kernel", &e->kern, err);
done:
  free(off), free(wt), free(piv), free(kern), free(b);
  return st;
}

ds_status ds_poisson_clfft_failed(ds_runtime *rt, const size_entry *e, const char *what, int st,
                                  ds_error *err) {
  ds_error_set(err, DS_ERR_OPENCL,
               "clFFT cannot %s the %s plan of length %d (batch %d) for a %dx%d Poisson blend "
               "on %s: %s (%d)",
               what, path_name(e->path), e->fft_len, e->batch, e->w, e->h, rt->device.name,
               ds_poisson_clfft_status_name(st), st);
  if (st == CLFFT_INVALID_PLAN || st == CLFFT_NOTIMPLEMENTED)
    ds_error_append(err, "; a region size from ds_poisson_good_size avoids unusual lengths");
  return DS_ERR_OPENCL;
}

static ds_status entry_plan(ds_runtime *rt, size_entry *e, ds_error *err) {
  size_t len = (size_t)e->fft_len;
  clfftStatus st = clfftCreateDefaultPlan(&e->plan, rt->context, CLFFT_1D, &len);
  if (st != CLFFT_SUCCESS) return ds_poisson_clfft_failed(rt, e, "create", st, err);
  e->has_plan = 1;
  const int real = e->path != DS_POISSON_BLUESTEIN_X;
  size_t one = 1;
  st = clfftSetPlanPrecision(e->plan, CLFFT_SINGLE);
  if (st == CLFFT_SUCCESS)
    st = real ? clfftSetLayout(e->plan, CLFFT_REAL, CLFFT_HERMITIAN_INTERLEAVED)
              : clfftSetLayout(e->plan, CLFFT_COMPLEX_INTERLEAVED, CLFFT_COMPLEX_INTERLEAVED);
  if (st == CLFFT_SUCCESS) st = clfftSetResultLocation(e->plan, CLFFT_OUTOFPLACE);
  if (st == CLFFT_SUCCESS) st = clfftSetPlanInStride(e->plan, CLFFT_1D, &one);
  if (st == CLFFT_SUCCESS) st = clfftSetPlanOutStride(e->plan, CLFFT_1D, &one);
  if (st == CLFFT_SUCCESS)
    st = clfftSetPlanDistance(e->plan, (size_t)(real ? e->pitch : e->pitch / 2),
                              (size_t)e->spec_pitch);
  if (st == CLFFT_SUCCESS) st = clfftSetPlanBatchSize(e->plan, (size_t)e->batch);
  if (st == CLFFT_SUCCESS) st = clfftSetPlanScale(e->plan, CLFFT_FORWARD, 1.0f);
  if (st == CLFFT_SUCCESS) st = clfftSetPlanScale(e->plan, CLFFT_BACKWARD, 1.0f / e->fft_len);
  if (st != CLFFT_SUCCESS) return ds_poisson_clfft_failed(rt, e, "configure", st, err);
  const int quiet = ds_stderr_quiet(rt); /* PoCL prints clFFT kernels' warnings */
  st = clfftBakePlan(e->plan, 1, &rt->queue, NULL, NULL);
  ds_stderr_restore(quiet);
  if (st != CLFFT_SUCCESS) return ds_poisson_clfft_failed(rt, e, "bake", st, err);
  st = clfftGetTmpBufSize(e->plan, &e->tmp_bytes);
  if (st != CLFFT_SUCCESS) return ds_poisson_clfft_failed(rt, e, "size the temporary of", st, err);
  return DS_OK;
}

/* Floats between the starts of transform rows: whole cache lines, and never
 * a multiple of 512 bytes, since the sweep walks down columns and rows that
 * far apart (a 2^k-point chirp-z row is) share cache sets: at 256 px that
 * made the sweep 5x slower. */
static int row_pitch(int floats) {
  int p = (floats + 15) / 16 * 16;
  return p % 128 ? p : p + 16;
}

static int smallest_smooth7(int n) {
  while (!smooth7(n))
    n++;
  return n;
}

ds_status ds_poisson_entry_get(ds_poisson *p, int w, int h, size_entry **out, ds_error *err) {
  p->clock++;
  for (int i = 0; i < p->size_count; i++)
    if (p->sizes[i].w == w && p->sizes[i].h == h) {
      p->sizes[i].last_used = p->clock;
      *out = &p->sizes[i];
      return DS_OK;
    }
  size_entry *e;
  if (p->size_count < MAX_SIZES) {
    e = &p->sizes[p->size_count++];
  } else {
    e = &p->sizes[0];
    for (int i = 1; i < MAX_SIZES; i++)
      if (p->sizes[i].last_used < e->last_used) e = &p->sizes[i];
    ds_poisson_entry_release(e);
  }
  e->w = w, e->h = h;
  e->path = ds_poisson_path_for(w, h);
  const int transpose = e->path == DS_POISSON_DST_Y;
  e->nt = transpose ? h - 2 : w - 2;
  e->ms = transpose ? w - 2 : h - 2;
  e->lines = 3 * e->ms;
  /* clFFT's real transforms run two rows as one complex row; the odd one out
   * is paired with uninitialised registers (Oclgrind flags it, and garbage
   * that is not finite would spoil the row), so it gets a zero row instead */
  e->batch = e->lines;
  if (e->path != DS_POISSON_BLUESTEIN_X) e->batch += e->lines & 1;
  if (e->path == DS_POISSON_BLUESTEIN_X) {
    e->fft_len = smallest_smooth7(2 * e->nt - 1);
    e->pitch = row_pitch(2 * e->fft_len);
    e->spec_pitch = e->pitch / 2;
  } else {
    e->fft_len = 2 * (e->nt + 1);
    e->pitch = row_pitch(e->fft_len);
    e->spec_pitch = row_pitch(2 * (e->nt + 2)) / 2;
  }
  e->serial = ++p->next_serial;
  e->last_used = p->clock;
  ds_status st = entry_tables(p->rt, e, err);
  if (st == DS_OK) st = entry_plan(p->rt, e, err);
  if (st != DS_OK) {
    ds_poisson_entry_release(e);
    *e = p->sizes[--p->size_count]; /* keep the list dense */
    memset(&p->sizes[p->size_count], 0, sizeof *e);
    return st;
  }
  *out = e;
  return DS_OK;
}

ds_status ds_poisson_scratch_for(ds_poisson *p, const size_entry *e, ds_error *err) {
  ds_runtime *rt = p->rt;
  const size_t rows = (size_t)e->batch * e->pitch * sizeof(float);
  const size_t spec = (size_t)e->batch * e->spec_pitch * 2 * sizeof(float);
  if (!p->rows || p->rows_bytes < rows) p->rows_zeroed_for = 0;
  ds_status st =
      ds_buffer_ensure(rt, &p->rows, &p->rows_bytes, rows, "Poisson transform rows", err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &p->spec, &p->spec_bytes, spec, "Poisson spectra", err);
  if (st == DS_OK && e->path == DS_POISSON_BLUESTEIN_X)
    st = ds_buffer_ensure(rt, &p->back, &p->back_bytes, spec, "Poisson chirp-z output", err);
  if (st == DS_OK && e->tmp_bytes)
    st = ds_buffer_ensure(rt, &p->tmp, &p->tmp_bytes, e->tmp_bytes, "clFFT temporary", err);
  if (st == DS_OK && p->rows_zeroed_for != e->serial) {
    /* the slots no table names must read as zero for this layout */
    st = ds_fill_f32(rt, p->rows, 0.0f, rows / sizeof(float), err);
    if (st == DS_OK) p->rows_zeroed_for = e->serial;
  }
  if (st != DS_OK) ds_error_append(err, " (a %dx%d Poisson blend)", e->w, e->h);
  return st;
}
