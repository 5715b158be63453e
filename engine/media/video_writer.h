/* Video output through libavcodec/libavformat: H.264 (libx264, yuv420p,
 * BT.709 limited range) into .mp4 or .mkv, picked by the file's extension,
 * with the first audio stream of another file copied without re-encoding.
 *
 * The file is written in place, not to a temporary name: a convert that is
 * killed must leave a playable file of the frames done so far. For that, mp4
 * is written fragmented (movflags empty_moov+default_base_moof, a fragment
 * about every second) and flushed after every fragment; mkv is readable up to
 * its last complete cluster by nature. A kill loses the frames still inside
 * the encoder (x264's lookahead, up to about 50 frames) and the unfinished
 * fragment or cluster; everything before is decodable. */
#ifndef DS_ENGINE_MEDIA_VIDEO_WRITER_H
#define DS_ENGINE_MEDIA_VIDEO_WRITER_H

#include <stdint.h>

#include "engine/media/image.h"
#include "core/error.h"

typedef struct ds_video_writer ds_video_writer;

enum { DS_VIDEO_DEFAULT_CRF = 18 };

/* Opens path (.mp4, .m4v, .mov or .mkv) for width x height frames (both even:
 * yuv420p halves the chroma) at fps_num/fps_den frames per second. crf is
 * x264's constant rate factor, 0 (lossless) to 51; pass DS_VIDEO_DEFAULT_CRF.
 * audio_source is NULL, or a media file whose first audio stream is copied
 * (packets, not samples) up to the end of the video; a file without audio is
 * accepted and simply adds none. When libx264 is missing the writer falls
 * back to another H.264 encoder, then to MPEG-4 part 2;
 * ds_video_writer_codec_name says which one runs, so the caller can note it.
 * Errors: DS_ERR_INVALID (bad size, rate, crf or extension, or an audio codec
 * the container cannot hold), DS_ERR_NOT_FOUND (audio_source missing),
 * DS_ERR_IO, DS_ERR_NO_MEMORY. */
ds_status ds_video_writer_open(const char *path, int width, int height, int fps_num, int fps_den,
                               int crf, const char *audio_source, ds_video_writer **out,
                               ds_error *err);

/* Encoder name: "libx264" normally. */
const char *ds_video_writer_codec_name(const ds_video_writer *w);

/* Encodes frame (RGB or RGBA, width x height as opened) at presentation time
 * pts_index / fps seconds. pts_index must increase from call to call; pass the
 * source frame's index to keep its timing (gaps are allowed). */
ds_status ds_video_writer_write(ds_video_writer *w, const ds_image *frame, int64_t pts_index,
                                ds_error *err);

/* Flushes the encoder, copies the remaining audio up to the video's end,
 * writes the trailer and frees w, also when it fails. Safe on NULL. */
ds_status ds_video_writer_close(ds_video_writer *w, ds_error *err);

#endif
