/* synth_clip: a synthetic video of one identity whose mouth opens and
 * closes, with the alignments file `dsengine extract` would have written for
 * it, for end-to-end tests of `dsengine convert`. The HOG detector does not
 * find these cartoon faces, so the alignments come from the true landmarks.
 *
 *   synth_clip --identity I --frames N --width W --height H --out CLIP --alignments FILE
 *              [--face-size F] [--fps R] [--audio SRC] [--seed K] [--truth CSV]
 *
 * Frame t shows the face on the plain synthetic background, as large as a
 * synth_faces --size F face (default F = 2 H / 3), its centre drifting
 * around the frame's centre (up to 12 % of W and 6 % of H), rolling by up to
 * 4 degrees and growing and shrinking by 3 %. mouth_open(t) is a sum of three
 * sines (periods 13.7, 23 and 37 frames; phases from K, as are the drift's)
 * stretched so that the clip's least and most open frames are 0 and 1.
 *
 * CLIP is H.264 (ds_video_writer; .mp4, .m4v, .mov or .mkv) at R frames per
 * second (default 30) with the first audio stream of SRC copied in. FILE
 * holds one video source whose path is CLIP exactly as given, with one face
 * per frame: the true landmarks (pixel centres at integers, as dlib's), their
 * bounding box, score 1, matrix ds_align_matrix(landmarks, 256, 48) and file
 * "". CSV receives "frame,mouth_open" and then one such line per frame.
 * Exit status: 0 done, 1 a file could not be written, 2 bad arguments. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/detect/align.h"
#include "engine/detect/alignments.h"
#include "engine/media/video_writer.h"
#include "synth/synth_align.h"
#include "synth/synth_face.h"
#include "synth/synth_tool.h"

enum { MAX_FRAMES = 100000, MIN_SIDE = 64, MAX_SIDE = 4096, PHASES = 7 };

static const double two_pi = 6.283185307179586;

static const char usage[] =
    "usage: synth_clip --identity I --frames N --width W --height H --out CLIP --alignments FILE\n"
    "                  [--face-size F] [--fps R] [--audio SRC] [--seed K] [--truth CSV]\n"
    "  --identity I    which face, 0 to %d\n"
    "  --frames N      frame count, 1 to %d\n"
    "  --width W       frame width, even, %d to %d\n"
    "  --height H      frame height, even, %d to %d\n"
    "  --out CLIP      the video to write (.mp4, .m4v, .mov or .mkv)\n"
    "  --alignments F  the alignments file to write (the face of every frame)\n"
    "  --face-size F   face size in pixels, as synth_faces --size F (default 2 H / 3)\n"
    "  --fps R         frames per second, 1 to 240 (default 30)\n"
    "  --audio SRC     copy the first audio stream of SRC into the clip\n"
    "  --seed K        seed of the motion and mouth phases (default 1)\n"
    "  --truth CSV     write frame,mouth_open per frame\n";

static int bad_usage(const char *fmt, const char *what) {
  fprintf(stderr, "synth_clip: error: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\n");
  fprintf(stderr, usage, DS_SYNTH_IDENTITIES - 1, MAX_FRAMES, MIN_SIDE, MAX_SIDE, MIN_SIDE,
          MAX_SIDE);
  return 2;
}

typedef struct clip_opts {
  long identity, frames, width, height, face_size, fps;
  uint64_t seed;
  const char *out, *alignments, *audio, *truth;
} clip_opts;

/* The frame is a window of a square canvas of side max(W, H), centred, so
 * the face can be drawn by ds_synth_face_render at any position. */
typedef struct scene {
  int canvas, ox, oy; /* frame pixel (x, y) is canvas pixel (x + ox, y + oy) */
  double phase[PHASES];
  float *mouth; /* [frames] */
} scene;

/* SplitMix64 (Steele, Lea and Flood 2014): phases that depend on every seed bit. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Three incommensurate periods make open-close cycles of varying depth and
 * length, like speech rather than a metronome. */
static void mouth_sequence(scene *sc, long frames) {
  float lo = INFINITY, hi = -INFINITY;
  for (long t = 0; t < frames; t++) {
    double v = sin(two_pi * t / 13.7 + sc->phase[0]) + 0.8 * sin(two_pi * t / 23.0 + sc->phase[1]) +
               0.5 * sin(two_pi * t / 37.0 + sc->phase[2]);
    sc->mouth[t] = (float)v;
    lo = fminf(lo, sc->mouth[t]);
    hi = fmaxf(hi, sc->mouth[t]);
  }
  for (long t = 0; t < frames; t++)
    sc->mouth[t] = hi > lo ? (sc->mouth[t] - lo) / (hi - lo) : 0.5f;
}

