/* Poisson (seamless-clone) blending on the device: the solve of a region
 * through the sine transform (clFFT) and the process-wide clFFT set-up.
 * Region sizes and their plans: poisson_plan.c; the reference: poisson_ref.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/convert/poisson_internal.h"
#include "host/buffer.h"
#include "host/program.h"

/* ---- clFFT set-up, shared by every ds_poisson in the process ---- */

static pthread_mutex_t clfft_lock = PTHREAD_MUTEX_INITIALIZER;
static int clfft_users;

static ds_status clfft_acquire(ds_error *err) {
  pthread_mutex_lock(&clfft_lock);
  clfftStatus st = CLFFT_SUCCESS;
  if (clfft_users == 0) {
    /* what clfftInitSetupData does; that one is a C99 `__inline` in the
     * header with no external definition, so an -O0 build cannot link it */
    clfftSetupData sd;
    memset(&sd, 0, sizeof sd);
    sd.major = clfftVersionMajor;
    sd.minor = clfftVersionMinor;
    sd.patch = clfftVersionPatch;
    st = clfftSetup(&sd);
  }
  if (st == CLFFT_SUCCESS) clfft_users++;
  pthread_mutex_unlock(&clfft_lock);
  if (st != CLFFT_SUCCESS)
    return ds_error_set(err, DS_ERR_OPENCL,
                        "cannot set up clFFT for Poisson blending: %s (%d); check that "
                        "libclfft2 matches the installed clFFT headers",
                        ds_poisson_clfft_status_name(st), (int)st);
  return DS_OK;
}

static void clfft_release(void) {
  pthread_mutex_lock(&clfft_lock);
  if (clfft_users > 0 && --clfft_users == 0) clfftTeardown();
  pthread_mutex_unlock(&clfft_lock);
}

/* ---- create / destroy ---- */

ds_status ds_poisson_create(ds_runtime *rt, ds_poisson **out, ds_error *err) {
  *out = NULL;
  ds_poisson *p = calloc(1, sizeof *p);
  if (!p) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for the Poisson solver");
  ds_status st = clfft_acquire(err);
  if (st != DS_OK) {
    free(p);
    return st;
  }
  p->rt = rt;
  *out = p;
  return DS_OK;
}

void ds_poisson_destroy(ds_poisson *p) {
  if (!p) return;
  for (int i = 0; i < p->size_count; i++)
    ds_poisson_entry_release(&p->sizes[i]);
  ds_buffer_release(&p->rows);
  ds_buffer_release(&p->spec);
  ds_buffer_release(&p->back);
  ds_buffer_release(&p->tmp);
  free(p);
  clfft_release();
}

/* ---- the solve ---- */

static ds_status transform(ds_poisson *p, const size_entry *e, cl_mem *result, ds_error *err) {
  ds_runtime *rt = p->rt;
  cl_mem tmp = e->tmp_bytes ? p->tmp : NULL;
  clfftStatus st = clfftEnqueueTransform(e->plan, CLFFT_FORWARD, 1, &rt->queue, 0, NULL, NULL,
                                         &p->rows, &p->spec, tmp);
  if (st != CLFFT_SUCCESS) return ds_poisson_clfft_failed(rt, e, "run", st, err);
  *result = p->spec;
  if (e->path != DS_POISSON_BLUESTEIN_X) return DS_OK;
  cl_kernel k;
  cl_int n = e->fft_len, pitch = e->spec_pitch, lines = e->lines;
  ds_status s = ds_kernel_get(rt, "convert/poisson", NULL, "poisson_chirp_mul", &k, err);
  if (s == DS_OK) s = ds_kernel_arg(k, 0, sizeof p->spec, &p->spec, err);
  if (s == DS_OK) s = ds_kernel_arg(k, 1, sizeof e->kern, &e->kern, err);
  if (s == DS_OK) s = ds_kernel_arg(k, 2, sizeof n, &n, err);
  if (s == DS_OK) s = ds_kernel_arg(k, 3, sizeof pitch, &pitch, err);
  if (s == DS_OK) s = ds_kernel_arg(k, 4, sizeof lines, &lines, err);
  size_t global[2] = {(size_t)n, (size_t)lines}, local[2] = {16, 4};
  if (s == DS_OK) s = ds_kernel_launch(rt, k, 2, global, local, err);
  if (s != DS_OK) return s;
  st = clfftEnqueueTransform(e->plan, CLFFT_BACKWARD, 1, &rt->queue, 0, NULL, NULL, &p->spec,
                             &p->back, tmp);
  if (st != CLFFT_SUCCESS) return ds_poisson_clfft_failed(rt, e, "run", st, err);
  *result = p->back;
  return DS_OK;
}

