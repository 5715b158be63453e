/* Fuzzes the reader of dlib's serialized frontal HOG detector
 * (engine/detect/hog_detector.h) on a scratch file; a detector it accepts
 * also runs on a small image, so the sizes it read must hold together. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/detect/hog_detector.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[300];
  if (!path[0]) snprintf(path, sizeof path, "%s/d.dat", fuzz_scratch_dir("hog_detector"));
  fuzz_write_file(path, data, size);
  ds_hog_detector *d = NULL;
  ds_error err = {0};
  if (ds_hog_detector_load(path, &d, &err) == DS_OK) {
    enum { W = 96, H = 80 };
    static uint8_t img[W * H];
    for (int i = 0; i < W * H; i++)
      img[i] = (uint8_t)(i * 37 + (i / W) * 11);
    for (int k = 0; k < ds_hog_detector_num_filters(d); k++)
      ds_hog_detector_num_separable_terms(d, k);
    ds_detection *dets = NULL;
    int count = 0;
    ds_hog_detect(d, img, W, H, 1, 0, -1.0, &dets, &count, &err);
    free(dets);
    ds_hog_detector_free(d);
  }
  ds_error_clear(&err);
  return 0;
}
