/* dlib's serialization (dlib/serialize.h, 19.24), read from a buffer with
 * every count checked against the bytes left. One reader for both dlib
 * formats we load: the frontal HOG detector and the shape predictor.
 *
 * An integer is a control byte (low 4 bits: the byte count, 1 to 8; 0x80:
 * negative) and that many little-endian bytes. dlib never sets the control
 * byte's bits 0x70 (its old ASCII number format did): an integer with any of
 * them is refused, signed or unsigned. An unsigned integer must not be
 * negative. A float or double is an int64 mantissa and an int16 exponent
 * (value = mantissa * 2^exponent; exponents 32000 to 32002 are inf, -inf
 * and NaN, which no model we read may hold). */
#ifndef DS_CORE_DLIB_READER_H
#define DS_CORE_DLIB_READER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ds_dlib_reader {
  const uint8_t *base, *p;
  size_t left;
  const char *path;   /* named in every error */
  const char *format; /* "dlib HOG detector" */
  const char *remedy; /* "pass a valid detector file" */
  ds_error *err;
} ds_dlib_reader;

/* A reader over n bytes at data. */
ds_dlib_reader ds_dlib_reader_make(const uint8_t *data, size_t n, const char *path,
                                   const char *format, const char *remedy, ds_error *err);

/* Sets DS_ERR_CORRUPT: "<path>: not a valid <format> (<what> at byte N);
 * <remedy>", and returns -1. */
int ds_dlib_corrupt(ds_dlib_reader *r, const char *what);

/* Each returns 0, or -1 with the error set naming `what`. max_bytes (1 to
 * 8) bounds the integer's byte count as the C++ type does (a short: 2). */
int ds_dlib_read_int(ds_dlib_reader *r, unsigned max_bytes, int64_t *v, const char *what);
int ds_dlib_read_uint(ds_dlib_reader *r, unsigned max_bytes, uint64_t *v, const char *what);
int ds_dlib_read_double(ds_dlib_reader *r, double *d, const char *what);
int ds_dlib_read_float(ds_dlib_reader *r, float *f, const char *what);
/* The size and sign of a matrix header: nr, nc, both negated in the current
 * format (an old file may have both positive). */
int ds_dlib_read_matrix_size(ds_dlib_reader *r, int64_t *nr, int64_t *nc, const char *what);

#endif
