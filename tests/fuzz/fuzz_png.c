/* Fuzzes our PNG reader front end (engine/media/png.h: libpng set up for any
 * PNG, converted to 8-bit RGB) and the text-chunk lookup, on a scratch file. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/media/png.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[300];
  if (!path[0]) snprintf(path, sizeof path, "%s/i.png", fuzz_scratch_dir("png"));
  fuzz_write_file(path, data, size);
  ds_image img = {0};
  ds_error err = {0};
  if (ds_png_read_rgb(path, &img, &err) == DS_OK) {
    if (img.channels != 3 || img.width < 1 || img.height < 1) __builtin_trap();
    volatile uint8_t last = img.data[(size_t)img.width * img.height * 3 - 1];
    (void)last;
  }
  ds_image_free(&img);
  ds_error_clear(&err);
  char *value = NULL;
  ds_png_read_text(path, "dsengine", &value, &err);
  free(value);
  ds_error_clear(&err);
  return 0;
}
