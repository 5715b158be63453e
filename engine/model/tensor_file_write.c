/* Writing DSTENSOR files: a set checked as the reader would check it, then
 * header, table, data and CRC-32 through the atomic writer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/bytes.h"
#include "core/hash.h"
#include "engine/model/tensor_file.h"
#include "engine/model/tensor_file_format.h"

static int write_chunks(FILE *f, const void *data, size_t n, uint32_t *crc) {
  const unsigned char *p = data;
  while (n > 0) {
    size_t k = n < IO_CHUNK ? n : IO_CHUNK;
    if (fwrite(p, 1, k, f) != k) return -1;
    if (crc) *crc = ds_crc32(*crc, p, k);
    p += k;
    n -= k;
  }
  return 0;
}

/* A set is written only if it reads back: names, shapes and ranges valid. */
static ds_status check_set(const char *path, const ds_tensor_set *set, ds_error *err) {
  if (set->count < 0 || set->count > DS_TENSOR_FILE_MAX_COUNT || (set->data_count && !set->data))
    return ds_error_set(err, DS_ERR_INVALID, "cannot write %s: the tensor set is malformed", path);
  for (int i = 0; i < set->count; i++) {
    const ds_tensor_info *t = &set->tensors[i];
    uint64_t count = 1;
    int ok = ds_tensor_name_ok(t->name, strnlen(t->name, DS_TENSOR_NAME_MAX)) && t->ndim >= 1 &&
             t->ndim <= DS_TENSOR_MAX_DIMS;
    for (int d = 0; ok && d < DS_TENSOR_MAX_DIMS; d++) {
      ok = d < t->ndim ? t->shape[d] >= 1 && (uint64_t)t->shape[d] <= set->data_count / count
                       : t->shape[d] == 1;
      if (ok) count *= (uint64_t)t->shape[d];
    }
    ok = ok && count == t->count && t->offset <= set->data_count &&
         t->count <= set->data_count - t->offset;
    if (!ok)
      return ds_error_set(err, DS_ERR_INVALID,
                          "cannot write %s: tensor %d of the set has a bad name, shape or range",
                          path, i);
  }
  return DS_OK;
}

ds_status ds_tensor_file_write_crc(const char *path, const ds_tensor_set *set, uint32_t *crc_out,
                                   ds_error *err) {
  ds_status st = check_set(path, set, err);
  if (st != DS_OK) return st;
  size_t head_bytes = HEADER_BYTES + (size_t)ENTRY_BYTES * (size_t)set->count;
  unsigned char *head = calloc(1, head_bytes);
  if (!head) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory writing %s", path);
  memcpy(head, DS_TENSOR_MAGIC, 8);
  ds_put_le32(head + 8, FILE_VERSION);
  ds_put_le32(head + 12, (uint32_t)set->count);
  ds_put_le64(head + 16, set->data_count * sizeof(float));
  for (int i = 0; i < set->count; i++) {
    const ds_tensor_info *t = &set->tensors[i];
    unsigned char *e = head + HEADER_BYTES + (size_t)ENTRY_BYTES * (size_t)i;
    memcpy(e, t->name, strnlen(t->name, DS_TENSOR_NAME_MAX)); /* the rest stays NUL */
    ds_put_le32(e + 64, (uint32_t)t->ndim);
    ds_put_le32(e + 68, 0); /* dtype float32 */
    for (int d = 0; d < DS_TENSOR_MAX_DIMS; d++)
      ds_put_le64(e + 72 + 8 * d, (uint64_t)t->shape[d]);
    ds_put_le64(e + 104, t->offset * sizeof(float));
  }

  ds_atomic_file af;
  st = ds_atomic_open(&af, path, err);
  if (st != DS_OK) {
    free(head);
    return st;
  }
  uint32_t crc = 0;
  unsigned char tail[CRC_BYTES];
  int ok = write_chunks(af.f, head, head_bytes, &crc) == 0 &&
           write_chunks(af.f, set->data, (size_t)set->data_count * sizeof(float), &crc) == 0;
  ds_put_le32(tail, crc);
  ok = ok && write_chunks(af.f, tail, sizeof tail, NULL) == 0;
  int e = errno;
  free(head);
  if (!ok) {
    ds_atomic_abort(&af);
    return ds_atomic_write_failed(path, e, err);
  }
  st = ds_atomic_commit(&af, err);
  if (st == DS_OK && crc_out) *crc_out = crc;
  return st;
}

ds_status ds_tensor_file_write(const char *path, const ds_tensor_set *set, ds_error *err) {
  return ds_tensor_file_write_crc(path, set, NULL, err);
}
