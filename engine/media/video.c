#include "engine/media/video.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mem.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ds_video_reader {
  char *path;
  AVFormatContext *fmt;
  AVCodecContext *dec;
  int stream;
  AVPacket *pkt;
  AVFrame *frame;
  struct SwsContext *sws;
  uint8_t *upright; /* the scaler's output, padded: coded orientation, before rotation */
  size_t upright_bytes;
  ds_video_info info;
  int64_t next_index;
  int64_t start_pts; /* the video stream's start time, subtracted from every timestamp */
  double last_t;     /* timestamp of the last delivered frame */
  double stream_s;   /* the video stream's own duration; 0 when unknown or guessed */
  double gap_s;      /* the largest step between delivered frames, and the frame after it */
  int64_t gap_index;
  int draining;    /* the demuxer is done; the decoder is being flushed */
  int damaged;     /* draining because a packet was damaged or could not be decoded */
  ds_status final; /* DS_OK while frames may come; the sticky end or error after */
  char final_msg[DS_ERROR_MSG_MAX];
};

/* Only the first call silences FFmpeg, so a caller may turn its log back on.
 * It also caps each of FFmpeg's allocations at 256 MiB (8K RGB frames are
 * 100 MiB): a 2.3 KB damaged file made the demuxer grow a buffer by
 * av_fast_realloc to 2.8 GB (found by fuzz_video,
 * tests/fuzz/regress/video/oom-fast-realloc). */
static void quiet_libav(void) {
  static atomic_int done;
  if (!atomic_exchange(&done, 1)) {
    av_log_set_level(AV_LOG_QUIET);
    av_max_alloc((size_t)256 << 20);
  }
}

static void av_message(int averr, char *buf, size_t size) {
  if (av_strerror(averr, buf, size) < 0) snprintf(buf, size, "FFmpeg error %d", averr);
}

/* The clockwise rotation a player applies. The display matrix holds the
 * counter-clockwise angle (libavutil/display.h), so a portrait phone clip,
 * tagged "rotate=90", carries -90 there. */
static int stream_rotation(const AVStream *st) {
  double ccw = 0;
  const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
  if (m) {
    ccw = av_display_rotation_get((const int32_t *)m);
    if (isnan(ccw)) ccw = 0;
  } else {
    const AVDictionaryEntry *tag = av_dict_get(st->metadata, "rotate", NULL, 0);
    if (tag) ccw = -atof(tag->value);
  }
  long cw = lround(-ccw / 90.0) * 90 % 360;
  return (int)(cw < 0 ? cw + 360 : cw);
}

void ds_image_rotate_rgb(const uint8_t *src, int width, int height, int degrees, uint8_t *dst) {
  for (int y = 0; y < height; y++) {
    for (int x = 0; x < width; x++) {
      int dx = x, dy = y, dw = width;
      switch (degrees) {
      case 90: dx = height - 1 - y, dy = x, dw = height; break;
      case 180: dx = width - 1 - x, dy = height - 1 - y; break;
      case 270: dx = y, dy = width - 1 - x, dw = height; break;
      default: break;
      }
      const uint8_t *s = src + ((size_t)y * (size_t)width + (size_t)x) * 3;
      uint8_t *d = dst + ((size_t)dy * (size_t)dw + (size_t)dx) * 3;
      d[0] = s[0], d[1] = s[1], d[2] = s[2];
    }
  }
}

/* avformat_open_input says INVALIDDATA both for a text file and for an mp4
 * cut before its moov box; probing the first bytes tells them apart. */
static int looks_like_media(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  uint8_t buf[4096 + AV_INPUT_BUFFER_PADDING_SIZE];
  memset(buf, 0, sizeof buf);
  size_t n = fread(buf, 1, 4096, f);
  fclose(f);
  AVProbeData pd = {.filename = "", .buf = buf, .buf_size = (int)n};
  int score = 0;
  return av_probe_input_format2(&pd, 1, &score) != NULL && score >= AVPROBE_SCORE_MAX / 4;
}

static ds_status open_failure(const char *path, int averr, ds_error *err) {
  char why[128];
  av_message(averr, why, sizeof why);
  if (averr == AVERROR(ENOENT))
    return ds_error_set(err, DS_ERR_NOT_FOUND, "video %s: no such file; check the path", path);
  if (averr == AVERROR(ENOMEM))
    return ds_error_set(err, DS_ERR_NO_MEMORY, "video %s: out of memory while opening", path);
  if (averr == AVERROR_INVALIDDATA && looks_like_media(path))
    return ds_error_set(err, DS_ERR_CORRUPT,
                        "video %s: damaged or truncated (%s); re-download or re-export it", path,
                        why);
  if (averr == AVERROR_INVALIDDATA)
    return ds_error_set(err, DS_ERR_INVALID,
                        "video %s: not a video file FFmpeg can read (%s); pass a video such as "
                        ".mp4, .mkv or .mov",
                        path, why);
  return ds_error_set(err, DS_ERR_IO, "video %s: cannot open (%s); check the file and permissions",
                      path, why);
}

