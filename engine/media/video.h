/* Video input through libavformat/libavcodec/libswscale: any container and
 * codec the system's FFmpeg decodes (HEVC included), delivered frame by frame
 * as 8-bit RGB in presentation order, upright (the display matrix or the
 * legacy "rotate" tag is applied).
 *
 * FFmpeg's own log goes to stderr unless silenced; opening a reader or writer
 * sets av_log_set_level(AV_LOG_QUIET) once, because library code must not
 * print. A caller that wants FFmpeg's log may raise the level afterwards. */
#ifndef DS_ENGINE_MEDIA_VIDEO_H
#define DS_ENGINE_MEDIA_VIDEO_H

#include <stdint.h>

#include "engine/media/image.h"
#include "core/error.h"

typedef struct ds_video_reader ds_video_reader;

typedef struct ds_video_info {
  int width, height;    /* of the delivered (rotated) frames */
  int fps_num, fps_den; /* average frame rate; 0/1 when the file gives none */
  int64_t frame_count;  /* as the container declares it; -1 when unknown (mkv) */
  double duration_s;    /* of the video stream, else of the file; 0 when unknown */
  int rotation;         /* clockwise degrees applied to the coded frames: 0, 90, 180, 270 */
  int has_audio;        /* the file has at least one audio stream */
  char codec[32];       /* decoder name, e.g. "h264", "hevc" */
} ds_video_info;

/* Opens path and its best video stream. Errors: DS_ERR_NOT_FOUND (no such
 * file), DS_ERR_INVALID (not a media file, no video stream, or a codec this
 * FFmpeg lacks), DS_ERR_CORRUPT (a recognised container that cannot be
 * opened, e.g. an mp4 cut before its index), DS_ERR_IO, DS_ERR_NO_MEMORY. */
ds_status ds_video_open(const char *path, ds_video_reader **out, ds_error *err);

const ds_video_info *ds_video_get_info(const ds_video_reader *r);

/* Decodes the next frame into frame (RGB, 3 channels), which is (re)allocated
 * when its shape differs and otherwise reused; the caller frees it with
 * ds_image_free. index counts delivered frames from 0; timestamp_s is the
 * frame's presentation time in seconds from the video stream's start, so the
 * first frame is at 0 (a clip cut from a longer one keeps no offset, as
 * ds_video_writer_open's audio copy assumes). Timestamps show any gap: a
 * variable-rate clip, or B-frames lost at a truncation. Either may be NULL.
 *
 * Returns DS_OK with a frame, DS_ERR_NOT_FOUND at the normal end of the
 * stream (err is left untouched then), or DS_ERR_CORRUPT when the file is
 * damaged or truncated: the message names the file and the index of the first
 * frame that could not be delivered; every frame before it was delivered.
 * A stream that ends over two frames before the duration its container
 * declares, or whose timestamps span over 10 % more frames than were decoded
 * (damage the demuxer skipped), also ends with DS_ERR_CORRUPT, after
 * delivering what it could. After an error or the end, further calls return the same. */
ds_status ds_video_read(ds_video_reader *r, ds_image *frame, int64_t *index, double *timestamp_s,
                        ds_error *err);

/* Frees everything. Safe on NULL. */
void ds_video_close(ds_video_reader *r);

/* Rotates an RGB image clockwise by 0, 90, 180 or 270 degrees into dst,
 * whose shape must already be the rotated one. Exposed for tests. */
void ds_image_rotate_rgb(const uint8_t *src, int width, int height, int degrees, uint8_t *dst);

#endif
