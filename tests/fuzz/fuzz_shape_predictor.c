/* Fuzzes the reader of dlib's shape_predictor files
 * (engine/detect/shape_predictor.h) on a scratch file; a predictor it
 * accepts also runs on a small image, so every index it read is exercised. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/detect/shape_predictor.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[300];
  if (!path[0]) snprintf(path, sizeof path, "%s/sp.dat", fuzz_scratch_dir("shape_predictor"));
  fuzz_write_file(path, data, size);
  ds_shape_predictor *sp = NULL;
  ds_error err = {0};
  if (ds_shape_predictor_load(path, &sp, &err) == DS_OK) {
    enum { W = 40, H = 36 };
    static uint8_t img[W * H];
    for (int i = 0; i < W * H; i++)
      img[i] = (uint8_t)(i * 29 + (i / W) * 7);
    int parts = ds_shape_predictor_num_parts(sp);
    for (int l = 0; l < ds_shape_predictor_num_levels(sp); l++)
      ds_shape_predictor_num_trees(sp, l);
    float(*xy)[2] = malloc(sizeof *xy * (size_t)(parts > 0 ? parts : 1));
    const float box[4] = {5, 4, 34, 31};
    if (xy) ds_shape_predictor_run(sp, img, W, H, 1, box, xy, &err);
    free(xy);
    ds_shape_predictor_free(sp);
  }
  ds_error_clear(&err);
  return 0;
}