static void fill_info(ds_video_reader *r, const AVStream *st) {
  ds_video_info *in = &r->info;
  AVRational fps = st->avg_frame_rate;
  if (fps.num <= 0 || fps.den <= 0) fps = st->r_frame_rate;
  if (fps.num <= 0 || fps.den <= 0) fps = (AVRational){0, 1};
  in->fps_num = fps.num;
  in->fps_den = fps.den;
  in->frame_count = st->nb_frames > 0 ? st->nb_frames : -1;
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
    in->duration_s = (double)st->duration * av_q2d(st->time_base);
  else if (r->fmt->duration != AV_NOPTS_VALUE && r->fmt->duration > 0)
    in->duration_s = (double)r->fmt->duration / AV_TIME_BASE;
  in->rotation = stream_rotation(st);
  int w = r->dec->width, h = r->dec->height;
  in->width = (in->rotation % 180) ? h : w;
  in->height = (in->rotation % 180) ? w : h;
  for (unsigned i = 0; i < r->fmt->nb_streams; i++)
    if (r->fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) in->has_audio = 1;
  snprintf(in->codec, sizeof in->codec, "%s", r->dec->codec->name);
}

ds_status ds_video_open(const char *path, ds_video_reader **out, ds_error *err) {
  *out = NULL;
  quiet_libav();
  ds_video_reader *r = calloc(1, sizeof *r);
  if (r) r->path = malloc(strlen(path) + 1);
  if (!r || !r->path) {
    if (r) free(r);
    return ds_error_set(err, DS_ERR_NO_MEMORY, "video %s: out of memory", path);
  }
  strcpy(r->path, path);
  ds_status st = DS_OK;
  int ret = avformat_open_input(&r->fmt, path, NULL, NULL);
  if (ret < 0) {
    st = open_failure(path, ret, err);
    goto fail;
  }
  ret = avformat_find_stream_info(r->fmt, NULL);
  if (ret < 0) {
    st = open_failure(path, ret, err);
    goto fail;
  }
  const AVCodec *codec = NULL;
  r->stream = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (r->stream == AVERROR_STREAM_NOT_FOUND) {
    st =
        ds_error_set(err, DS_ERR_INVALID, "video %s: has no video stream; pass a video file", path);
    goto fail;
  }
  if (r->stream < 0 || !codec) {
    AVStream *vs = r->stream >= 0 ? r->fmt->streams[r->stream] : NULL;
    st = ds_error_set(err, DS_ERR_INVALID,
                      "video %s: codec %s is not supported by this FFmpeg build; re-encode the "
                      "file to H.264",
                      path, vs ? avcodec_get_name(vs->codecpar->codec_id) : "(unknown)");
    goto fail;
  }
  AVStream *vs = r->fmt->streams[r->stream];
  for (unsigned i = 0; i < r->fmt->nb_streams; i++)
    if ((int)i != r->stream) r->fmt->streams[i]->discard = AVDISCARD_ALL;
  r->dec = avcodec_alloc_context3(codec);
  r->pkt = av_packet_alloc();
  r->frame = av_frame_alloc();
  if (!r->dec || !r->pkt || !r->frame) {
    st = ds_error_set(err, DS_ERR_NO_MEMORY, "video %s: out of memory for the decoder", path);
    goto fail;
  }
  avcodec_parameters_to_context(r->dec, vs->codecpar);
  r->dec->pkt_timebase = vs->time_base;
  r->dec->thread_count = 0; /* one per core; HEVC 1080p needs them */
  ret = avcodec_open2(r->dec, codec, NULL);
  if (ret < 0) {
    char why[128];
    av_message(ret, why, sizeof why);
    st = ds_error_set(err, DS_ERR_INVALID, "video %s: cannot start the %s decoder (%s)", path,
                      codec->name, why);
    goto fail;
  }
  if (r->dec->width <= 0 || r->dec->height <= 0) {
    st = ds_error_set(err, DS_ERR_CORRUPT,
                      "video %s: the video stream has no frame size; the file is damaged", path);
    goto fail;
  }
  fill_info(r, vs);
  r->start_pts = vs->start_time != AV_NOPTS_VALUE ? vs->start_time : 0;
  if (vs->duration != AV_NOPTS_VALUE && vs->duration > 0 &&
      r->fmt->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE)
    r->stream_s = (double)vs->duration * av_q2d(vs->time_base);
  *out = r;
  return DS_OK;
fail:
  ds_video_close(r);
  return st;
}

