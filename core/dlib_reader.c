/* dlib's serialization, read with every count checked (core/dlib_reader.h). */
#include "core/dlib_reader.h"

#include <math.h>

ds_dlib_reader ds_dlib_reader_make(const uint8_t *data, size_t n, const char *path,
                                   const char *format, const char *remedy, ds_error *err) {
  ds_dlib_reader r = {data, data, n, path, format, remedy, err};
  return r;
}

int ds_dlib_corrupt(ds_dlib_reader *r, const char *what) {
  ds_error_set(r->err, DS_ERR_CORRUPT, "%s: not a valid %s (%s at byte %zu); %s", r->path,
               r->format, what, (size_t)(r->p - r->base), r->remedy);
  return -1;
}

/* The control byte and the magnitude it announces. */
static int read_magnitude(ds_dlib_reader *r, unsigned max_bytes, int *negative, uint64_t *mag,
                          const char *what) {
  if (r->left < 1) return ds_dlib_corrupt(r, what);
  const unsigned control = r->p[0];
  const unsigned size = control & 0x0F;
  if (size == 0 || size > max_bytes || size > 8 || (control & 0x70) || size > r->left - 1)
    return ds_dlib_corrupt(r, what);
  uint64_t x = 0;
  for (unsigned i = size; i > 0; i--)
    x = (x << 8) | r->p[i];
  r->p += size + 1;
  r->left -= size + 1;
  *negative = (control & 0x80) != 0;
  *mag = x;
  return 0;
}

int ds_dlib_read_int(ds_dlib_reader *r, unsigned max_bytes, int64_t *v, const char *what) {
  int negative;
  uint64_t mag;
  if (read_magnitude(r, max_bytes, &negative, &mag, what)) return -1;
  const uint64_t limit =
      max_bytes >= 8 ? (uint64_t)INT64_MAX : ((uint64_t)1 << (8 * max_bytes - 1)) - 1;
  if (mag > limit) return ds_dlib_corrupt(r, what);
  *v = negative ? -(int64_t)mag : (int64_t)mag;
  return 0;
}

int ds_dlib_read_uint(ds_dlib_reader *r, unsigned max_bytes, uint64_t *v, const char *what) {
  int negative;
  if (read_magnitude(r, max_bytes, &negative, v, what)) return -1;
  return negative ? ds_dlib_corrupt(r, what) : 0;
}

/* mantissa and exponent; an exponent dlib uses for inf and NaN is refused */
static int read_parts(ds_dlib_reader *r, int64_t *mantissa, int64_t *exponent, const char *what) {
  if (ds_dlib_read_int(r, 8, mantissa, what) || ds_dlib_read_int(r, 2, exponent, what)) return -1;
  if (*exponent >= 32000) return ds_dlib_corrupt(r, "a non-finite number");
  return 0;
}

int ds_dlib_read_double(ds_dlib_reader *r, double *d, const char *what) {
  int64_t mantissa, exponent;
  if (read_parts(r, &mantissa, &exponent, what)) return -1;
  double v = ldexp((double)mantissa, (int)exponent);
  if (!isfinite(v)) return ds_dlib_corrupt(r, "a number out of double range");
  *d = v;
  return 0;
}

int ds_dlib_read_float(ds_dlib_reader *r, float *f, const char *what) {
  int64_t mantissa, exponent;
  if (read_parts(r, &mantissa, &exponent, what)) return -1;
  float v = ldexpf((float)mantissa, (int)exponent);
  if (!isfinite(v)) return ds_dlib_corrupt(r, "a number out of float range");
  *f = v;
  return 0;
}

int ds_dlib_read_matrix_size(ds_dlib_reader *r, int64_t *nr, int64_t *nc, const char *what) {
  if (ds_dlib_read_int(r, 8, nr, what) || ds_dlib_read_int(r, 8, nc, what)) return -1;
  if (*nr < 0 || *nc < 0) {
    *nr = -*nr;
    *nc = -*nc;
  }
  if (*nr < 0 || *nc < 0) return ds_dlib_corrupt(r, what);
  return 0;
}