static ds_status check_buffer(cl_mem m, size_t need, const char *what, int w, int h,
                              ds_error *err) {
  size_t have = 0;
  if (!m || clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof have, &have, NULL) != CL_SUCCESS)
    return ds_error_set(err, DS_ERR_INVALID, "Poisson blend: %s is not a valid buffer", what);
  if (have < need)
    return ds_error_set(err, DS_ERR_INVALID,
                        "Poisson blend: %s holds %zu bytes, a %dx%d region needs %zu", what, have,
                        w, h, need);
  return DS_OK;
}

ds_status ds_poisson_blend(ds_poisson *p, cl_mem src, cl_mem dst, cl_mem mask, int w, int h,
                           cl_mem out, ds_error *err) {
  if (w < 3 || h < 3)
    return ds_error_set(err, DS_ERR_INVALID,
                        "Poisson blend of a %dx%d region: both sides must be at least 3", w, h);
  const size_t img = (size_t)w * h * 3 * sizeof(float);
  ds_status st = check_buffer(src, img, "src", w, h, err);
  if (st == DS_OK) st = check_buffer(dst, img, "dst", w, h, err);
  if (st == DS_OK) st = check_buffer(mask, img / 3, "mask", w, h, err);
  if (st == DS_OK) st = check_buffer(out, img, "out", w, h, err);
  if (st != DS_OK) return st;
  if (out == src || out == dst || out == mask)
    return ds_error_set(err, DS_ERR_INVALID, "Poisson blend: out must not be one of the inputs");

  ds_runtime *rt = p->rt;
  size_entry *e;
  st = ds_poisson_entry_get(p, w, h, &e, err);
  if (st == DS_OK) st = ds_poisson_scratch_for(p, e, err);
  if (st != DS_OK) return st;
  cl_int cw = w, ch = h, transpose = e->path == DS_POISSON_DST_Y, pitch = e->pitch,
         spec_pitch = e->spec_pitch, nt = e->nt, ms = e->ms;
  cl_float scale = 2.0f / (float)(e->nt + 1);
  cl_kernel k;
  cl_mem res = NULL;

  st = ds_kernel_get(rt, "convert/poisson", NULL, "poisson_rhs", &k, err);
  const void *rhs_args[] = {&p->rows, &src, &dst, &mask,      &e->off,
                            &e->wt,   &cw,  &ch,  &transpose, &pitch};
  const size_t rhs_sizes[] = {sizeof(cl_mem), sizeof(cl_mem), sizeof(cl_mem), sizeof(cl_mem),
                              sizeof(cl_mem), sizeof(cl_mem), sizeof(cl_int), sizeof(cl_int),
                              sizeof(cl_int), sizeof(cl_int)};
  for (cl_uint i = 0; i < 10 && st == DS_OK; i++)
    st = ds_kernel_arg(k, i, rhs_sizes[i], rhs_args[i], err);
  size_t interior[2] = {(size_t)w - 2, (size_t)h - 2}, local2[2] = {16, 4};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, interior, local2, err);
  if (st == DS_OK) st = transform(p, e, &res, err);

  if (st == DS_OK) st = ds_kernel_get(rt, "convert/poisson", NULL, "poisson_sweep", &k, err);
  const void *sweep_args[] = {&res, &p->rows, &e->piv,     &e->off, &e->wt,
                              &nt,  &ms,      &spec_pitch, &pitch};
  const size_t sweep_sizes[] = {sizeof(cl_mem), sizeof(cl_mem), sizeof(cl_mem),
                                sizeof(cl_mem), sizeof(cl_mem), sizeof(cl_int),
                                sizeof(cl_int), sizeof(cl_int), sizeof(cl_int)};
  for (cl_uint i = 0; i < 9 && st == DS_OK; i++)
    st = ds_kernel_arg(k, i, sweep_sizes[i], sweep_args[i], err);
  size_t freqs = (size_t)e->nt, local1 = 16;
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &freqs, &local1, err);
  if (st == DS_OK) st = transform(p, e, &res, err);

  if (st == DS_OK) st = ds_kernel_get(rt, "convert/poisson", NULL, "poisson_finish", &k, err);
  const void *fin_args[] = {&out, &dst, &res,       &e->off,     &e->wt,
                            &cw,  &ch,  &transpose, &spec_pitch, &scale};
  const size_t fin_sizes[] = {sizeof(cl_mem), sizeof(cl_mem),  sizeof(cl_mem), sizeof(cl_mem),
                              sizeof(cl_mem), sizeof(cl_int),  sizeof(cl_int), sizeof(cl_int),
                              sizeof(cl_int), sizeof(cl_float)};
  for (cl_uint i = 0; i < 10 && st == DS_OK; i++)
    st = ds_kernel_arg(k, i, fin_sizes[i], fin_args[i], err);
  size_t whole[2] = {(size_t)w, (size_t)h};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, whole, local2, err);
  return st;
}