static void frame_params(const clip_opts *o, const scene *sc, long t, ds_synth_params *p) {
  const double *ph = sc->phase + 3;
  ds_synth_params_default((int)o->identity, sc->mouth[t], p);
  p->rotation_deg = (float)(4.0 * sin(two_pi * t / 113.0 + ph[0]));
  p->scale =
      (float)((double)o->face_size / sc->canvas * (1.0 + 0.03 * sin(two_pi * t / 71.0 + ph[1])));
  double cx = 0.5 * o->width + 0.12 * o->width * sin(two_pi * t / 97.0 + ph[2]);
  double cy = 0.5 * o->height + 0.06 * o->height * sin(two_pi * t / 131.0 + ph[3]);
  p->shift_x = (float)((cx + sc->ox) / sc->canvas - 0.5);
  p->shift_y = (float)((cy + sc->oy) / sc->canvas - 0.5);
}

static void face_record(const scene *sc, const ds_synth_params *p, ds_face_record *f) {
  memset(f, 0, sizeof *f);
  ds_synth_face_landmarks(p, sc->canvas, f->landmarks);
  ds_synth_landmarks_to_pixel_centres(f->landmarks);
  f->box[0] = f->box[1] = INFINITY;
  f->box[2] = f->box[3] = -INFINITY;
  for (int k = 0; k < 68; k++) {
    f->landmarks[k][0] -= (float)sc->ox;
    f->landmarks[k][1] -= (float)sc->oy;
    f->box[0] = fminf(f->box[0], f->landmarks[k][0]);
    f->box[1] = fminf(f->box[1], f->landmarks[k][1]);
    f->box[2] = fmaxf(f->box[2], f->landmarks[k][0]);
    f->box[3] = fmaxf(f->box[3], f->landmarks[k][1]);
  }
  f->score = 1.0;
  ds_align_matrix(f->landmarks, DS_ALIGN_SIZE, DS_ALIGN_PADDING, f->matrix);
}

static ds_status write_truth(const char *path, const scene *sc, long frames, ds_error *err) {
  FILE *f = fopen(path, "w");
  if (!f)
    return ds_error_set(err, DS_ERR_IO, "cannot write %s: %s; choose a writable path", path,
                        strerror(errno));
  fprintf(f, "frame,mouth_open\n");
  for (long t = 0; t < frames; t++)
    fprintf(f, "%ld,%.6f\n", t, sc->mouth[t]);
  int bad = ferror(f);
  if (fclose(f) != 0 || bad)
    return ds_error_set(err, DS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
  return DS_OK;
}

/* Renders and encodes every frame and records its face in src. */
static ds_status write_clip(const clip_opts *o, const scene *sc, ds_source_record *src,
                            const char **codec, ds_error *err) {
  ds_video_writer *w = NULL;
  ds_image frame = {0};
  uint8_t *canvas = malloc((size_t)sc->canvas * sc->canvas * 3);
  ds_status st = canvas ? DS_OK : ds_error_set(err, DS_ERR_NO_MEMORY, "out of memory");
  if (st == DS_OK) st = ds_image_alloc(&frame, (int)o->width, (int)o->height, 3, err);
  if (st == DS_OK)
    st = ds_video_writer_open(o->out, (int)o->width, (int)o->height, (int)o->fps, 1,
                              DS_VIDEO_DEFAULT_CRF, o->audio, &w, err);
  if (st == DS_OK) *codec = ds_video_writer_codec_name(w);
  for (long t = 0; t < o->frames && st == DS_OK; t++) {
    ds_synth_params p;
    frame_params(o, sc, t, &p);
    ds_synth_face_render(&p, sc->canvas, canvas);
    size_t row = (size_t)o->width * 3;
    for (long y = 0; y < o->height; y++)
      memcpy(frame.data + y * row, canvas + (((size_t)(y + sc->oy) * sc->canvas) + sc->ox) * 3,
             row);
    st = ds_video_writer_write(w, &frame, t, err);
    ds_face_record face;
    face_record(sc, &p, &face);
    if (st == DS_OK) st = ds_alignments_add_frame(src, t, (double)t / o->fps, &face, 1, err);
  }
  ds_error close_err = {0};
  ds_status cst = ds_video_writer_close(w, &close_err);
  if (st == DS_OK && cst != DS_OK) {
    *err = close_err;
    st = cst;
  }
  ds_image_free(&frame);
  free(canvas);
  return st;
}

static int parse_args(int argc, char **argv, clip_opts *o) {
  static const char *const names[] = {"--identity",   "--frames", "--width", "--height",
                                      "--face-size",  "--fps",    "--seed",  "--out",
                                      "--alignments", "--audio",  "--truth", NULL};
  *o = (clip_opts){.identity = -1, .frames = -1, .width = -1, .height = -1, .fps = 30, .seed = 1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      printf(usage, DS_SYNTH_IDENTITIES - 1, MAX_FRAMES, MIN_SIDE, MAX_SIDE, MIN_SIDE, MAX_SIDE);
      return 0;
    }
    int known = 0;
    for (int k = 0; names[k]; k++)
      known |= !strcmp(a, names[k]);
    if (!known) return bad_usage("unknown argument %s", a);
    if (i + 1 >= argc) return bad_usage("%s needs a value", a);
    const char *v = argv[++i];
    int bad = 0;
    if (!strcmp(a, "--identity"))
      bad = synth_parse_int(v, 0, DS_SYNTH_IDENTITIES - 1, &o->identity);
    else if (!strcmp(a, "--frames"))
      bad = synth_parse_int(v, 1, MAX_FRAMES, &o->frames);
    else if (!strcmp(a, "--width"))
      bad = synth_parse_int(v, MIN_SIDE, MAX_SIDE, &o->width) || o->width % 2;
    else if (!strcmp(a, "--height"))
      bad = synth_parse_int(v, MIN_SIDE, MAX_SIDE, &o->height) || o->height % 2;
    else if (!strcmp(a, "--face-size"))
      bad = synth_parse_int(v, 16, MAX_SIDE, &o->face_size);
    else if (!strcmp(a, "--fps"))
      bad = synth_parse_int(v, 1, 240, &o->fps);
    else if (!strcmp(a, "--seed"))
      bad = synth_parse_u64(v, &o->seed);
    else if (!strcmp(a, "--out"))
      o->out = v;
    else if (!strcmp(a, "--alignments"))
      o->alignments = v;
    else if (!strcmp(a, "--audio"))
      o->audio = v;
    else
      o->truth = v;
    if (bad) {
      char what[300];
      snprintf(what, sizeof what, "%s %.200s is out of range, odd or not a number", a, v);
      return bad_usage("%s", what);
    }
  }
  if (o->identity < 0) return bad_usage("%s", "--identity is required");
  if (o->frames < 0) return bad_usage("%s", "--frames is required");
  if (o->width < 0 || o->height < 0) return bad_usage("%s", "--width and --height are required");
  if (!o->out) return bad_usage("%s", "--out is required");
  if (!o->alignments) return bad_usage("%s", "--alignments is required");
  if (o->face_size <= 0) o->face_size = 2 * o->height / 3;
  if (o->face_size > o->height)
    return bad_usage("%s", "--face-size is larger than the frame's height");
  return -1;
}