const ds_video_info *ds_video_get_info(const ds_video_reader *r) { return &r->info; }

static ds_status stop(ds_video_reader *r, ds_status code, ds_error *err, const char *fmt_, ...)
    __attribute__((format(printf, 4, 5)));

static ds_status stop(ds_video_reader *r, ds_status code, ds_error *err, const char *fmt_, ...) {
  va_list ap;
  va_start(ap, fmt_);
  vsnprintf(r->final_msg, sizeof r->final_msg, fmt_, ap);
  va_end(ap);
  r->final = code;
  return ds_error_set(err, code, "%s", r->final_msg);
}

static ds_status corrupt_at(ds_video_reader *r, int averr, const char *what, ds_error *err) {
  char why[128];
  av_message(averr, why, sizeof why);
  if (r->next_index == 0)
    return stop(r, DS_ERR_CORRUPT, err,
                "video %s: %s failed at frame 0 (%s); no frame could be read, the file is "
                "damaged; re-export or re-download it",
                r->path, what, why);
  return stop(r, DS_ERR_CORRUPT, err,
              "video %s: %s failed at frame %lld (%s); frames 0 to %lld were read, the rest is "
              "damaged or truncated; re-export or re-download the file for all of it",
              r->path, what, (long long)r->next_index, why, (long long)r->next_index - 1);
}

/* HD frames without a colour tag are BT.709 by convention, SD ones BT.601. */
static int frame_colorspace(const AVFrame *f) {
  if (f->colorspace != AVCOL_SPC_UNSPECIFIED && f->colorspace != AVCOL_SPC_RESERVED)
    return f->colorspace;
  return f->height >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_BT470BG;
}

