#include "engine/media/video_writer.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ds_video_writer {
  char *path;
  AVFormatContext *oc;
  AVCodecContext *enc;
  AVStream *vst;
  AVFrame *yuv;
  AVPacket *pkt;
  struct SwsContext *sws;
  int sws_format;
  uint8_t *staging; /* the caller's frame plus the tail swscale's SIMD reads past the end */
  int width, height;
  AVRational fps;
  int64_t last_pts; /* -1 before the first frame */
  int header_written;
  /* audio copied from another file */
  AVFormatContext *ain;
  int ain_stream;
  AVStream *ast;
  AVPacket *apkt;
  int64_t ain_origin; /* in the audio stream's time base: the source's time 0 */
  int apending, adone;
};

/* Only the first call silences FFmpeg, so a caller may turn its log back on. */
static void quiet_libav(void) {
  static atomic_int done;
  if (!atomic_exchange(&done, 1)) av_log_set_level(AV_LOG_QUIET);
}

static void av_message(int averr, char *buf, size_t size) {
  if (av_strerror(averr, buf, size) < 0) snprintf(buf, size, "FFmpeg error %d", averr);
}

static ds_status av_fail(ds_video_writer *w, ds_status code, int averr, const char *what,
                         ds_error *err) {
  char why[128];
  av_message(averr, why, sizeof why);
  if (averr == AVERROR(ENOMEM)) code = DS_ERR_NO_MEMORY;
  return ds_error_set(err, code, "video %s: %s failed (%s)%s", w->path, what, why,
                      code == DS_ERR_IO ? "; check free disk space and permissions" : "");
}

/* Returns 1 for mp4-family names, 2 for mkv, 0 for anything else. */
static int container_of(const char *path) {
  const char *dot = strrchr(path, '.');
  if (!dot || strchr(dot, '/')) return 0;
  if (!strcasecmp(dot, ".mp4") || !strcasecmp(dot, ".m4v") || !strcasecmp(dot, ".mov")) return 1;
  if (!strcasecmp(dot, ".mkv")) return 2;
  return 0;
}

static const AVCodec *pick_encoder(void) {
  const AVCodec *c = avcodec_find_encoder_by_name("libx264");
  if (!c) c = avcodec_find_encoder(AV_CODEC_ID_H264);
  if (!c) c = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
  return c;
}

static ds_status open_encoder(ds_video_writer *w, int crf, ds_error *err) {
  const AVCodec *codec = pick_encoder();
  if (!codec)
    return ds_error_set(err, DS_ERR_INVALID,
                        "video %s: this FFmpeg has neither an H.264 nor an MPEG-4 encoder; "
                        "install libavcodec with libx264 (Debian: libavcodec59)",
                        w->path);
  w->enc = avcodec_alloc_context3(codec);
  w->vst = avformat_new_stream(w->oc, NULL);
  if (!w->enc || !w->vst)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "video %s: out of memory for the encoder", w->path);
  AVCodecContext *e = w->enc;
  e->width = w->width;
  e->height = w->height;
  e->pix_fmt = AV_PIX_FMT_YUV420P;
  e->time_base = av_inv_q(w->fps);
  e->framerate = w->fps;
  e->sample_aspect_ratio = (AVRational){1, 1};
  e->colorspace = AVCOL_SPC_BT709;
  e->color_primaries = AVCOL_PRI_BT709;
  e->color_trc = AVCOL_TRC_BT709;
  e->color_range = AVCOL_RANGE_MPEG;
  e->thread_count = 0;
  if (w->oc->oformat->flags & AVFMT_GLOBALHEADER) e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary *opts = NULL;
  if (!strcmp(codec->name, "libx264")) {
    char value[16];
    snprintf(value, sizeof value, "%d", crf);
    av_dict_set(&opts, "crf", value, 0);
  } else {
    /* crf is x264's; a fixed quantiser is the closest the fallbacks offer */
    e->flags |= AV_CODEC_FLAG_QSCALE;
    e->global_quality = FF_QP2LAMBDA * (2 + crf / 10);
  }
  int ret = avcodec_open2(e, codec, &opts);
  av_dict_free(&opts);
  if (ret < 0) return av_fail(w, DS_ERR_INVALID, ret, "opening the encoder", err);
  ret = avcodec_parameters_from_context(w->vst->codecpar, e);
  if (ret < 0) return av_fail(w, DS_ERR_NO_MEMORY, ret, "setting up the video stream", err);
  w->vst->time_base = e->time_base;
  w->vst->avg_frame_rate = w->fps;
  w->yuv = av_frame_alloc();
  w->pkt = av_packet_alloc();
  if (!w->yuv || !w->pkt)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "video %s: out of memory for frames", w->path);
  w->yuv->format = e->pix_fmt;
  w->yuv->width = e->width;
  w->yuv->height = e->height;
  ret = av_frame_get_buffer(w->yuv, 0);
  if (ret < 0) return av_fail(w, DS_ERR_NO_MEMORY, ret, "allocating a frame", err);
  return DS_OK;
}

