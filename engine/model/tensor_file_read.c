/* Reading DSTENSOR files: every size checked against the real file before
 * any allocation, the names, shapes and ranges of the table, and the CRC-32. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/bytes.h"
#include "core/hash.h"
#include "engine/model/tensor_file.h"
#include "engine/model/tensor_file_format.h"

static ds_status corrupt(ds_error *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ds_status corrupt(ds_error *err, const char *path, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return ds_error_set(err, DS_ERR_CORRUPT, "%s" DS_TENSOR_CORRUPT_TAG "%s", path, what);
}

/* A short read is either an I/O error or a file that shrank under us. */
static ds_status read_failed(FILE *f, const char *path, ds_error *err) {
  if (ferror(f)) return ds_error_set(err, DS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  return corrupt(err, path, "truncated while reading");
}

static int read_chunks(FILE *f, void *data, size_t n, uint32_t *crc) {
  unsigned char *p = data;
  while (n > 0) {
    size_t k = n < IO_CHUNK ? n : IO_CHUNK;
    if (fread(p, 1, k, f) != k) return -1;
    *crc = ds_crc32(*crc, p, k);
    p += k;
    n -= k;
  }
  return 0;
}

/* Checks the header against the real file size, before anything is allocated. */
static ds_status check_header(const unsigned char *hdr, uint64_t size, const char *path,
                              uint32_t *count, uint64_t *data_bytes, ds_error *err) {
  if (memcmp(hdr, DS_TENSOR_MAGIC, 8) != 0)
    return corrupt(err, path, "bad magic (not a DSTENSOR file)");
  uint32_t version = ds_get_le32(hdr + 8);
  if (version != FILE_VERSION)
    return corrupt(err, path, "version %u (this build reads version %d)", version, FILE_VERSION);
  uint32_t n = ds_get_le32(hdr + 12);
  if (n > DS_TENSOR_FILE_MAX_COUNT)
    return corrupt(err, path, "header claims %u tensors (at most %d)", n, DS_TENSOR_FILE_MAX_COUNT);
  uint64_t fixed = HEADER_BYTES + (uint64_t)ENTRY_BYTES * n + CRC_BYTES;
  uint64_t db = ds_get_le64(hdr + 16);
  unsigned long long lsize = size;
  if (db > UINT64_MAX - fixed)
    return corrupt(err, path, "header claims a %llu-byte data section in a %llu-byte file",
                   (unsigned long long)db, lsize);
  if (size != fixed + db)
    return corrupt(err, path, "%s: %llu bytes where the header implies %llu",
                   size < fixed + db ? "truncated" : "trailing bytes", lsize,
                   (unsigned long long)(fixed + db));
  if (db % sizeof(float) != 0)
    return corrupt(err, path, "a data section of %llu bytes is not whole float32 values",
                   (unsigned long long)db);
  if (db > SIZE_MAX)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "%s is too large for this host's address space",
                        path);
  *count = n;
  *data_bytes = db;
  return DS_OK;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Fills set->tensors from the entry table; the data is already in place. */
static ds_status parse_entries(const unsigned char *table, ds_tensor_set *set, const char *path,
                               ds_error *err) {
  uint64_t floats = set->data_count;
  for (int i = 0; i < set->count; i++) {
    const unsigned char *e = table + (size_t)ENTRY_BYTES * (size_t)i;
    ds_tensor_info *t = &set->tensors[i];
    size_t len = strnlen((const char *)e, DS_TENSOR_NAME_MAX);
    if (len == DS_TENSOR_NAME_MAX) return corrupt(err, path, "tensor %d: name has no NUL", i);
    if (!ds_tensor_name_ok((const char *)e, len))
      return corrupt(err, path, "tensor %d: name is empty or not printable ASCII", i);
    for (size_t k = len; k < DS_TENSOR_NAME_MAX; k++)
      if (e[k] != 0) return corrupt(err, path, "tensor %d: name padding is not NUL", i);
    memcpy(t->name, e, DS_TENSOR_NAME_MAX);
    uint32_t ndim = ds_get_le32(e + 64), dtype = ds_get_le32(e + 68);
    if (ndim < 1 || ndim > DS_TENSOR_MAX_DIMS)
      return corrupt(err, path, "tensor %s: ndim %u (must be 1 to %d)", t->name, ndim,
                     DS_TENSOR_MAX_DIMS);
    if (dtype != 0)
      return corrupt(err, path, "tensor %s: dtype %u (only 0, float32, is known)", t->name, dtype);
    uint64_t count = 1;
    for (int d = 0; d < DS_TENSOR_MAX_DIMS; d++) {
      uint64_t s = ds_get_le64(e + 72 + 8 * d);
      if ((uint32_t)d >= ndim && s != 1)
        return corrupt(err, path, "tensor %s: unused dimension %d is %llu (must be 1)", t->name, d,
                       (unsigned long long)s);
      if ((uint32_t)d < ndim && (s == 0 || s > floats / count))
        return corrupt(err, path,
                       "tensor %s: dimension %d is %llu, which the %llu-float data section "
                       "cannot hold",
                       t->name, d, (unsigned long long)s, (unsigned long long)floats);
      count *= s;
      t->shape[d] = (int64_t)s;
    }
    uint64_t off = ds_get_le64(e + 104);
    if (off % sizeof(float) != 0)
      return corrupt(err, path, "tensor %s: offset %llu is not a multiple of 4", t->name,
                     (unsigned long long)off);
    if (off / sizeof(float) > floats || count > floats - off / sizeof(float))
      return corrupt(err, path,
                     "tensor %s: %llu floats at byte %llu run past the %llu-byte data section",
                     t->name, (unsigned long long)count, (unsigned long long)off,
                     (unsigned long long)(floats * sizeof(float)));
    t->ndim = (int)ndim;
    t->offset = off / sizeof(float);
    t->count = count;
  }

  /* Sorted, so a hostile table of a million names costs n log n, not n^2. */
  ds_status st = DS_OK;
  const char **names = malloc((size_t)(set->count ? set->count : 1) * sizeof *names);
  if (!names) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory reading %s", path);
  for (int i = 0; i < set->count; i++)
    names[i] = set->tensors[i].name;
  qsort(names, (size_t)set->count, sizeof *names, compare_names);
  for (int i = 1; i < set->count && st == DS_OK; i++)
    if (strcmp(names[i - 1], names[i]) == 0)
      st = corrupt(err, path, "tensor name %s appears twice", names[i]);
  free(names);
  return st;
}

static ds_status read_body(FILE *f, const char *path, uint64_t size, ds_tensor_set *set,
                           uint32_t *crc_out, ds_error *err) {
  unsigned char hdr[HEADER_BYTES];
  if (size < HEADER_BYTES + CRC_BYTES)
    return corrupt(err, path, "truncated: %llu bytes, less than the smallest file (%d)",
                   (unsigned long long)size, HEADER_BYTES + CRC_BYTES);
  if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr) return read_failed(f, path, err);
  uint32_t n = 0;
  uint64_t data_bytes = 0;
  ds_status st = check_header(hdr, size, path, &n, &data_bytes, err);
  if (st != DS_OK) return st;

  /* Every size below is bounded by the real file size, checked above. */
  size_t table_bytes = (size_t)ENTRY_BYTES * n;
  unsigned char *table = malloc(table_bytes ? table_bytes : 1);
  set->tensors = calloc(n ? n : 1, sizeof *set->tensors);
  set->data = data_bytes ? malloc((size_t)data_bytes) : NULL;
  if (!table || !set->tensors || (data_bytes && !set->data)) {
    free(table);
    return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory reading %s (%llu bytes)", path,
                        (unsigned long long)size);
  }
  set->count = (int)n;
  set->data_count = data_bytes / sizeof(float);

  uint32_t crc = ds_crc32(0, hdr, sizeof hdr);
  unsigned char tail[CRC_BYTES];
  if (read_chunks(f, table, table_bytes, &crc) != 0 ||
      read_chunks(f, set->data, (size_t)data_bytes, &crc) != 0 ||
      fread(tail, 1, sizeof tail, f) != sizeof tail) {
    st = read_failed(f, path, err);
  } else if (ds_get_le32(tail) != crc) {
    st = corrupt(err, path, "CRC mismatch");
  } else {
    st = parse_entries(table, set, path, err);
    if (crc_out) *crc_out = crc;
  }
  free(table);
  return st;
}

ds_status ds_tensor_file_read_crc(const char *path, ds_tensor_set *out, uint32_t *crc,
                                  ds_error *err) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT)
      return ds_error_set(err, DS_ERR_NOT_FOUND, "%s: no such tensor file", path);
    return ds_error_set(err, DS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  }
  ds_status st;
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0)
    st = ds_error_set(err, DS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  else if (!S_ISREG(sb.st_mode))
    st = ds_error_set(err, DS_ERR_IO, "cannot read %s: not a regular file", path);
  else
    st = read_body(f, path, (uint64_t)sb.st_size, out, crc, err);
  fclose(f);
  if (st != DS_OK) ds_tensor_set_free(out);
  return st;
}

ds_status ds_tensor_file_read(const char *path, ds_tensor_set *out, ds_error *err) {
  return ds_tensor_file_read_crc(path, out, NULL, err);
}

/* mkdir -p */
