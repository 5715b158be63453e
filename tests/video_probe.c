/* video_probe FILE: decodes a whole video with the engine's reader and prints
 * "frames=N width=W height=H fps=NUM/DEN audio=0|1" for the shell tests
 * (ffprobe is not installed on the CI machine). Exit 1 when the file does not
 * decode to its end. */
#include <stdio.h>

#include "engine/media/video.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: video_probe FILE\n");
    return 2;
  }
  ds_video_reader *r = NULL;
  ds_error err = {0};
  if (ds_video_open(argv[1], &r, &err) != DS_OK) {
    fprintf(stderr, "video_probe: %s\n", err.msg);
    return 1;
  }
  const ds_video_info *info = ds_video_get_info(r);
  ds_image frame = {0};
  long long n = 0;
  ds_status st;
  while ((st = ds_video_read(r, &frame, NULL, NULL, &err)) == DS_OK)
    n++;
  printf("frames=%lld width=%d height=%d fps=%d/%d audio=%d\n", n, info->width, info->height,
         info->fps_num, info->fps_den, info->has_audio);
  ds_image_free(&frame);
  ds_video_close(r);
  if (st != DS_ERR_NOT_FOUND) {
    fprintf(stderr, "video_probe: %s\n", err.msg);
    return 1;
  }
  return 0;
}
