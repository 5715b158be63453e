/* Video reader and writer: round trips through mp4 and mkv, audio copy,
 * rotation, damaged and interrupted files, and optionally a real clip.
 * argv[1]: scratch folder; argv[2]: a sample video, or "-" to skip it. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "engine/media/video.h"
#include "engine/media/video_writer.h"

enum { W = 64, H = 48, FRAMES = 30, BLOCK = 16 };

static char scratch[512];

static const char *scratch_path(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", scratch, name);
  return buf;
}

/* A moving gradient; the top-left block's grey level carries the frame
 * number in steps of 8, which survives crf 18 easily. */
static void synth_frame(ds_image *img, int f) {
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++) {
      uint8_t *p = img->data + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
      if (x < BLOCK && y < BLOCK) {
        p[0] = p[1] = p[2] = (uint8_t)(f * 8);
      } else {
        p[0] = (uint8_t)(x * 3 + f * 4);
        p[1] = (uint8_t)(y * 4);
        p[2] = (uint8_t)(128 + f);
      }
    }
}

/* Mean of the block's middle, from the top-left of an upright frame. */
static int block_number(const ds_image *img, int x0, int y0) {
  int sum = 0, n = 0;
  for (int y = y0 + 4; y < y0 + BLOCK - 4; y++)
    for (int x = x0 + 4; x < x0 + BLOCK - 4; x++, n++)
      sum += img->data[((size_t)y * (size_t)img->width + (size_t)x) * 3 + 1];
  return (int)lround((double)sum / n / 8.0);
}

static ds_status write_clip(const char *path, int frames, const char *audio, ds_error *err) {
  ds_video_writer *w;
  ds_status st = ds_video_writer_open(path, W, H, 30, 1, DS_VIDEO_DEFAULT_CRF, audio, &w, err);
  if (st != DS_OK) return st;
  ds_image img;
  st = ds_image_alloc(&img, W, H, 3, err);
  for (int f = 0; st == DS_OK && f < frames; f++) {
    synth_frame(&img, f);
    st = ds_video_writer_write(w, &img, f, err);
  }
  ds_image_free(&img);
  ds_error close_err = {0};
  ds_status cst = ds_video_writer_close(w, &close_err);
  if (st == DS_OK && cst != DS_OK) *err = close_err, st = cst;
  return st;
}

/* Reads every frame of a 30 fps synthetic clip and checks each against its
 * timestamp. */
typedef struct read_result {
  int frames, in_order, times_increase;
  double first_t, last_t;
  ds_status end;
  char msg[DS_ERROR_MSG_MAX];
} read_result;

static read_result read_all(const char *path, int block_x, int block_y) {
  read_result res = {.in_order = 1, .times_increase = 1, .end = DS_OK};
  ds_error err = {0};
  ds_video_reader *r;
  res.end = ds_video_open(path, &r, &err);
  if (res.end != DS_OK) {
    snprintf(res.msg, sizeof res.msg, "%s", err.msg);
    return res;
  }
  ds_image img = {0};
  int64_t index;
  double t, prev = -1e9;
  ds_status st;
  while ((st = ds_video_read(r, &img, &index, &t, &err)) == DS_OK) {
    /* frames are identified by their timestamp, so a truncated file may skip
     * the B-frames whose packets were cut without failing the order check */
    long expected = lround(t * 30.0);
    if (index != res.frames || block_number(&img, block_x, block_y) % 32 != expected % 32)
      res.in_order = 0;
    if (t <= prev) res.times_increase = 0;
    if (res.frames == 0) res.first_t = t;
    res.last_t = prev = t;
    res.frames++;
  }
  res.end = st;
  snprintf(res.msg, sizeof res.msg, "%s", st == DS_ERR_NOT_FOUND ? "" : err.msg);
  ds_image_free(&img);
  ds_video_close(r);
  return res;
}

