#include "engine/train/augment.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host/buffer.h"
#include "host/cl_status.h"
#include "host/program.h"

/* Per-sample parameters as the kernels read them (cl/image/augment.cl). */
enum {
  P_INV_TRANSFORM = 0,
  P_FLIP = 6,
  P_FACE = 7,
  P_GRID_X = 8,
  P_GRID_Y = 33,
  P_INV_TARGET = 58,
  P_STRIDE = 64
};

/* The original: a 160 px grid centred on the 256 px face, noise σ = 5 px. */
#define GRID_COVERAGE (160.0 / 256.0)
#define GRID_SIGMA (5.0 / 256.0)

ds_augment_config ds_augment_config_default(void) {
  ds_augment_config cfg = {10.0f, 0.05f, 0.05f, 0.4f, 1};
  return cfg;
}

void ds_augment_params_make(double rotation, double scale, double tx, double ty, int flip,
                            const double *noise_x, const double *noise_y, int face_size,
                            int out_size, ds_augment_params *p) {
  assert(face_size > 0 && out_size > 0 && out_size % 8 == 0);
  /* cv2.getRotationMatrix2D about (w//2, h//2), in double */
  double angle = rotation * (3.14159265358979323846 / 180.0);
  double alpha = cos(angle) * scale, beta = sin(angle) * scale;
  double centre = (double)(face_size / 2);
  p->transform[0] = (float)alpha;
  p->transform[1] = (float)beta;
  p->transform[2] = (float)((1.0 - alpha) * centre - beta * centre + tx);
  p->transform[3] = (float)-beta;
  p->transform[4] = (float)alpha;
  p->transform[5] = (float)(beta * centre + (1.0 - alpha) * centre + ty);
  p->flip = flip != 0;

  /* numpy.linspace(c - cov/2, c + cov/2, 5): start + k·step, stop exact */
  double lo = 0.5 * face_size * (1.0 - GRID_COVERAGE), hi = 0.5 * face_size * (1.0 + GRID_COVERAGE);
  double line[5];
  for (int k = 0; k < 5; k++)
    line[k] = lo + k * ((hi - lo) / 4.0);
  line[4] = hi;
  float dst[50], src[50];
  for (int r = 0; r < 5; r++)
    for (int c = 0; c < 5; c++) {
      int k = r * 5 + c;
      p->grid_x[k] = (float)(line[c] + (noise_x ? noise_x[k] : 0.0));
      p->grid_y[k] = (float)(line[r] + (noise_y ? noise_y[k] : 0.0));
      src[2 * k] = p->grid_x[k];
      src[2 * k + 1] = p->grid_y[k];
      /* numpy.mgrid[0:out+1:out/4, 0:out+1:out/4].T.reshape(-1, 2) */
      dst[2 * k] = (float)(c * (out_size / 4));
      dst[2 * k + 1] = (float)(r * (out_size / 4));
    }
  ds_umeyama2d(src, dst, 25, p->target);
}

void ds_augment_draw(ds_rng *rng, const ds_augment_config *cfg, int face_size, int out_size,
                     ds_augment_params *p) {
  double rotation = ds_rng_range(rng, -cfg->rotation, cfg->rotation);
  double scale = ds_rng_range(rng, 1.0 - cfg->zoom, 1.0 + cfg->zoom);
  double tx = ds_rng_range(rng, -cfg->shift, cfg->shift) * face_size;
  double ty = ds_rng_range(rng, -cfg->shift, cfg->shift) * face_size;
  int flip = ds_rng_uniform(rng) < cfg->flip;
  double noise[50];
  if (cfg->warp) {
    double sigma = GRID_SIGMA * face_size;
    for (int k = 0; k < 50; k++)
      noise[k] = sigma * ds_rng_normal(rng);
  }
  ds_augment_params_make(rotation, scale, tx, ty, flip, cfg->warp ? noise : NULL,
                         cfg->warp ? noise + 25 : NULL, face_size, out_size, p);
}

/* cv2.invertAffineTransform, in double: warpAffine samples its source at
 * the inverse-mapped output pixel. */
static void invert_affine(const float m[6], float *out) {
  double d = (double)m[0] * m[4] - (double)m[1] * m[3];
  d = d != 0.0 ? 1.0 / d : 0.0;
  double a11 = m[4] * d, a22 = m[0] * d, a12 = -m[1] * d, a21 = -m[3] * d;
  out[0] = (float)a11;
  out[1] = (float)a12;
  out[2] = (float)(-a11 * m[2] - a12 * m[5]);
  out[3] = (float)a21;
  out[4] = (float)a22;
  out[5] = (float)(-a21 * m[2] - a22 * m[5]);
}

