/* Tensor sets in memory: named float32 tensors in one data block, as the
 * DSTENSOR files hold them (engine/model/tensor_file.h). */
#include "engine/model/tensor_file.h"

#include <stdlib.h>
#include <string.h>

#include "engine/model/tensor_file_format.h"

const ds_tensor_info *ds_tensor_set_find(const ds_tensor_set *set, const char *name) {
  for (int i = 0; i < set->count; i++)
    if (strcmp(set->tensors[i].name, name) == 0) return &set->tensors[i];
  return NULL;
}

float *ds_tensor_set_data(ds_tensor_set *set, const char *name) {
  const ds_tensor_info *t = ds_tensor_set_find(set, name);
  return t ? set->data + t->offset : NULL;
}

void ds_tensor_set_free(ds_tensor_set *set) {
  if (!set) return;
  free(set->tensors);
  free(set->data);
  memset(set, 0, sizeof *set);
}

ds_status ds_tensor_set_add(ds_tensor_set *set, const char *name, int ndim, const int64_t *shape,
                            ds_error *err) {
  size_t len = name ? strnlen(name, DS_TENSOR_NAME_MAX) : 0;
  if (!ds_tensor_name_ok(name, len))
    return ds_error_set(err, DS_ERR_INVALID,
                        "a tensor name must be 1 to %d printable ASCII characters; rename it",
                        DS_TENSOR_NAME_MAX - 1);
  if (ds_tensor_set_find(set, name))
    return ds_error_set(err, DS_ERR_INVALID,
                        "tensor %s is already in the set; names must be unique", name);
  if (ndim < 1 || ndim > DS_TENSOR_MAX_DIMS)
    return ds_error_set(err, DS_ERR_INVALID, "tensor %s has %d dimensions; it must have 1 to %d",
                        name, ndim, DS_TENSOR_MAX_DIMS);
  /* Bound every size so that offset, count and the byte size fit size_t. */
  const uint64_t limit = (uint64_t)(SIZE_MAX / sizeof(float)) - 2 * DS_TENSOR_ALIGN;
  uint64_t count = 1;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 1)
      return ds_error_set(err, DS_ERR_INVALID, "tensor %s: dimension %d is %lld; it must be >= 1",
                          name, d, (long long)shape[d]);
    if ((uint64_t)shape[d] > limit / count)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "tensor %s is too large for this host", name);
    count *= (uint64_t)shape[d];
  }
  uint64_t offset = ds_tensor_round_up(set->data_count, DS_TENSOR_ALIGN);
  if (count > limit - offset)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "tensor %s is too large for this host", name);
  uint64_t end = ds_tensor_round_up(offset + count, DS_TENSOR_ALIGN);

  ds_tensor_info *tensors = realloc(set->tensors, ((size_t)set->count + 1) * sizeof *tensors);
  if (!tensors)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory adding tensor %s", name);
  set->tensors = tensors;
  float *data = realloc(set->data, (size_t)end * sizeof(float));
  if (!data)
    return ds_error_set(err, DS_ERR_NO_MEMORY,
                        "out of host memory adding tensor %s (%llu floats in all)", name,
                        (unsigned long long)end);
  memset(data + set->data_count, 0, (size_t)(end - set->data_count) * sizeof(float));
  set->data = data;

  ds_tensor_info *t = &set->tensors[set->count++];
  memset(t, 0, sizeof *t);
  memcpy(t->name, name, len);
  t->ndim = ndim;
  for (int d = 0; d < DS_TENSOR_MAX_DIMS; d++)
    t->shape[d] = d < ndim ? shape[d] : 1;
  t->offset = offset;
  t->count = count;
  set->data_count = end;
  return DS_OK;
}
