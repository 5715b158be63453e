/* Fuzzes the DSTENSOR reader (engine/model/tensor_file.h) on a scratch file. */
#include <stdio.h>

#include "engine/model/tensor_file.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[300];
  if (!path[0]) snprintf(path, sizeof path, "%s/t.bin", fuzz_scratch_dir("tensor_file"));
  fuzz_write_file(path, data, size);
  ds_tensor_set set = {0};
  ds_error err = {0};
  uint32_t crc;
  if (ds_tensor_file_read_crc(path, &set, &crc, &err) == DS_OK) {
    /* touch every tensor: offsets and counts must lie inside the data */
    volatile float sum = 0;
    for (int i = 0; i < set.count; i++) {
      const ds_tensor_info *t = &set.tensors[i];
      if (ds_tensor_set_find(&set, t->name) != t) __builtin_trap();
      if (t->count) sum += set.data[t->offset] + set.data[t->offset + t->count - 1];
    }
    (void)sum;
  }
  ds_tensor_set_free(&set);
  ds_error_clear(&err);
  return 0;
}