static void test_round_trip(const char *name) {
  char path[600];
  ds_error err = {0};
  scratch_path(path, sizeof path, name);
  CHECK_OK(write_clip(path, FRAMES, NULL, &err), &err);
  ds_video_reader *r;
  CHECK_OK(ds_video_open(path, &r, &err), &err);
  if (err.code != DS_OK) return;
  const ds_video_info *in = ds_video_get_info(r);
  CHECK(in->width == W && in->height == H, "%s: %dx%d", name, in->width, in->height);
  CHECK(in->fps_num == 30 * in->fps_den, "%s: fps %d/%d", name, in->fps_num, in->fps_den);
  CHECK(in->rotation == 0 && !in->has_audio, "%s: rotation %d audio %d", name, in->rotation,
        in->has_audio);
  CHECK(!strcmp(in->codec, "h264"), "%s: codec %s", name, in->codec);
  CHECK(fabs(in->duration_s - 1.0) < 0.1, "%s: duration %g", name, in->duration_s);
  ds_video_close(r);
  read_result res = read_all(path, 0, 0);
  CHECK(res.frames == FRAMES, "%s: read %d frames", name, res.frames);
  CHECK(res.end == DS_ERR_NOT_FOUND, "%s: ends with %s: %s", name, ds_status_name(res.end),
        res.msg);
  CHECK(res.in_order, "%s: frames out of order", name);
  CHECK(res.times_increase, "%s: timestamps do not increase", name);
  CHECK(fabs(res.first_t) < 1e-6 && fabs(res.last_t - (FRAMES - 1) / 30.0) < 1e-3,
        "%s: timestamps %g to %g", name, res.first_t, res.last_t);
}