static void pack_sample(const ds_augment_params *p, int face, float *dst) {
  memset(dst, 0, P_STRIDE * sizeof *dst);
  invert_affine(p->transform, dst + P_INV_TRANSFORM);
  dst[P_FLIP] = p->flip ? 1.0f : 0.0f;
  memcpy(dst + P_FACE, &face, sizeof face);
  memcpy(dst + P_GRID_X, p->grid_x, sizeof p->grid_x);
  memcpy(dst + P_GRID_Y, p->grid_y, sizeof p->grid_y);
  invert_affine(p->target, dst + P_INV_TARGET);
}

/* Grid cells per output pixel, passed to the kernel as this float. */
static float grid_step(int out_size) { return (float)(4.0 / out_size); }

/* ---- the plain-C reference: cl/image/augment.cl operation for operation */

static void bilinear(const float *t00, const float *t01, const float *t10, const float *t11,
                     float ax, float ay, float *v) {
  float bx = 1.0f - ax, by = 1.0f - ay;
  float w00 = bx * by, w01 = ax * by, w10 = bx * ay, w11 = ax * ay;
  for (int c = 0; c < 3; c++) {
    float acc = t00[c] * w00;
    acc = fmaf(t01[c], w01, acc);
    acc = fmaf(t10[c], w10, acc);
    v[c] = fmaf(t11[c], w11, acc);
  }
}

static void face_tap(const uint8_t *face, int s, int x, int y, float *v) {
  x = x < 0 ? 0 : x >= s ? s - 1 : x;
  y = y < 0 ? 0 : y >= s ? s - 1 : y;
  const uint8_t *px = face + ((size_t)y * s + x) * 3;
  for (int c = 0; c < 3; c++)
    v[c] = px[c];
}

/* The intermediate at pixel (x, y): random_transform's warpAffine
 * (BORDER_REPLICATE) of the face, then the flip, scaled to [0, 1]. */
static void transform_pixel(const uint8_t *face, int s, const float *pk, int x, int y, float *v) {
  if (pk[P_FLIP] != 0.0f) x = s - 1 - x;
  const float *m = pk + P_INV_TRANSFORM;
  float fx = (float)x, fy = (float)y;
  float sx = fmaf(m[0], fx, fmaf(m[1], fy, m[2]));
  float sy = fmaf(m[3], fx, fmaf(m[4], fy, m[5]));
  sx = fminf(fmaxf(sx, -1.0f), (float)s);
  sy = fminf(fmaxf(sy, -1.0f), (float)s);
  float x0f = floorf(sx), y0f = floorf(sy);
  int x0 = (int)x0f, y0 = (int)y0f;
  float t00[3], t01[3], t10[3], t11[3];
  face_tap(face, s, x0, y0, t00);
  face_tap(face, s, x0 + 1, y0, t01);
  face_tap(face, s, x0, y0 + 1, t10);
  face_tap(face, s, x0 + 1, y0 + 1, t11);
  bilinear(t00, t01, t10, t11, sx - x0f, sy - y0f, v);
  for (int c = 0; c < 3; c++)
    v[c] *= 1.0f / 255.0f;
}

/* BORDER_CONSTANT (0) around the intermediate, computed on demand: the same
 * values the device stores in its intermediate buffer. */
static void inter_tap(const uint8_t *face, int s, const float *pk, int x, int y, float *v) {
  if (x < 0 || y < 0 || x >= s || y >= s)
    v[0] = v[1] = v[2] = 0.0f;
  else
    transform_pixel(face, s, pk, x, y, v);
}

static void sample_inter(const uint8_t *face, int s, const float *pk, float x, float y, float *v) {
  x = fminf(fmaxf(x, -1.0f), (float)s);
  y = fminf(fmaxf(y, -1.0f), (float)s);
  float x0f = floorf(x), y0f = floorf(y);
  int x0 = (int)x0f, y0 = (int)y0f;
  float t00[3], t01[3], t10[3], t11[3];
  inter_tap(face, s, pk, x0, y0, t00);
  inter_tap(face, s, pk, x0 + 1, y0, t01);
  inter_tap(face, s, pk, x0, y0 + 1, t10);
  inter_tap(face, s, pk, x0 + 1, y0 + 1, t11);
  bilinear(t00, t01, t10, t11, x - x0f, y - y0f, v);
}