static ds_status open_audio(ds_video_writer *w, const char *source, ds_error *err) {
  int ret = avformat_open_input(&w->ain, source, NULL, NULL);
  if (ret == AVERROR(ENOENT))
    return ds_error_set(err, DS_ERR_NOT_FOUND,
                        "audio source %s: no such file; check the path or convert without audio",
                        source);
  if (ret >= 0) ret = avformat_find_stream_info(w->ain, NULL);
  if (ret < 0) {
    char why[128];
    av_message(ret, why, sizeof why);
    return ds_error_set(err, DS_ERR_INVALID,
                        "audio source %s: cannot be read (%s); convert without audio", source, why);
  }
  w->ain_stream = -1;
  for (unsigned i = 0; i < w->ain->nb_streams; i++)
    if (w->ain_stream < 0 && w->ain->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
      w->ain_stream = (int)i;
  if (w->ain_stream < 0) { /* nothing to copy */
    avformat_close_input(&w->ain);
    return DS_OK;
  }
  AVStream *in = w->ain->streams[w->ain_stream];
  for (unsigned i = 0; i < w->ain->nb_streams; i++)
    if ((int)i != w->ain_stream) w->ain->streams[i]->discard = AVDISCARD_ALL;
  if (avformat_query_codec(w->oc->oformat, in->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1)
    return ds_error_set(err, DS_ERR_INVALID,
                        "audio source %s: its %s audio cannot go into %s without re-encoding; "
                        "write .mkv instead",
                        source, avcodec_get_name(in->codecpar->codec_id), w->path);
  /* Output frame 0 is the source's first video frame, so audio keeps its
   * offset from that frame; without a video stream, from the audio's start. */
  int vi = av_find_best_stream(w->ain, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  int64_t origin = 0;
  if (vi >= 0 && w->ain->streams[vi]->start_time != AV_NOPTS_VALUE)
    origin = av_rescale_q(w->ain->streams[vi]->start_time, w->ain->streams[vi]->time_base,
                          in->time_base);
  else if (in->start_time != AV_NOPTS_VALUE && in->start_time > 0)
    origin = in->start_time;
  w->ain_origin = origin;
  w->ast = avformat_new_stream(w->oc, NULL);
  w->apkt = av_packet_alloc();
  if (!w->ast || !w->apkt)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "video %s: out of memory for audio", w->path);
  ret = avcodec_parameters_copy(w->ast->codecpar, in->codecpar);
  if (ret < 0) return av_fail(w, DS_ERR_NO_MEMORY, ret, "copying audio parameters", err);
  w->ast->codecpar->codec_tag = 0; /* the tag of the source container may not fit */
  w->ast->time_base = in->time_base;
  return DS_OK;
}

/* Copies source audio packets that start before end_s seconds. */
static ds_status copy_audio_until(ds_video_writer *w, double end_s, ds_error *err) {
  if (!w->ast) return DS_OK;
  AVStream *in = w->ain->streams[w->ain_stream];
  while (!w->adone) {
    if (!w->apending) {
      int ret = av_read_frame(w->ain, w->apkt);
      if (ret < 0) { /* the end, or damage: the audio simply stops there */
        w->adone = 1;
        break;
      }
      if (w->apkt->stream_index != w->ain_stream) {
        av_packet_unref(w->apkt);
        continue;
      }
      w->apending = 1;
    }
    int64_t ts = w->apkt->pts != AV_NOPTS_VALUE ? w->apkt->pts : w->apkt->dts;
    if (ts == AV_NOPTS_VALUE) { /* cannot place it; skip */
      av_packet_unref(w->apkt);
      w->apending = 0;
      continue;
    }
    if (ts < w->ain_origin) { /* audio before the first video frame has no place */
      av_packet_unref(w->apkt);
      w->apending = 0;
      continue;
    }
    if ((double)(ts - w->ain_origin) * av_q2d(in->time_base) >= end_s) break;
    if (w->apkt->pts != AV_NOPTS_VALUE) w->apkt->pts -= w->ain_origin;
    if (w->apkt->dts != AV_NOPTS_VALUE) w->apkt->dts -= w->ain_origin;
    av_packet_rescale_ts(w->apkt, in->time_base, w->ast->time_base);
    w->apkt->stream_index = w->ast->index;
    w->apkt->pos = -1;
    w->apending = 0;
    int ret = av_interleaved_write_frame(w->oc, w->apkt);
    if (ret < 0) return av_fail(w, DS_ERR_IO, ret, "writing audio", err);
  }
  return DS_OK;
}

static ds_status drain_encoder(ds_video_writer *w, ds_error *err) {
  for (;;) {
    int ret = avcodec_receive_packet(w->enc, w->pkt);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return DS_OK;
    if (ret < 0) return av_fail(w, DS_ERR_INVALID, ret, "encoding", err);
    av_packet_rescale_ts(w->pkt, w->enc->time_base, w->vst->time_base);
    w->pkt->stream_index = w->vst->index;
    ret = av_interleaved_write_frame(w->oc, w->pkt);
    if (ret < 0) return av_fail(w, DS_ERR_IO, ret, "writing video", err);
  }
}

static void free_writer(ds_video_writer *w) {
  sws_freeContext(w->sws);
  av_free(w->staging);
  av_frame_free(&w->yuv);
  av_packet_free(&w->pkt);
  av_packet_free(&w->apkt);
  avcodec_free_context(&w->enc);
  avformat_close_input(&w->ain);
  if (w->oc) {
    if (w->oc->pb) avio_closep(&w->oc->pb);
    avformat_free_context(w->oc);
  }
  free(w->path);
  free(w);
}

ds_status ds_video_writer_open(const char *path, int width, int height, int fps_num, int fps_den,
                               int crf, const char *audio_source, ds_video_writer **out,
                               ds_error *err) {
  *out = NULL;
  quiet_libav();
  int kind = container_of(path);
  if (!kind)
    return ds_error_set(err, DS_ERR_INVALID,
                        "video %s: unknown output format; name it .mp4 or .mkv", path);
  if (width <= 0 || height <= 0 || width % 2 || height % 2)
    return ds_error_set(err, DS_ERR_INVALID,
                        "video %s: %dx%d frames; H.264 yuv420p needs positive even sizes, crop "
                        "a pixel off",
                        path, width, height);
  if (fps_num <= 0 || fps_den <= 0)
    return ds_error_set(err, DS_ERR_INVALID, "video %s: frame rate %d/%d must be positive", path,
                        fps_num, fps_den);
  if (crf < 0 || crf > 51)
    return ds_error_set(err, DS_ERR_INVALID, "video %s: crf %d is outside 0 to 51", path, crf);
  ds_video_writer *w = calloc(1, sizeof *w);
  if (w) w->path = malloc(strlen(path) + 1);
  if (!w || !w->path) {
    free(w);
    return ds_error_set(err, DS_ERR_NO_MEMORY, "video %s: out of memory", path);
  }
  strcpy(w->path, path);
  w->width = width;
  w->height = height;
  w->fps = av_make_q(fps_num, fps_den);
  w->last_pts = -1;
  w->sws_format = AV_PIX_FMT_NONE;
  ds_status st = DS_OK;
  int ret = avformat_alloc_output_context2(&w->oc, NULL, kind == 1 ? "mp4" : "matroska", path);
  if (ret < 0 || !w->oc) {
    st = av_fail(w, DS_ERR_NO_MEMORY, ret, "setting up the container", err);
    goto fail;
  }
  if ((st = open_encoder(w, crf, err)) != DS_OK) goto fail;
  if (audio_source && (st = open_audio(w, audio_source, err)) != DS_OK) goto fail;
  ret = avio_open(&w->oc->pb, path, AVIO_FLAG_WRITE);
  if (ret < 0) {
    st = av_fail(w, DS_ERR_IO, ret, "creating the file", err);
    goto fail;
  }
  /* Written packets reach the file at once, so a killed process leaves them. */
  w->oc->flags |= AVFMT_FLAG_FLUSH_PACKETS;
  AVDictionary *opts = NULL;
  if (kind == 1) {
    /* Fragmented: the index travels with each ~1 s fragment instead of once
     * at the end, which a killed process never writes. */
    av_dict_set(&opts, "movflags", "empty_moov+delay_moov+default_base_moof", 0);
    av_dict_set(&opts, "frag_duration", "1000000", 0);
  } else {
    /* A cluster reaches the file only when it closes; the default is 5 s. */
    av_dict_set(&opts, "cluster_time_limit", "1000", 0);
  }
  ret = avformat_write_header(w->oc, &opts);
  av_dict_free(&opts);
  if (ret < 0) {
    st = av_fail(w, DS_ERR_IO, ret, "writing the header", err);
    goto fail;
  }
  w->header_written = 1;
  *out = w;
  return DS_OK;
fail:
  free_writer(w);
  return st;
}

const char *ds_video_writer_codec_name(const ds_video_writer *w) { return w->enc->codec->name; }

ds_status ds_video_writer_write(ds_video_writer *w, const ds_image *frame, int64_t pts_index,
                                ds_error *err) {
  if (!frame->data || frame->width != w->width || frame->height != w->height ||
      (frame->channels != 3 && frame->channels != 4))
    return ds_error_set(err, DS_ERR_INVALID,
                        "video %s: frame %lld is %dx%dx%d; the writer takes %dx%d RGB or RGBA",
                        w->path, (long long)pts_index, frame->width, frame->height, frame->channels,
                        w->width, w->height);
  if (pts_index <= w->last_pts)
    return ds_error_set(err, DS_ERR_INVALID,
                        "video %s: frame index %lld after %lld; indices must increase", w->path,
                        (long long)pts_index, (long long)w->last_pts);
  int format = frame->channels == 3 ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_RGBA;
  if (format != w->sws_format) {
    sws_freeContext(w->sws);
    w->sws = sws_getContext(w->width, w->height, format, w->width, w->height, AV_PIX_FMT_YUV420P,
                            SWS_BILINEAR | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!w->sws)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "video %s: cannot set up RGB to YUV", w->path);
    const int *bt709 = sws_getCoefficients(AVCOL_SPC_BT709);
    sws_setColorspaceDetails(w->sws, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16);
    w->sws_format = format;
  }
  int ret = av_frame_make_writable(w->yuv);
  if (ret < 0) return av_fail(w, DS_ERR_NO_MEMORY, ret, "allocating a frame", err);
  size_t bytes = (size_t)w->width * (size_t)w->height * (size_t)frame->channels;
  if (!w->staging) w->staging = av_malloc((size_t)w->width * (size_t)w->height * 4 + 64);
  if (!w->staging)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "video %s: cannot allocate a %zu byte frame",
                        w->path, bytes);
  memcpy(w->staging, frame->data, bytes);
  const uint8_t *src[4] = {w->staging, NULL, NULL, NULL};
  int stride[4] = {w->width * frame->channels, 0, 0, 0};
  sws_scale(w->sws, src, stride, 0, w->height, w->yuv->data, w->yuv->linesize);
  w->yuv->pts = pts_index;
  ret = avcodec_send_frame(w->enc, w->yuv);
  if (ret < 0) return av_fail(w, DS_ERR_INVALID, ret, "encoding", err);
  w->last_pts = pts_index;
  ds_status st = drain_encoder(w, err);
  if (st != DS_OK) return st;
  return copy_audio_until(w, (double)(pts_index + 1) / av_q2d(w->fps), err);
}

ds_status ds_video_writer_close(ds_video_writer *w, ds_error *err) {
  if (!w) return DS_OK;
  ds_status st = DS_OK;
  int ret = avcodec_send_frame(w->enc, NULL);
  if (ret < 0) st = av_fail(w, DS_ERR_INVALID, ret, "flushing the encoder", err);
  if (st == DS_OK) st = drain_encoder(w, err);
  if (st == DS_OK && w->last_pts >= 0)
    st = copy_audio_until(w, (double)(w->last_pts + 1) / av_q2d(w->fps), err);
  if (w->header_written) {
    ret = av_write_trailer(w->oc);
    if (ret < 0 && st == DS_OK) st = av_fail(w, DS_ERR_IO, ret, "writing the trailer", err);
  }
  if (w->oc->pb) {
    ret = avio_closep(&w->oc->pb);
    if (ret < 0 && st == DS_OK) st = av_fail(w, DS_ERR_IO, ret, "closing the file", err);
  }
  free_writer(w);
  return st;
}
