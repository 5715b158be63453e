/* Named float32 tensors in one contiguous allocation, and the DSTENSOR file
 * that stores them (layout in engine/model/MODEL.md, "Tensor files").
 *
 * A set laid out by ds_tensor_set_add matches the parameter buffer layout of
 * MODEL.md: tensors in order, each starting at a multiple of 16 floats, the
 * total rounded up to 16 floats, so one set maps onto one device buffer. */
#ifndef DS_ENGINE_MODEL_TENSOR_FILE_H
#define DS_ENGINE_MODEL_TENSOR_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/atomic_file.h"
#include "core/error.h"

enum {
  DS_TENSOR_NAME_MAX = 64, /* bytes, NUL included */
  DS_TENSOR_MAX_DIMS = 4,
  DS_TENSOR_ALIGN = 16, /* floats (64 bytes) */
  DS_TENSOR_FILE_MAX_COUNT = 1000000,
};

typedef struct ds_tensor_info {
  char name[DS_TENSOR_NAME_MAX];
  int ndim;
  int64_t shape[DS_TENSOR_MAX_DIMS]; /* unused dimensions are 1 */
  uint64_t offset;                   /* in floats from the start of data */
  uint64_t count;                    /* elements */
} ds_tensor_info;

/* A zeroed set is an empty set. */
typedef struct ds_tensor_set {
  ds_tensor_info *tensors;
  int count;
  float *data;
  uint64_t data_count; /* floats; a multiple of DS_TENSOR_ALIGN unless read from a foreign file */
} ds_tensor_set;

/* Appends a zero-filled tensor. Names are unique, 1..63 printable ASCII
 * characters; ndim is 1..4 and every dimension at least 1. The data may move:
 * pointers from ds_tensor_set_data are stale after an add. */
ds_status ds_tensor_set_add(ds_tensor_set *set, const char *name, int ndim, const int64_t *shape,
                            ds_error *err);
/* NULL when the set has no tensor of that name. */
const ds_tensor_info *ds_tensor_set_find(const ds_tensor_set *set, const char *name);
float *ds_tensor_set_data(ds_tensor_set *set, const char *name);
/* Frees and zeroes the set. Safe on a zeroed set. */
void ds_tensor_set_free(ds_tensor_set *set);

/* Writes the set to path atomically: a temporary file in the same folder,
 * flushed and fsynced, renamed over path, then the folder fsynced. On any
 * failure the temporary file is removed, path is untouched, and the result
 * is DS_ERR_IO naming path and the system's reason. */
ds_status ds_tensor_file_write(const char *path, const ds_tensor_set *set, ds_error *err);
/* As above; *crc (may be NULL) receives the CRC-32 the file ends with. */
ds_status ds_tensor_file_write_crc(const char *path, const ds_tensor_set *set, uint32_t *crc,
                                   ds_error *err);

/* Every DS_ERR_CORRUPT message of the reader reads "<path>" DS_TENSOR_CORRUPT_TAG "<what>". */
#define DS_TENSOR_CORRUPT_TAG ": corrupt tensor file: "

/* Reads and checks a whole tensor file into out (which it overwrites; free
 * it with ds_tensor_set_free). A missing file is DS_ERR_NOT_FOUND; a file
 * that fails any check of MODEL.md is DS_ERR_CORRUPT with the message
 * "<path>: corrupt tensor file: <what>", and out is left empty. Sizes in the
 * header are checked against the real file size before any allocation. */
ds_status ds_tensor_file_read(const char *path, ds_tensor_set *out, ds_error *err);
/* As above; *crc (may be NULL) receives the file's verified CRC-32. */
ds_status ds_tensor_file_read_crc(const char *path, ds_tensor_set *out, uint32_t *crc,
                                  ds_error *err);


#endif