static ds_status convert_frame(ds_video_reader *r, ds_image *frame, ds_error *err) {
  const AVFrame *f = r->frame;
  int rot = r->info.rotation;
  int cw = rot % 180 ? r->info.height : r->info.width; /* coded size, as opened */
  int ch = rot % 180 ? r->info.width : r->info.height;
  if (!frame->data || frame->width != r->info.width || frame->height != r->info.height ||
      frame->channels != 3) {
    ds_image_free(frame);
    ds_status st = ds_image_alloc(frame, r->info.width, r->info.height, 3, err);
    if (st != DS_OK) return stop(r, st, err, "%s", err ? err->msg : "out of memory");
  }
  /* libswscale's SIMD stores may run past the end of a row, and so past the
   * end of an exactly sized image (a heap corruption seen at 1080x1920): it
   * always writes into this buffer, padded and aligned, and the frame is
   * copied or rotated from there. */
  size_t bytes = (size_t)cw * (size_t)ch * 3;
  if (r->upright_bytes != bytes) {
    av_free(r->upright);
    r->upright = av_malloc(bytes + 256);
    r->upright_bytes = r->upright ? bytes : 0;
    if (!r->upright)
      return stop(r, DS_ERR_NO_MEMORY, err, "video %s: cannot allocate %zu bytes for a frame",
                  r->path, bytes);
  }
  /* A stream may change size mid-way; frames are scaled to the size it
   * opened with so the caller sees one shape. At equal sizes the filter only
   * upsamples chroma: decoding 1080x1920 HEVC on 2 cores ran at 270 to 400
   * frames/s with bilinear and full horizontal chroma, 94 with bicubic and
   * accurate rounding. */
  r->sws = sws_getCachedContext(r->sws, f->width, f->height, f->format, cw, ch, AV_PIX_FMT_RGB24,
                                SWS_BILINEAR | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
  if (!r->sws)
    return stop(r, DS_ERR_INVALID, err, "video %s: cannot convert pixel format %s to RGB", r->path,
                av_get_pix_fmt_name(f->format));
  const int *coef = sws_getCoefficients(frame_colorspace(f));
  int full = f->color_range == AVCOL_RANGE_JPEG || f->format == AV_PIX_FMT_YUVJ420P ||
             f->format == AV_PIX_FMT_YUVJ422P || f->format == AV_PIX_FMT_YUVJ444P;
  sws_setColorspaceDetails(r->sws, coef, full, sws_getCoefficients(AVCOL_SPC_BT709), 1, 0, 1 << 16,
                           1 << 16);
  uint8_t *dst[4] = {r->upright, NULL, NULL, NULL};
  int stride[4] = {cw * 3, 0, 0, 0};
  sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
  if (rot)
    ds_image_rotate_rgb(r->upright, cw, ch, rot, frame->data);
  else
    memcpy(frame->data, r->upright, bytes);
  return DS_OK;
}

ds_status ds_video_read(ds_video_reader *r, ds_image *frame, int64_t *index, double *timestamp_s,
                        ds_error *err) {
  if (r->final != DS_OK) {
    if (r->final == DS_ERR_NOT_FOUND) return DS_ERR_NOT_FOUND;
    return ds_error_set(err, r->final, "%s", r->final_msg);
  }
  for (;;) {
    int ret = avcodec_receive_frame(r->dec, r->frame);
    if (ret == 0) {
      if (r->frame->flags & AV_FRAME_FLAG_CORRUPT) {
        /* Leading frames of an open GOP (a clip cut from a stream) reference
         * pictures before the file's start: skipped, not an error. */
        av_frame_unref(r->frame);
        if (r->next_index == 0) continue;
        return corrupt_at(r, AVERROR_INVALIDDATA, "decoding", err);
      }
      ds_status st = convert_frame(r, frame, err);
      int64_t pts = r->frame->best_effort_timestamp;
      av_frame_unref(r->frame);
      if (st != DS_OK) return st;
      AVRational tb = r->fmt->streams[r->stream]->time_base;
      double t = pts == AV_NOPTS_VALUE ? (double)r->next_index * r->info.fps_den /
                                             (r->info.fps_num ? r->info.fps_num : 1)
                                       : (double)(pts - r->start_pts) * av_q2d(tb);
      if (r->next_index > 0 && t - r->last_t > r->gap_s) {
        r->gap_s = t - r->last_t;
        r->gap_index = r->next_index;
      }
      r->last_t = t;
      if (index) *index = r->next_index;
      if (timestamp_s) *timestamp_s = t;
      r->next_index++;
      return DS_OK;
    }
    if (ret == AVERROR_EOF) {
      if (r->damaged) return corrupt_at(r, AVERROR_INVALIDDATA, "decoding", err);
      /* The sample count may include frames an edit list trims (a clip cut
       * on a phone without re-encoding), so an early end is judged by the
       * stream's duration, which follows the edit list. */
      double frame_s = r->info.fps_num > 0 ? (double)r->info.fps_den / r->info.fps_num : 0.04;
      if (r->stream_s > 0 && r->last_t + 2 * frame_s + 0.1 < r->stream_s)
        return stop(r, DS_ERR_CORRUPT, err,
                    "video %s: ends at frame %lld (%.2f s) of a %.2f s stream; frames 0 to %lld "
                    "were read, the file is truncated; re-export or re-download it for all of it",
                    r->path, (long long)r->next_index, r->last_t + frame_s, r->stream_s,
                    (long long)r->next_index - 1);
      /* Demuxers resync past damage silently (mkv skips to the next
       * cluster); a tenth fewer frames than the timestamps span at the
       * average rate means frames were dropped, most likely at the largest
       * gap. Variable-rate clips stay well inside that margin. */
      double spanned = r->last_t / frame_s + 1;
      if (r->info.fps_num > 0 && (double)r->next_index + 2 < 0.9 * spanned)
        return stop(r, DS_ERR_CORRUPT, err,
                    "video %s: %lld frames delivered where the timestamps span about %.0f; "
                    "frames are missing before frame %lld (a %.2f s gap), the file is damaged; "
                    "re-export or re-download it",
                    r->path, (long long)r->next_index, spanned, (long long)r->gap_index, r->gap_s);
      r->final = DS_ERR_NOT_FOUND;
      return DS_ERR_NOT_FOUND;
    }
    if (ret != AVERROR(EAGAIN)) return corrupt_at(r, ret, "decoding", err);
    if (r->draining) return corrupt_at(r, AVERROR_BUG, "flushing the decoder", err);

    ret = av_read_frame(r->fmt, r->pkt);
    if (ret == AVERROR_EOF) {
      r->draining = 1;
      avcodec_send_packet(r->dec, NULL);
      continue;
    }
    if (ret < 0) return corrupt_at(r, ret, "reading", err);
    if (r->pkt->stream_index != r->stream) {
      av_packet_unref(r->pkt);
      continue;
    }
    int damaged = r->pkt->flags & AV_PKT_FLAG_CORRUPT;
    ret = avcodec_send_packet(r->dec, r->pkt);
    av_packet_unref(r->pkt);
    /* A damaged packet (cut short at the end of a truncated file) ends the
     * stream: what the decoder already holds is still delivered, then the
     * error is reported on the next read. */
    if (damaged || (ret < 0 && ret != AVERROR(EAGAIN))) {
      r->draining = 1;
      avcodec_send_packet(r->dec, NULL);
      r->damaged = 1;
    }
  }
}

void ds_video_close(ds_video_reader *r) {
  if (!r) return;
  sws_freeContext(r->sws);
  av_frame_free(&r->frame);
  av_packet_free(&r->pkt);
  avcodec_free_context(&r->dec);
  avformat_close_input(&r->fmt);
  av_free(r->upright);
  free(r->path);
  free(r);
}