int main(int argc, char **argv) {
  clip_opts o;
  int rc = parse_args(argc, argv, &o);
  if (rc >= 0) return rc;

  scene sc = {0};
  sc.canvas = (int)(o.width > o.height ? o.width : o.height);
  sc.ox = (sc.canvas - (int)o.width) / 2;
  sc.oy = (sc.canvas - (int)o.height) / 2;
  uint64_t state = o.seed;
  for (int k = 0; k < PHASES; k++)
    sc.phase[k] = two_pi * (double)(splitmix64(&state) >> 11) * 0x1.0p-53;
  sc.mouth = malloc((size_t)o.frames * sizeof *sc.mouth);
  if (!sc.mouth) {
    fprintf(stderr, "synth_clip: error: out of memory\n");
    return 1;
  }
  mouth_sequence(&sc, o.frames);

  ds_error err = {0};
  ds_alignments al;
  ds_alignments_init(&al, DS_ALIGN_SIZE, DS_ALIGN_PADDING);
  ds_source_record *src = ds_alignments_source(&al, o.out, 1);
  const char *codec = "";
  ds_status st = src ? DS_OK : ds_error_set(&err, DS_ERR_NO_MEMORY, "out of memory");
  if (st == DS_OK) {
    src->is_video = 1;
    src->width = (int)o.width;
    src->height = (int)o.height;
    src->frame_count = o.frames;
    st = write_clip(&o, &sc, src, &codec, &err);
  }
  if (st == DS_OK) st = ds_alignments_save(o.alignments, &al, &err);
  if (st == DS_OK && o.truth) st = write_truth(o.truth, &sc, o.frames, &err);
  ds_alignments_free(&al);
  free(sc.mouth);
  if (st != DS_OK) {
    fprintf(stderr, "synth_clip: error: %s\n", err.msg);
    return st == DS_ERR_INVALID || st == DS_ERR_NOT_FOUND ? 2 : 1;
  }
  printf("synth_clip: wrote %ld frames of identity %ld (%ldx%ld, face %ld px, %ld fps, %s, %s%s, "
         "seed %" PRIu64 ") to %s; alignments to %s%s%s\n",
         o.frames, o.identity, o.width, o.height, o.face_size, o.fps, codec,
         o.audio ? "audio from " : "no audio", o.audio ? o.audio : "", o.seed, o.out, o.alignments,
         o.truth ? "; truth to " : "", o.truth ? o.truth : "");
  return 0;
}
