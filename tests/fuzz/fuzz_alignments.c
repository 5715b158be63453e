/* Fuzzes the alignments.json reader (engine/detect/alignments.h) on a scratch
 * file. A file it accepts is saved again and must load back. */
#include <stdio.h>

#include "engine/detect/alignments.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[300], again[300];
  if (!path[0]) {
    snprintf(path, sizeof path, "%s/alignments.json", fuzz_scratch_dir("alignments"));
    snprintf(again, sizeof again, "%s/again.json", fuzz_scratch_dir("alignments"));
  }
  fuzz_write_file(path, data, size);
  ds_alignments a = {0};
  ds_error err = {0};
  if (ds_alignments_load(path, &a, &err) == DS_OK) {
    for (int s = 0; s < a.source_count; s++) {
      const ds_source_record *src = &a.sources[s];
      if (ds_alignments_source(&a, src->path, 0) != src) __builtin_trap();
      for (int f = 0; f < src->frame_len; f++)
        if (ds_alignments_frame(src, src->frames[f].index) != &src->frames[f]) __builtin_trap();
    }
    ds_alignments b = {0};
    if (ds_alignments_save(again, &a, &err) != DS_OK ||
        ds_alignments_load(again, &b, &err) != DS_OK)
      __builtin_trap(); /* what loaded must save and load back */
    ds_alignments_free(&b);
  }
  ds_alignments_free(&a);
  ds_error_clear(&err);
  return 0;
}
