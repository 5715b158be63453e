#include "engine/train/dataset.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/media/image_dir.h"
#include "engine/media/png.h"
#include "host/buffer.h"
#include "core/hash.h"

/* ---- resizing ---- */

/* The source pixels one output pixel draws from along one axis. */
typedef struct axis_taps {
  int first, count; /* source indices first .. first + count - 1, all in range */
  int area;         /* 1: area averaging; 0: bilinear */
  double lo, hi;    /* area: the source interval the output pixel covers */
  double frac;      /* bilinear: the weight of the second tap */
} axis_taps;

static axis_taps axis_taps_for(int i, int s, int d) {
  axis_taps t = {0};
  if (d < s) {
    t.area = 1;
    t.lo = (double)i * s / d;
    t.hi = (double)(i + 1) * s / d;
    t.first = (int)floor(t.lo);
    t.count = (int)ceil(t.hi) - t.first;
    if (t.first + t.count > s) t.count = s - t.first;
  } else {
    /* Clamping the sample position equals cv2's BORDER_REPLICATE: outside
     * [0, s - 1] both taps would read the same edge pixel. */
    double x = ((double)i + 0.5) * s / d - 0.5;
    x = x < 0.0 ? 0.0 : x > s - 1 ? s - 1 : x;
    t.first = (int)floor(x);
    t.frac = x - t.first;
    t.count = t.frac > 0.0 ? 2 : 1;
  }
  return t;
}

static double axis_weight(const axis_taps *t, int k) {
  if (t->area) {
    double a = t->first + k, b = a + 1.0;
    return fmin(t->hi, b) - fmax(t->lo, a);
  }
  return k == 0 ? 1.0 - t->frac : t->frac;
}

/* ds_resize_rgb8 with a source row stride, so a crop can be resized in
 * place. */
static void resize_rgb8(const uint8_t *src, size_t stride, int sw, int sh, uint8_t *dst, int dw,
                        int dh) {
  if (sw == dw && sh == dh) {
    for (int y = 0; y < dh; y++)
      memcpy(dst + (size_t)y * dw * 3, src + (size_t)y * stride, (size_t)dw * 3);
    return;
  }
  for (int y = 0; y < dh; y++) {
    axis_taps ty = axis_taps_for(y, sh, dh);
    for (int x = 0; x < dw; x++) {
      axis_taps tx = axis_taps_for(x, sw, dw);
      double acc[3] = {0, 0, 0}, wsum_y = 0, wsum_x = 0;
      for (int kx = 0; kx < tx.count; kx++)
        wsum_x += axis_weight(&tx, kx);
      for (int ky = 0; ky < ty.count; ky++) {
        double wy = axis_weight(&ty, ky);
        const uint8_t *row = src + (size_t)(ty.first + ky) * stride;
        wsum_y += wy;
        for (int kx = 0; kx < tx.count; kx++) {
          double w = wy * axis_weight(&tx, kx);
          const uint8_t *p = row + (size_t)(tx.first + kx) * 3;
          acc[0] += w * p[0];
          acc[1] += w * p[1];
          acc[2] += w * p[2];
        }
      }
      uint8_t *q = dst + ((size_t)y * dw + x) * 3;
      double norm = 1.0 / (wsum_y * wsum_x);
      for (int c = 0; c < 3; c++) {
        double v = floor(acc[c] * norm + 0.5);
        q[c] = (uint8_t)(v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v);
      }
    }
  }
}

void ds_resize_rgb8(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh) {
  assert(src && dst && sw > 0 && sh > 0 && dw > 0 && dh > 0);
  resize_rgb8(src, (size_t)sw * 3, sw, sh, dst, dw, dh);
}

/* ---- loading ---- */

static int is_png_name(const char *path) {
  const char *dot = strrchr(path, '.');
  return dot && strcasecmp(dot, ".png") == 0;
}

static char *copy_string(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}

/* Reads one face and writes it, face_size² RGB, to dst. */
static ds_status load_face(const char *path, int face_size, uint8_t *dst, ds_error *err) {
  ds_image img;
  ds_status st = ds_png_read_rgb(path, &img, err);
  if (st != DS_OK) return st;
  assert(img.channels == 3);
  int w = img.width, h = img.height;
  int side = w < h ? w : h, longer = w < h ? h : w;
  if (side < DS_DATASET_MIN_SIDE) {
    st = ds_error_set(err, DS_ERR_INVALID,
                      "%s: face is %dx%d px; training needs at least %dx%d (extract writes "
                      "256x256)",
                      path, w, h, DS_DATASET_MIN_SIDE, DS_DATASET_MIN_SIDE);
  } else if (3 * (long)longer > 4 * (long)side) {
    /* A frame or a photo put among the faces would be cropped to a
     * meaningless square and trained on without a word. */
    st = ds_error_set(err, DS_ERR_INVALID,
                      "%s: image is %dx%d px, too far from square to be an aligned face; "
                      "remove it or run dsengine extract on it (extract writes 256x256 faces)",
                      path, w, h);
  } else {
    size_t stride = (size_t)w * 3;
    const uint8_t *crop =
        img.data + (size_t)((h - side) / 2) * stride + (size_t)((w - side) / 2) * 3;
    resize_rgb8(crop, stride, side, side, dst, face_size, face_size);
  }
  ds_image_free(&img);
  return st;
}

