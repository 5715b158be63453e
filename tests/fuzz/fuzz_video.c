/* Fuzzes the video opener (engine/media/video.h) on short inputs: open a
 * scratch file and read a few frames. FFmpeg itself is not instrumented;
 * what this checks is our side: stream choice, rotation, frame sizes, the
 * scaler's buffers and the end-of-stream and damage logic. */
#include <stdio.h>

#include "engine/media/video.h"
#include "fuzz_util.h"

enum { MAX_FRAMES = 4 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[300];
  if (!path[0]) snprintf(path, sizeof path, "%s/v", fuzz_scratch_dir("video"));
  fuzz_write_file(path, data, size);
  ds_video_reader *r = NULL;
  ds_error err = {0};
  if (ds_video_open(path, &r, &err) == DS_OK) {
    const ds_video_info *info = ds_video_get_info(r);
    ds_image frame = {0};
    for (int i = 0; i < MAX_FRAMES; i++) {
      int64_t index;
      double t;
      if (ds_video_read(r, &frame, &index, &t, &err) != DS_OK) break;
      if (frame.width != info->width || frame.height != info->height || frame.channels != 3 ||
          index != i)
        __builtin_trap();
      volatile uint8_t last = frame.data[(size_t)frame.width * frame.height * 3 - 1];
      (void)last;
    }
    ds_image_free(&frame);
    ds_video_close(r);
  }
  ds_error_clear(&err);
  return 0;
}