/* cv2.resize (INTER_LINEAR, float maps) of the 5x5 grid g read at grid
 * position (u, v): edge cells clamp with weight 0; rows first. */
static float grid_at(const float *g, float u, float v) {
  float a = u - floorf(u), b = v - floorf(v);
  int c0 = (int)floorf(u), r0 = (int)floorf(v);
  if (c0 < 0 || c0 >= 4) {
    c0 = c0 < 0 ? 0 : 4;
    a = 0.0f;
  }
  if (r0 < 0 || r0 >= 4) {
    r0 = r0 < 0 ? 0 : 4;
    b = 0.0f;
  }
  int c1 = c0 < 4 ? c0 + 1 : 4, r1 = r0 < 4 ? r0 + 1 : 4;
  float h0 = fmaf(g[r0 * 5 + c1], a, g[r0 * 5 + c0] * (1.0f - a));
  float h1 = fmaf(g[r1 * 5 + c1], a, g[r1 * 5 + c0] * (1.0f - a));
  return fmaf(h1, b, h0 * (1.0f - b));
}

void ds_augment_reference(const uint8_t *face, int face_size, const ds_augment_params *p,
                          int out_size, float *warped, float *target) {
  float pk[P_STRIDE];
  pack_sample(p, 0, pk);
  const float step = grid_step(out_size);
  const float *t = pk + P_INV_TARGET;
  for (int y = 0; y < out_size; y++)
    for (int x = 0; x < out_size; x++) {
      size_t o = ((size_t)y * out_size + x) * 3;
      /* the crop [out/8, 9·out/8) of the 1.25·out resize: pixel x sits at
       * grid position (x + 1/8·out + 0.5)·(4/out) - 0.5 = (x + 0.5)·4/out */
      float u = ((float)x + 0.5f) * step, v = ((float)y + 0.5f) * step;
      float mx = grid_at(pk + P_GRID_X, u, v), my = grid_at(pk + P_GRID_Y, u, v);
      sample_inter(face, face_size, pk, mx, my, warped + o);
      float fx = (float)x, fy = (float)y;
      float tx = fmaf(t[0], fx, fmaf(t[1], fy, t[2]));
      float ty = fmaf(t[3], fx, fmaf(t[4], fy, t[5]));
      sample_inter(face, face_size, pk, tx, ty, target + o);
    }
}

/* ---- the device path */

void ds_augment_workspace_destroy(ds_augment_workspace *ws) {
  if (!ws) return;
  ds_buffer_release(&ws->intermediate);
  ds_buffer_release(&ws->params);
  free(ws->host_params);
  memset(ws, 0, sizeof *ws);
}

ds_status ds_augment_workspace_create(ds_runtime *rt, int max_n, int face_size,
                                      ds_augment_workspace *ws, ds_error *err) {
  if (max_n <= 0 || face_size <= 0)
    return ds_error_set(err, DS_ERR_INVALID,
                        "augment workspace: batch %d and face size %d must be positive", max_n,
                        face_size);
  if (ws->intermediate && ws->max_n >= max_n && ws->face_size >= face_size) return DS_OK;
  int n = ws->max_n > max_n ? ws->max_n : max_n;
  int s = ws->face_size > face_size ? ws->face_size : face_size;
  ds_augment_workspace_destroy(ws);
  size_t inter_bytes = (size_t)n * s * s * 3 * sizeof(float);
  ds_status st = ds_buffer_create(rt, inter_bytes, CL_MEM_READ_WRITE, "augmentation intermediate",
                                  &ws->intermediate, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, (size_t)n * P_STRIDE * sizeof(float), CL_MEM_READ_ONLY,
                          "augmentation parameters", &ws->params, err);
  if (st == DS_OK) {
    ws->host_params = malloc((size_t)n * P_STRIDE * sizeof(float));
    if (!ws->host_params)
      st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for %d augmentation samples", n);
  }
  if (st != DS_OK) {
    ds_error_append(err, "; try a smaller batch or face size");
    ds_augment_workspace_destroy(ws);
    return st;
  }
  ws->max_n = n;
  ws->face_size = s;
  return DS_OK;
}