/* A 2 s, 440 Hz AAC file made with libavcodec's own encoder. */
static int write_sine_aac(const char *path) {
  AVFormatContext *oc = NULL;
  const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
  if (!codec || avformat_alloc_output_context2(&oc, NULL, "matroska", path) < 0) return -1;
  AVCodecContext *c = avcodec_alloc_context3(codec);
  AVStream *st = avformat_new_stream(oc, NULL);
  c->sample_rate = 44100;
  c->sample_fmt = AV_SAMPLE_FMT_FLTP;
  c->bit_rate = 96000;
  av_channel_layout_default(&c->ch_layout, 1);
  c->time_base = (AVRational){1, 44100};
  if (oc->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  int ok = avcodec_open2(c, codec, NULL) >= 0 &&
           avcodec_parameters_from_context(st->codecpar, c) >= 0 &&
           avio_open(&oc->pb, path, AVIO_FLAG_WRITE) >= 0;
  st->time_base = c->time_base;
  ok = ok && avformat_write_header(oc, NULL) >= 0;
  AVFrame *fr = av_frame_alloc();
  AVPacket *pkt = av_packet_alloc();
  int64_t t = 0;
  for (int i = 0; ok && i <= 2 * 44100 / c->frame_size + 1; i++) {
    AVFrame *send = NULL;
    if (i * c->frame_size < 2 * 44100) {
      av_frame_unref(fr);
      fr->nb_samples = c->frame_size;
      fr->format = c->sample_fmt;
      fr->sample_rate = c->sample_rate;
      av_channel_layout_copy(&fr->ch_layout, &c->ch_layout);
      ok = av_frame_get_buffer(fr, 0) >= 0;
      float *s = (float *)fr->data[0];
      for (int k = 0; ok && k < c->frame_size; k++, t++)
        s[k] = 0.3f * sinf(2.0f * 3.14159265f * 440.0f * (float)t / 44100.0f);
      fr->pts = t - c->frame_size;
      send = fr;
    }
    ok = ok && avcodec_send_frame(c, send) >= 0;
    while (ok && avcodec_receive_packet(c, pkt) == 0) {
      av_packet_rescale_ts(pkt, c->time_base, st->time_base);
      pkt->stream_index = st->index;
      ok = av_interleaved_write_frame(oc, pkt) >= 0;
    }
  }
  ok = ok && av_write_trailer(oc) >= 0;
  av_packet_free(&pkt);
  av_frame_free(&fr);
  avcodec_free_context(&c);
  avio_closep(&oc->pb);
  avformat_free_context(oc);
  return ok ? 0 : -1;
}

static int first_audio_codec(const char *path, int *count) {
  AVFormatContext *ic = NULL;
  int id = -1;
  *count = 0;
  if (avformat_open_input(&ic, path, NULL, NULL) < 0) return -1;
  avformat_find_stream_info(ic, NULL);
  for (unsigned i = 0; i < ic->nb_streams; i++)
    if (ic->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
      if (id < 0) id = ic->streams[i]->codecpar->codec_id;
      ++*count;
    }
  avformat_close_input(&ic);
  return id;
}

static void test_audio_copy(void) {
  char src[600], mp4[600], mkv[600];
  ds_error err = {0};
  scratch_path(src, sizeof src, "sine.mka");
  CHECK(write_sine_aac(src) == 0, "cannot write %s with libavcodec's aac", src);
  int n;
  CHECK(first_audio_codec(src, &n) == AV_CODEC_ID_AAC, "%s has no aac", src);
  const char *outs[] = {scratch_path(mp4, sizeof mp4, "audio.mp4"),
                        scratch_path(mkv, sizeof mkv, "audio.mkv")};
  for (int i = 0; i < 2; i++) {
    CHECK_OK(write_clip(outs[i], FRAMES, src, &err), &err);
    CHECK(first_audio_codec(outs[i], &n) == AV_CODEC_ID_AAC && n == 1, "%s: no aac stream",
          outs[i]);
    read_result res = read_all(outs[i], 0, 0);
    CHECK(res.frames == FRAMES && res.in_order, "%s: %d frames, in order %d", outs[i], res.frames,
          res.in_order);
    ds_video_reader *r;
    CHECK_OK(ds_video_open(outs[i], &r, &err), &err);
    if (err.code == DS_OK) {
      CHECK(ds_video_get_info(r)->has_audio, "%s: has_audio not set", outs[i]);
      ds_video_close(r);
    }
  }
  CHECK(ds_video_writer_open(mp4, W, H, 30, 1, 18, "/nonexistent/a.mka", &(ds_video_writer *){0},
                             &err) == DS_ERR_NOT_FOUND,
        "missing audio source gives %s", ds_status_name(err.code));
  CHECK_CONTAINS(err.msg, "/nonexistent/a.mka");
}

/* Stream-copies src into an mp4 whose video track says "rotate 90 clockwise". */
static int remux_rotated(const char *src, const char *dst) {
  AVFormatContext *ic = NULL, *oc = NULL;
  if (avformat_open_input(&ic, src, NULL, NULL) < 0) return -1;
  int ok = avformat_find_stream_info(ic, NULL) >= 0 &&
           avformat_alloc_output_context2(&oc, NULL, "mp4", dst) >= 0;
  AVStream *os = ok ? avformat_new_stream(oc, NULL) : NULL;
  ok = os && avcodec_parameters_copy(os->codecpar, ic->streams[0]->codecpar) >= 0;
  if (ok) {
    os->codecpar->codec_tag = 0;
    os->time_base = ic->streams[0]->time_base;
    int32_t *m = (int32_t *)av_stream_new_side_data(os, AV_PKT_DATA_DISPLAYMATRIX, 9 * 4);
    ok = m != NULL;
    /* FFmpeg 5.1's setter takes the clockwise angle; the getter gives the
     * counter-clockwise one, -90 here, as in portrait phone clips. */
    if (ok) av_display_rotation_set(m, 90);
  }
  ok = ok && avio_open(&oc->pb, dst, AVIO_FLAG_WRITE) >= 0 && avformat_write_header(oc, NULL) >= 0;
  AVPacket *pkt = av_packet_alloc();
  while (ok && av_read_frame(ic, pkt) >= 0) {
    av_packet_rescale_ts(pkt, ic->streams[0]->time_base, os->time_base);
    pkt->stream_index = 0;
    pkt->pos = -1;
    ok = av_interleaved_write_frame(oc, pkt) >= 0;
  }
  ok = ok && av_write_trailer(oc) >= 0;
  av_packet_free(&pkt);
  if (oc) {
    avio_closep(&oc->pb);
    avformat_free_context(oc);
  }
  avformat_close_input(&ic);
  return ok ? 0 : -1;
}

static void test_rotation(void) {
  /* 3x2 RGB with pixel i = i: clockwise 90 gives 2x3 rows (3 0)(4 1)(5 2) */
  uint8_t src[18], dst[18];
  for (int i = 0; i < 18; i++)
    src[i] = (uint8_t)(i / 3);
  ds_image_rotate_rgb(src, 3, 2, 90, dst);
  const uint8_t want90[6] = {3, 0, 4, 1, 5, 2}, want270[6] = {2, 5, 1, 4, 0, 3};
  int ok = 1;
  for (int i = 0; i < 6; i++)
    ok &= dst[i * 3] == want90[i];
  CHECK(ok, "rotate 90 wrong");
  ds_image_rotate_rgb(src, 3, 2, 270, dst);
  ok = 1;
  for (int i = 0; i < 6; i++)
    ok &= dst[i * 3] == want270[i];
  CHECK(ok, "rotate 270 wrong");

  char plain[600], rotated[600];
  ds_error err = {0};
  scratch_path(plain, sizeof plain, "round.mkv");
  scratch_path(rotated, sizeof rotated, "rotated.mp4");
  CHECK(remux_rotated(plain, rotated) == 0, "cannot remux %s", rotated);
  ds_video_reader *r;
  CHECK_OK(ds_video_open(rotated, &r, &err), &err);
  if (err.code != DS_OK) return;
  const ds_video_info *in = ds_video_get_info(r);
  CHECK(in->rotation == 90 && in->width == H && in->height == W, "rotation %d, %dx%d", in->rotation,
        in->width, in->height);
  ds_video_close(r);
  /* the coded top-left block lands top-right after a clockwise turn */
  read_result res = read_all(rotated, H - BLOCK, 0);
  CHECK(res.frames == FRAMES && res.in_order, "rotated: %d frames, in order %d", res.frames,
        res.in_order);
}

static int copy_prefix(const char *src, const char *dst, double fraction) {
  FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
  int ok = in && out;
  if (ok) {
    fseek(in, 0, SEEK_END);
    long keep = (long)((double)ftell(in) * fraction);
    fseek(in, 0, SEEK_SET);
    char buf[4096];
    while (ok && keep > 0) {
      size_t n = fread(buf, 1, keep < (long)sizeof buf ? (size_t)keep : sizeof buf, in);
      ok = n > 0 && fwrite(buf, 1, n, out) == n;
      keep -= (long)n;
    }
  }
  if (in) fclose(in);
  if (out && fclose(out)) ok = 0;
  return ok ? 0 : -1;
}

static void test_damaged(void) {
  char src[600], cut[600], long_clip[600];
  ds_error err = {0};
  /* a 90-frame clip, so fragmented mp4 has several fragments to keep */
  const char *names[] = {"long.mkv", "long.mp4"};
  for (int i = 0; i < 2; i++) {
    scratch_path(long_clip, sizeof long_clip, names[i]);
    CHECK_OK(write_clip(long_clip, 90, NULL, &err), &err);
    snprintf(src, sizeof src, "%s", long_clip);
    snprintf(cut, sizeof cut, "%s/cut-%s", scratch, names[i]);
    CHECK(copy_prefix(src, cut, 0.6) == 0, "cannot cut %s", src);
    read_result res = read_all(cut, 0, 0);
    CHECK(res.frames > 10 && res.frames < 90 && res.in_order,
          "%s: %d frames before the cut, in order %d", cut, res.frames, res.in_order);
    CHECK(res.end == DS_ERR_NOT_FOUND || res.end == DS_ERR_CORRUPT, "%s: ends with %s: %s", cut,
          ds_status_name(res.end), res.msg);
    if (res.end == DS_ERR_CORRUPT) {
      CHECK_CONTAINS(res.msg, cut);
      CHECK_CONTAINS(res.msg, "frame");
    }
  }
  /* 200 bytes of garbage in the middle: whatever the demuxer skips must not
   * pass silently when it is a whole cluster or fragment */
  for (int i = 0; i < 2; i++) {
    scratch_path(long_clip, sizeof long_clip, names[i]);
    snprintf(cut, sizeof cut, "%s/mid-%s", scratch, names[i]);
    CHECK(copy_prefix(long_clip, cut, 1.0) == 0, "cannot copy %s", long_clip);
    FILE *f = fopen(cut, "r+b");
    if (f) {
      fseek(f, 0, SEEK_END);
      fseek(f, ftell(f) / 2, SEEK_SET);
      for (int k = 0; k < 200; k++)
        fputc((k * 37) & 255, f);
      fclose(f);
    }
    read_result res = read_all(cut, 0, 0);
    /* The encoder's threads make the bytes differ from run to run, so the
     * garbage lands anywhere in the fragment there: in a box FFmpeg's mp4
     * demuxer parses while opening (a trun's entry count), it refuses the
     * file, and the open must say so, naming it; elsewhere the frames before
     * the damage decode and a failure names its frame. */
    const int refused = res.frames == 0 && res.end == DS_ERR_CORRUPT && i == 1;
    CHECK(res.frames > 10 || refused, "%s: %d frames (%s)", cut, res.frames, res.msg);
    CHECK(res.end == DS_ERR_NOT_FOUND || res.end == DS_ERR_CORRUPT, "%s: ends with %s: %s", cut,
          ds_status_name(res.end), res.msg);
    if (res.end == DS_ERR_CORRUPT) {
      CHECK_CONTAINS(res.msg, cut);
      CHECK_CONTAINS(res.msg, refused ? "damaged or truncated" : "frame");
    }
  }
  /* an mp4 cut before its first fragment */
  snprintf(cut, sizeof cut, "%s/cut-head.mp4", scratch);
  CHECK(copy_prefix(long_clip, cut, 0.002) == 0, "cannot cut %s", long_clip);
  ds_video_reader *r = NULL;
  ds_status st = ds_video_open(cut, &r, &err);
  if (st == DS_OK) {
    ds_image img = {0};
    st = ds_video_read(r, &img, NULL, NULL, &err);
    ds_image_free(&img);
    ds_video_close(r);
  }
  CHECK(st == DS_ERR_CORRUPT || st == DS_ERR_INVALID || st == DS_ERR_NOT_FOUND,
        "head-only mp4 gives %s", ds_status_name(st));
  if (st != DS_ERR_NOT_FOUND) CHECK_CONTAINS(err.msg, cut);
}

static void test_bad_inputs(void) {
  char path[600];
  ds_error err = {0};
  ds_video_reader *r = NULL;
  scratch_path(path, sizeof path, "missing.mp4");
  CHECK(ds_video_open(path, &r, &err) == DS_ERR_NOT_FOUND && !r, "missing: %s",
        ds_status_name(err.code));
  CHECK_CONTAINS(err.msg, path);
  scratch_path(path, sizeof path, "text.mp4");
  FILE *f = fopen(path, "w");
  if (f) {
    for (int i = 0; i < 50; i++)
      fprintf(f, "this is a text file, line %d, not a video\n", i);
    fclose(f);
  }
  CHECK(ds_video_open(path, &r, &err) == DS_ERR_INVALID && !r, "text: %s: %s",
        ds_status_name(err.code), err.msg);
  CHECK_CONTAINS(err.msg, path);
  ds_video_writer *w = NULL;
  CHECK(ds_video_writer_open(path, 63, 48, 30, 1, 18, NULL, &w, &err) == DS_ERR_INVALID && !w,
        "odd width accepted");
  scratch_path(path, sizeof path, "x.avi");
  CHECK(ds_video_writer_open(path, 64, 48, 30, 1, 18, NULL, &w, &err) == DS_ERR_INVALID && !w,
        "avi accepted");
}

/* A child writes frames, then is SIGKILLed without closing: the file must
 * still read up to about the last fragment or cluster. */
static void test_killed_writer(const char *name) {
  char path[600];
  scratch_path(path, sizeof path, name);
  int fds[2];
  if (pipe(fds)) {
    CHECK(0, "pipe failed");
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    ds_error err = {0};
    ds_video_writer *w;
    ds_image img;
    if (ds_video_writer_open(path, W, H, 30, 1, 18, NULL, &w, &err) != DS_OK ||
        ds_image_alloc(&img, W, H, 3, &err) != DS_OK)
      _exit(3);
    for (int f = 0; f < 150; f++) {
      synth_frame(&img, f % 32);
      if (ds_video_writer_write(w, &img, f, &err) != DS_OK) _exit(4);
    }
    char done = 1;
    if (write(fds[1], &done, 1) != 1) _exit(5);
    for (;;)
      pause();
  }
  close(fds[1]);
  char done = 0;
  ssize_t n = read(fds[0], &done, 1);
  close(fds[0]);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(n == 1 && WIFSIGNALED(status), "%s: child did not write (status %d)", name, status);
  read_result res = read_all(path, 0, 0);
  /* 150 written; x264 holds up to ~50 and the open fragment/cluster ~30 */
  CHECK(res.frames >= 60, "%s: only %d of 150 frames readable after SIGKILL (%s: %s)", name,
        res.frames, ds_status_name(res.end), res.msg);
  printf("%s: %d of 150 frames readable after SIGKILL\n", name, res.frames);
}

static void test_sample(const char *path) {
  ds_error err = {0};
  ds_video_reader *r;
  CHECK_OK(ds_video_open(path, &r, &err), &err);
  if (err.code != DS_OK) return;
  ds_video_info in = *ds_video_get_info(r);
  ds_image img = {0};
  int64_t frames = 0, index;
  double t, prev = -1e9;
  int increasing = 1;
  ds_status st;
  while ((st = ds_video_read(r, &img, &index, &t, &err)) == DS_OK) {
    increasing &= t > prev && index == frames;
    prev = t;
    frames++;
  }
  CHECK(st == DS_ERR_NOT_FOUND, "%s ends with %s: %s", path, ds_status_name(st), err.msg);
  CHECK(img.width == in.width && img.height == in.height, "%s: frames %dx%d, info %dx%d", path,
        img.width, img.height, in.width, in.height);
  CHECK(increasing, "%s: indices or timestamps do not increase", path);
  if (in.frame_count > 0)
    CHECK(frames == in.frame_count, "%s: read %lld of %lld frames", path, (long long)frames,
          (long long)in.frame_count);
  double fps = (double)in.fps_num / in.fps_den;
  CHECK(fabs(in.duration_s * fps - (double)frames) <= 1.5, "%s: %lld frames in %g s at %g fps",
        path, (long long)frames, in.duration_s, fps);
  printf("%s: %dx%d %s %d/%d fps, %lld frames, rotation %d, audio %d\n", path, in.width, in.height,
         in.codec, in.fps_num, in.fps_den, (long long)frames, in.rotation, in.has_audio);
  ds_image_free(&img);
  ds_video_close(r);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_video SCRATCH_DIR SAMPLE_VIDEO|-\n");
    return 2;
  }
  snprintf(scratch, sizeof scratch, "%s", argv[1]);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", scratch);
  if (system(cmd) != 0) return 2;
  test_round_trip("round.mp4");
  test_round_trip("round.mkv");
  test_audio_copy();
  test_rotation();
  test_damaged();
  test_bad_inputs();
  test_killed_writer("killed.mp4");
  test_killed_writer("killed.mkv");
  if (strcmp(argv[2], "-") != 0) test_sample(argv[2]);
  return check_summary("video");
}