ds_status ds_dataset_load(const char *identity, const char *dir, int face_size, ds_dataset *out,
                          ds_error *err) {
  assert(identity && dir && out);
  memset(out, 0, sizeof *out);
  if (face_size < 1 || face_size > DS_PNG_MAX_SIDE)
    return ds_error_set(err, DS_ERR_INVALID,
                        "identity %s: face size %d is out of range; the model's face size must be "
                        "1 to %d",
                        identity, face_size, DS_PNG_MAX_SIDE);
  ds_dataset d;
  memset(&d, 0, sizeof d);
  snprintf(d.name, sizeof d.name, "%s", identity);
  d.face_size = face_size;
  ds_status st = DS_OK;
  d.dir = copy_string(dir);
  if (!d.dir) {
    st = ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate its name", dir);
    goto fail;
  }
  st = ds_image_dir_list(dir, &d.paths, &d.count, err);
  if (st != DS_OK) goto fail;
  if (d.count == 0) {
    st = ds_error_set(err, DS_ERR_INVALID,
                      "%s: no face images (*.png) for identity %s; run dsengine extract first", dir,
                      d.name);
    goto fail;
  }
  /* Refuse before reading anything, rather than after minutes of PNGs. */
  for (int i = 0; i < d.count; i++) {
    if (!is_png_name(d.paths[i])) {
      st = ds_error_set(err, DS_ERR_INVALID,
                        "%s: JPEG faces are not supported yet; convert the folder's JPEG files "
                        "to PNG, or re-run dsengine extract (it writes PNG)",
                        d.paths[i]);
      goto fail;
    }
  }
  size_t face_bytes = (size_t)face_size * (size_t)face_size * 3;
  if ((size_t)d.count > SIZE_MAX / face_bytes) {
    st = ds_error_set(err, DS_ERR_NO_MEMORY,
                      "%s: %d faces of %dx%d do not fit in memory; use fewer faces", dir, d.count,
                      face_size, face_size);
    goto fail;
  }
  d.pixels = malloc((size_t)d.count * face_bytes);
  if (!d.pixels) {
    st = ds_error_set(err, DS_ERR_NO_MEMORY,
                      "%s: cannot allocate %zu bytes for %d faces of %dx%d; free memory or use "
                      "fewer faces",
                      dir, (size_t)d.count * face_bytes, d.count, face_size, face_size);
    goto fail;
  }
  for (int i = 0; i < d.count; i++) {
    st = load_face(d.paths[i], face_size, d.pixels + (size_t)i * face_bytes, err);
    if (st != DS_OK) goto fail;
  }
  *out = d;
  return DS_OK;
fail:
  ds_dataset_free(&d);
  return st;
}

ds_status ds_dataset_check_batch(const ds_dataset *d, int batch, ds_error *err) {
  if (batch < 1)
    return ds_error_set(err, DS_ERR_INVALID, "batch %d: must be at least 1; pass --batch 1 or more",
                        batch);
  if (d->count < batch)
    return ds_error_set(err, DS_ERR_INVALID,
                        "identity %s has %d face%s in %s, fewer than the batch of %d; add faces "
                        "or pass --batch %d or less",
                        d->name, d->count, d->count == 1 ? "" : "s",
                        d->dir ? d->dir : "(no folder)", batch, d->count);
  return DS_OK;
}

ds_status ds_dataset_upload(ds_runtime *rt, const ds_dataset *d, cl_mem *out, ds_error *err) {
  *out = NULL;
  size_t bytes = (size_t)d->count * (size_t)d->face_size * (size_t)d->face_size * 3;
  char what[96];
  snprintf(what, sizeof what, "the faces of identity %s (%d x %dx%d RGB)", d->name, d->count,
           d->face_size, d->face_size);
  cl_mem buf;
  ds_status st = ds_buffer_create(rt, bytes, CL_MEM_READ_ONLY, what, &buf, err);
  if (st == DS_ERR_NO_MEMORY)
    ds_error_append(err, "; use fewer faces for identity %s or a model with a smaller face size",
                    d->name);
  if (st != DS_OK) return st;
  st = ds_buffer_write(rt, buf, 0, bytes, d->pixels, err);
  if (st != DS_OK) {
    ds_buffer_release(&buf);
    return st;
  }
  *out = buf;
  return DS_OK;
}

uint64_t ds_dataset_fingerprint(const ds_dataset *d) {
  uint8_t count[8];
  for (int k = 0; k < 8; k++)
    count[k] = (uint8_t)((uint64_t)d->count >> (8 * k));
  uint64_t h = ds_fnv64(DS_FNV64_INIT, count, sizeof count);
  for (int i = 0; i < d->count; i++) {
    const char *slash = strrchr(d->paths[i], '/');
    const char *name = slash ? slash + 1 : d->paths[i];
    /* The terminating NUL too, so ("ab", "c") and ("a", "bc") differ. */
    h = ds_fnv64(h, name, strlen(name) + 1);
  }
  return h;
}

void ds_dataset_free(ds_dataset *d) {
  if (!d) return;
  ds_image_dir_free(d->paths, d->count);
  free(d->pixels);
  free(d->dir);
  memset(d, 0, sizeof *d);
}
