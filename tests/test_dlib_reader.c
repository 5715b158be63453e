/* dlib's serialization reader (core/dlib_reader.h) on hand-made bytes: the
 * integer, float and matrix forms dlib writes, and the rules both dlib
 * formats share: control bits 0x70 refused for every integer (the HOG reader
 * refused them, the shape predictor's signed reader did not), a negative
 * unsigned refused, a byte count past the type or the buffer refused,
 * non-finite numbers refused. Links ds_core alone: no OpenCL. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "core/dlib_reader.h"

static ds_dlib_reader over(const uint8_t *b, size_t n, ds_error *err) {
  return ds_dlib_reader_make(b, n, "test.dat", "dlib test file", "pass a valid file", err);
}

static void test_ints(void) {
  ds_error err = {0};
  int64_t v = 0;
  uint64_t u = 0;
  /* 300 = 0x012c in two bytes; -5 in one byte with the sign bit */
  const uint8_t ok[] = {0x02, 0x2c, 0x01, 0x81, 0x05, 0x01, 0x07};
  ds_dlib_reader r = over(ok, sizeof ok, &err);
  CHECK(ds_dlib_read_int(&r, 8, &v, "a") == 0 && v == 300, "300: %lld", (long long)v);
  CHECK(ds_dlib_read_int(&r, 8, &v, "b") == 0 && v == -5, "-5: %lld", (long long)v);
  CHECK(ds_dlib_read_uint(&r, 8, &u, "c") == 0 && u == 7, "7: %llu", (unsigned long long)u);
  CHECK(r.left == 0, "all read");

  /* each control bit 0x10, 0x20, 0x40 refused, signed and unsigned */
  for (unsigned bit = 0x10; bit <= 0x40; bit <<= 1) {
    const uint8_t b[] = {(uint8_t)(0x01 | bit), 0x05};
    r = over(b, sizeof b, &err);
    CHECK(ds_dlib_read_int(&r, 8, &v, "an int") != 0 && err.code == DS_ERR_CORRUPT,
          "int with control bit 0x%x accepted", bit);
    CHECK_CONTAINS(err.msg,
                   "test.dat: not a valid dlib test file (an int at byte 0); pass a valid file");
    r = over(b, sizeof b, &err);
    CHECK(ds_dlib_read_uint(&r, 8, &u, "a uint") != 0, "uint with control bit 0x%x accepted", bit);
  }
  const uint8_t neg[] = {0x81, 0x05};
  r = over(neg, sizeof neg, &err);
  CHECK(ds_dlib_read_uint(&r, 8, &u, "count") != 0, "a negative unsigned accepted");
  /* a short (2 bytes) of 3 bytes; 40000 in a short; a count past the end; none */
  const uint8_t wide[] = {0x03, 0x01, 0x02, 0x03};
  r = over(wide, sizeof wide, &err);
  CHECK(ds_dlib_read_int(&r, 2, &v, "short") != 0, "3 bytes for a short accepted");
  const uint8_t big[] = {0x02, 0x40, 0x9c};
  r = over(big, sizeof big, &err);
  CHECK(ds_dlib_read_int(&r, 2, &v, "short") != 0, "40000 in a short accepted");
  const uint8_t cut[] = {0x04, 0x01, 0x02};
  r = over(cut, sizeof cut, &err);
  CHECK(ds_dlib_read_int(&r, 8, &v, "cut") != 0 && strstr(err.msg, "cut at byte 0"),
        "a cut integer accepted: %s", err.msg);
  r = over(cut, 0, &err);
  CHECK(ds_dlib_read_int(&r, 8, &v, "none") != 0, "no bytes accepted");
  const uint8_t zero_size[] = {0x00};
  r = over(zero_size, 1, &err);
  CHECK(ds_dlib_read_int(&r, 8, &v, "zero") != 0, "a zero-byte integer accepted");
  ds_error_clear(&err);
}

static void test_numbers(void) {
  ds_error err = {0};
  double d = 0;
  float f = 0;
  /* 3 * 2^-1 = 1.5; -7 * 2^2 = -28 */
  const uint8_t ok[] = {0x01, 0x03, 0x81, 0x01, 0x81, 0x07, 0x01, 0x02};
  ds_dlib_reader r = over(ok, sizeof ok, &err);
  CHECK(ds_dlib_read_double(&r, &d, "d") == 0 && d == 1.5, "1.5: %g", d);
  CHECK(ds_dlib_read_float(&r, &f, "f") == 0 && f == -28.0f, "-28: %g", (double)f);
  /* exponent 32000: dlib's infinity */
  const uint8_t inf[] = {0x01, 0x01, 0x02, 0x00, 0x7d};
  r = over(inf, sizeof inf, &err);
  CHECK(ds_dlib_read_double(&r, &d, "inf") != 0 && strstr(err.msg, "non-finite"),
        "infinity accepted: %s", err.msg);
  /* 1 * 2^200 fits a double, not a float */
  const uint8_t huge[] = {0x01, 0x01, 0x01, 0xc8};
  r = over(huge, sizeof huge, &err);
  CHECK(ds_dlib_read_double(&r, &d, "d") == 0 && d == ldexp(1.0, 200), "2^200 as double");
  r = over(huge, sizeof huge, &err);
  CHECK(ds_dlib_read_float(&r, &f, "f") != 0 && strstr(err.msg, "float range"),
        "2^200 as float accepted: %s", err.msg);
  /* the old ASCII number form set a control bit of the mantissa */
  const uint8_t ascii[] = {0x31, 0x03, 0x01, 0x00};
  r = over(ascii, sizeof ascii, &err);
  CHECK(ds_dlib_read_float(&r, &f, "f") != 0, "an ASCII-form float accepted");
  ds_error_clear(&err);
}

static void test_matrix(void) {
  ds_error err = {0};
  int64_t nr = 0, nc = 0;
  const uint8_t neg[] = {0x81, 0x05, 0x81, 0x01, 0x01, 0x03, 0x01, 0x01};
  ds_dlib_reader r = over(neg, sizeof neg, &err);
  CHECK(ds_dlib_read_matrix_size(&r, &nr, &nc, "m") == 0 && nr == 5 && nc == 1, "-5, -1");
  CHECK(ds_dlib_read_matrix_size(&r, &nr, &nc, "m") == 0 && nr == 3 && nc == 1, "old 3, 1");
  const uint8_t mixed[] = {0x81, 0x05, 0x01, 0x01};
  r = over(mixed, sizeof mixed, &err);
  CHECK(ds_dlib_read_matrix_size(&r, &nr, &nc, "m") != 0, "-5, 1 accepted");
  ds_error_clear(&err);
}

int main(void) {
  test_ints();
  test_numbers();
  test_matrix();
  return check_summary("dlib_reader");
}