static ds_status mem_size(cl_mem m, const char *what, size_t *bytes, ds_error *err) {
  cl_int rc = clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof *bytes, bytes, NULL);
  if (rc != CL_SUCCESS)
    return ds_error_set(err, DS_ERR_INVALID, "augment: cannot query the size of %s: %s", what,
                        ds_cl_status_name(rc));
  return DS_OK;
}

static ds_status check_batch(const ds_augment_workspace *ws, cl_mem faces, int face_size,
                             const int *face_index, int n, int out_size, cl_mem warped,
                             cl_mem target, ds_error *err) {
  if (face_size <= 0 || out_size < 8 || out_size % 8)
    return ds_error_set(err, DS_ERR_INVALID,
                        "augment: face size %d must be positive and output size %d a positive "
                        "multiple of 8",
                        face_size, out_size);
  if (!ws->intermediate || n > ws->max_n ||
      (size_t)n * face_size * face_size > (size_t)ws->max_n * ws->face_size * ws->face_size)
    return ds_error_set(err, DS_ERR_INVALID,
                        "augment: the workspace holds %d faces of %d px, not %d of %d px; call "
                        "ds_augment_workspace_create with the batch size",
                        ws->max_n, ws->face_size, n, face_size);
  if ((size_t)n * face_size * face_size >= UINT32_MAX ||
      (size_t)n * out_size * out_size >= UINT32_MAX)
    return ds_error_set(err, DS_ERR_INVALID,
                        "augment: %d faces of %d px exceed the 2^32 kernel limit; use smaller "
                        "batches",
                        n, face_size);
  size_t face_bytes = (size_t)face_size * face_size * 3, have, out_bytes;
  ds_status st = mem_size(faces, "the faces buffer", &have, err);
  if (st != DS_OK) return st;
  size_t face_count = have / face_bytes;
  for (int i = 0; i < n; i++)
    if (face_index[i] < 0 || (size_t)face_index[i] >= face_count)
      return ds_error_set(err, DS_ERR_INVALID,
                          "augment: sample %d asks for face %d but the faces buffer holds %zu "
                          "faces of %d px",
                          i, face_index[i], face_count, face_size);
  out_bytes = (size_t)n * out_size * out_size * 3 * sizeof(float);
  cl_mem outs[2] = {warped, target};
  const char *names[2] = {"the warped buffer", "the target buffer"};
  for (int k = 0; k < 2; k++) {
    if ((st = mem_size(outs[k], names[k], &have, err)) != DS_OK) return st;
    if (have < out_bytes)
      return ds_error_set(err, DS_ERR_INVALID,
                          "augment: %s holds %zu bytes, %d samples of %d px need %zu", names[k],
                          have, n, out_size, out_bytes);
  }
  return DS_OK;
}

ds_status ds_augment_batch(ds_runtime *rt, cl_mem faces, int face_size, const int *face_index,
                           const ds_augment_params *params, int n, int out_size, cl_mem warped,
                           cl_mem target, ds_augment_workspace *ws, ds_error *err) {
  if (n <= 0) return DS_OK;
  ds_status st = check_batch(ws, faces, face_size, face_index, n, out_size, warped, target, err);
  if (st != DS_OK) return st;
  for (int i = 0; i < n; i++)
    pack_sample(&params[i], face_index[i], ws->host_params + (size_t)i * P_STRIDE);
  st = ds_buffer_write(rt, ws->params, 0, (size_t)n * P_STRIDE * sizeof(float), ws->host_params,
                       err);
  if (st != DS_OK) return st;

  cl_kernel k;
  cl_int s = face_size, out = out_size;
  cl_uint total = (cl_uint)((size_t)n * face_size * face_size);
  size_t global = total, local = rt->profile->elementwise_local_size;
  st = ds_kernel_get(rt, "image/augment", NULL, "augment_transform", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof faces, &faces, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof ws->params, &ws->params, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 2, sizeof ws->intermediate, &ws->intermediate, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 3, sizeof s, &s, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 4, sizeof total, &total, err);
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &global, &local, err);
  if (st != DS_OK) return st;

  cl_float step = grid_step(out_size);
  total = (cl_uint)((size_t)n * out_size * out_size);
  global = total;
  st = ds_kernel_get(rt, "image/augment", NULL, "augment_warp", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof ws->intermediate, &ws->intermediate, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof ws->params, &ws->params, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 2, sizeof warped, &warped, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 3, sizeof target, &target, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 4, sizeof s, &s, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 5, sizeof out, &out, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 6, sizeof step, &step, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 7, sizeof total, &total, err);
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &global, &local, err);
  return st;
}
