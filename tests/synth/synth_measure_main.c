/* synth_measure: what a synthetic clip (synth_clip) or a conversion of it
 * shows, frame by frame: whose face, and how open its mouth is.
 *
 *   synth_measure --video V --alignments FILE [--truth CSV] [--save-faces DIR] [--verbose]
 *                 [--expect-identity I] [--min-fraction F] [--min-corr X] [--expect-audio]
 *
 * Every decoded frame of V is warped to the aligned 256 px face with its
 * face's matrix from FILE (the source whose path is V, else the file's only
 * source), as convert cuts the face out, and measured there:
 *  - mouth: ds_synth_mouth_opening of the aligned face;
 *  - identity: the face is compared with eleven aligned renders of each
 *    identity (ds_synth_face_render_aligned, mouth_open 0, 0.1 .. 1) at 32 x 32
 *    (means of 8 x 8 pixels: no finer than what the 64 px tiny model keeps),
 *    over a window on the brows, eyes, nose and cheeks (x 0.25..0.75, y
 *    0.22..0.59 of the aligned face; the mouth starts below 0.64 at any
 *    opening). Each channel loses its least-squares plane a + b x + c y, and
 *    shape_i is the best normalised cross-correlation of what remains with a
 *    render of identity i. A colour correction or a Poisson blend shifts or
 *    tilts the colours and a small model blurs and flattens the features;
 *    none of that moves the features themselves (eyes, brows, blush, nose,
 *    beard line), which is what the correlation sees, and a featureless face
 *    correlates with neither. A face is closer to identity 1 when shape1
 *    exceeds shape0 by shape_margin (0.05), to identity 0 in the opposite
 *    case. Sharp faces of either identity are 0.3 apart, faces blurred to
 *    16 px cells still 0.1; closer than 0.05 the features are too faint to
 *    judge (a model that has learnt only colours and a mouth blob), and the
 *    colours decide: c_i, the least mean squared difference to a render of
 *    identity i over the same cells without the planes removed.
 *    colour_score = c0 / (c0 + c1) is 0 on identity 0's colours and 1 on
 *    identity 1's;
 *  - truth: mouth_open from CSV ("frame,mouth_open" lines, as synth_clip
 *    --truth writes), else from FILE's landmarks: the inner lip gap (62 to 66)
 *    over the eye-corner distance (36 to 45), which grows linearly with the
 *    drawn mouth_open.
 * Prints one line about the video (frames=N audio=0|1 ...), one about
 * identity (closer_to_0, closer_to_1: face counts, and how many of them the
 * colours decided; mean shape0, shape1 and colour_score) and one about the mouth
 * (corr=Pearson(truth, mouth)); --verbose adds a line per frame and --save-faces DIR writes the
 * aligned faces as DIR/face_%04d.png.
 *
 * Checks, each failing with one "synth_measure: FAILED: ..." line: the frames
 * decoded must be the frames FILE lists, at its size (always checked: the
 * measures would pair the wrong frames otherwise); --expect-identity I: at
 * least the fraction F (default 1) of the faces closer to identity I (with
 * --by-shape: of the faces the features decide, which must be at least a
 * quarter of them: a conversion's colour matching gives every face the
 * frame's colours, so the colours cannot tell its identity);
 * --min-corr X: corr >= X; --expect-audio: V has an audio stream.
 * Exit status: 0 every check passed, 1 a check failed, 2 bad arguments or
 * unreadable input. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/detect/align.h"
#include "engine/detect/alignments.h"
#include "engine/media/png.h"
#include "engine/media/video.h"
#include "synth/synth_align.h"
#include "synth/synth_face.h"
#include "synth/synth_tool.h"

enum {
  S = DS_ALIGN_SIZE,
  REF_LEVELS = 11,
  PATH_LEN = 4096,
  CELL = 8,       /* pixels per side of the cells identity is judged on */
  LOW = S / CELL, /* cells per side */
  WIN_X0 = 8,     /* the identity window, in cells: x 0.25..0.75 */
  WIN_X1 = 24,
  WIN_Y0 = 7, /* y 0.22..0.59 */
  WIN_Y1 = 19,
  WIN_CELLS = (WIN_X1 - WIN_X0) * (WIN_Y1 - WIN_Y0),
};

/* The least difference of the shape correlations that decides identity. */
static const double shape_margin = 0.05;

/* An aligned face as LOW x LOW cell means, RGB. */
typedef struct low_face {
  float v[LOW][LOW][3];
} low_face;

static const char usage[] =
    "usage: synth_measure --video V --alignments FILE [--truth CSV] [--save-faces DIR]\n"
    "                     [--verbose] [--expect-identity I] [--min-fraction F]\n"
    "                     [--by-shape] [--min-corr X] [--expect-audio]\n"
    "  --video V            the clip to measure (synth_clip's or a conversion of it)\n"
    "  --alignments FILE    the faces of V's frames (synth_clip --alignments)\n"
    "  --truth CSV          frame,mouth_open lines (synth_clip --truth); default: from\n"
    "                       the landmarks in FILE\n"
    "  --save-faces DIR     write the aligned faces to DIR/face_%%04d.png\n"
    "  --verbose            one line per frame\n"
    "  --expect-identity I  fail unless a fraction F of the faces is closer to identity I\n"
    "  --min-fraction F     0 to 1 (default 1: every face)\n"
    "  --by-shape           count only the faces the features decide, and want a quarter\n"
    "                       of the faces among them (for conversions with colour matching)\n"
    "  --min-corr X         fail unless Pearson(truth, measured mouth) >= X\n"
    "  --expect-audio       fail unless V has an audio stream\n";

static int bad_usage(const char *fmt, const char *what) {
  fprintf(stderr, "synth_measure: error: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\n%s", usage);
  return 2;
}

typedef struct measure_opts {
  const char *video, *alignments, *truth, *save_faces;
  int verbose, expect_audio, by_shape;
  long expect_identity;          /* -1: none */
  double min_fraction, min_corr; /* min_corr NAN: none */
} measure_opts;

static void low_face_make(const uint8_t *rgb, low_face *out) {
  memset(out, 0, sizeof *out);
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++)
      for (int c = 0; c < 3; c++)
        out->v[y / CELL][x / CELL][c] += rgb[((size_t)y * S + x) * 3 + c];
  for (int j = 0; j < LOW; j++)
    for (int i = 0; i < LOW; i++)
      for (int c = 0; c < 3; c++)
        out->v[j][i][c] /= CELL * CELL;
}

/* The window's cells of one channel, less their least-squares plane
 * a + b x + c y. On a rectangle of cells 1, x - mean x and y - mean y are
 * orthogonal, so the plane's coefficients are three separate projections. */
static void window_residual(const low_face *f, double v[WIN_CELLS * 3]) {
  const double mx = 0.5 * (WIN_X0 + WIN_X1 - 1), my = 0.5 * (WIN_Y0 + WIN_Y1 - 1);
  for (int c = 0; c < 3; c++) {
    double s = 0, sx = 0, sy = 0, xx = 0, yy = 0;
    for (int y = WIN_Y0; y < WIN_Y1; y++)
      for (int x = WIN_X0; x < WIN_X1; x++) {
        double d = f->v[y][x][c];
        s += d;
        sx += d * (x - mx);
        sy += d * (y - my);
        xx += (x - mx) * (x - mx);
        yy += (y - my) * (y - my);
      }
    for (int y = WIN_Y0, k = 0; y < WIN_Y1; y++)
      for (int x = WIN_X0; x < WIN_X1; x++, k++)
        v[k * 3 + c] = f->v[y][x][c] - s / WIN_CELLS - sx / xx * (x - mx) - sy / yy * (y - my);
  }
}

/* Normalised cross-correlation; 0 when either side is flat. */
static double ncc(const double *a, const double *b, int n) {
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < n; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

static double window_mse(const low_face *a, const low_face *b) {
  double sum = 0;
  for (int y = WIN_Y0; y < WIN_Y1; y++)
    for (int x = WIN_X0; x < WIN_X1; x++)
      for (int c = 0; c < 3; c++) {
        double d = (double)a->v[y][x][c] - b->v[y][x][c];
        sum += d * d;
      }
  return sum / (WIN_CELLS * 3);
}

typedef struct reference {
  low_face low;
  double residual[WIN_CELLS * 3];
} reference;

/* shape[i]: the best correlation with a reference of identity i; colour[i]:
 * the least mean squared difference to one. */
static void compare_identities(const low_face *face, const reference *refs,
                               double shape[DS_SYNTH_IDENTITIES],
                               double colour[DS_SYNTH_IDENTITIES]) {
  double v[WIN_CELLS * 3];
  window_residual(face, v);
  for (int id = 0; id < DS_SYNTH_IDENTITIES; id++) {
    shape[id] = -1;
    colour[id] = INFINITY;
    for (int k = 0; k < REF_LEVELS; k++) {
      const reference *r = &refs[id * REF_LEVELS + k];
      shape[id] = fmax(shape[id], ncc(v, r->residual, WIN_CELLS * 3));
      colour[id] = fmin(colour[id], window_mse(face, &r->low));
    }
  }
}

static double landmark_mouth(const ds_face_record *f) {
  const float(*p)[2] = f->landmarks;
  double eye = hypot(p[45][0] - p[36][0], p[45][1] - p[36][1]);
  double gap = hypot(p[66][0] - p[62][0], p[66][1] - p[62][1]);
  return eye > 0 ? gap / eye : 0;
}

/* Reads CSV into truth[index] for indices below n; others stay NAN. */
static int read_truth(const char *path, double *truth, long n) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "synth_measure: error: cannot read %s: %s\n", path, strerror(errno));
    return -1;
  }
  char line[256];
  int lineno = 0, bad = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    long idx;
    double v;
    char tail;
    if (sscanf(line, "%ld,%lf %c", &idx, &v, &tail) != 2) {
      if (lineno == 1) continue; /* the header */
      if (strspn(line, " \t\r\n") == strlen(line)) continue;
      fprintf(stderr, "synth_measure: error: %s:%d: expected frame,mouth_open\n", path, lineno);
      bad = 1;
      break;
    }
    if (idx >= 0 && idx < n) truth[idx] = v;
  }
  fclose(f);
  return bad ? -1 : 0;
}

static double pearson(const double *a, const double *b, int n) {
  double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
  for (int i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  for (int i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

static int parse_args(int argc, char **argv, measure_opts *o) {
  *o = (measure_opts){.expect_identity = -1, .min_fraction = 1.0, .min_corr = NAN};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      printf("%s", usage);
      return 0;
    }
    if (!strcmp(a, "--verbose")) {
      o->verbose = 1;
      continue;
    }
    if (!strcmp(a, "--expect-audio")) {
      o->expect_audio = 1;
      continue;
    }
    if (!strcmp(a, "--by-shape")) {
      o->by_shape = 1;
      continue;
    }
    static const char *const names[] = {
        "--video",           "--alignments",   "--truth",    "--save-faces",
        "--expect-identity", "--min-fraction", "--min-corr", NULL};
    int known = 0;
    for (int k = 0; names[k]; k++)
      known |= !strcmp(a, names[k]);
    if (!known) return bad_usage("unknown argument %s", a);
    if (i + 1 >= argc) return bad_usage("%s needs a value", a);
    const char *v = argv[++i];
    int bad = 0;
    if (!strcmp(a, "--video"))
      o->video = v;
    else if (!strcmp(a, "--alignments"))
      o->alignments = v;
    else if (!strcmp(a, "--truth"))
      o->truth = v;
    else if (!strcmp(a, "--save-faces"))
      o->save_faces = v;
    else if (!strcmp(a, "--expect-identity"))
      bad = synth_parse_int(v, 0, DS_SYNTH_IDENTITIES - 1, &o->expect_identity);
    else if (!strcmp(a, "--min-fraction"))
      bad = synth_parse_double(v, 0, 1, &o->min_fraction);
    else
      bad = synth_parse_double(v, -1, 1, &o->min_corr);
    if (bad) {
      char what[300];
      snprintf(what, sizeof what, "%s %.200s is out of range or not a number", a, v);
      return bad_usage("%s", what);
    }
  }
  if (!o->video) return bad_usage("%s", "--video is required");
  if (!o->alignments) return bad_usage("%s", "--alignments is required");
  return -1;
}

/* The source of FILE that describes V. */
static const ds_source_record *pick_source(ds_alignments *al, const measure_opts *o) {
  const ds_source_record *src = ds_alignments_source(al, o->video, 0);
  if (src) return src;
  if (al->source_count == 1) return &al->sources[0];
  fprintf(stderr,
          "synth_measure: error: %s has %d sources and none is %s; give the alignments of "
          "this clip alone\n",
          o->alignments, al->source_count, o->video);
  return NULL;
}

typedef struct results {
  long decoded, faces, closer[DS_SYNTH_IDENTITIES], by_colour;
  long by_shape[DS_SYNTH_IDENTITIES]; /* closer, counting the faces the features decide */
  double shape_sum[DS_SYNTH_IDENTITIES], colour_sum;
  double *mouth, *truth; /* [frames in FILE], NAN where unknown */
} results;

/* Decodes V and measures every frame that has a face; 0, or -1 after
 * printing why. */
static int measure_video(const measure_opts *o, const ds_source_record *src, ds_video_reader *r,
                         const reference *refs, results *res) {
  ds_error err = {0};
  ds_image frame = {0}, face = {0};
  if (ds_image_alloc(&face, S, S, 3, &err) != DS_OK) {
    fprintf(stderr, "synth_measure: error: %s\n", err.msg);
    return -1;
  }
  int rc = 0;
  for (;;) {
    int64_t index;
    ds_status st = ds_video_read(r, &frame, &index, NULL, &err);
    if (st == DS_ERR_NOT_FOUND) break;
    if (st != DS_OK) {
      fprintf(stderr, "synth_measure: error: %s\n", err.msg);
      rc = -1;
      break;
    }
    res->decoded++;
    const ds_frame_record *fr = ds_alignments_frame(src, index);
    if (!fr || fr->face_count == 0) continue;
    ds_warp_affine_rgb8_reference(frame.data, frame.width, frame.height, face.data, S, S,
                                  fr->faces[0].matrix);
    double shape[2], colour[2];
    low_face low;
    low_face_make(face.data, &low);
    compare_identities(&low, refs, shape, colour);
    double colour_score = colour[0] + colour[1] > 0 ? colour[0] / (colour[0] + colour[1]) : 0.5;
    float mouth = ds_synth_mouth_opening(face.data, S);
    res->mouth[index] = mouth;
    res->faces++;
    int by_shape = fabs(shape[1] - shape[0]) >= shape_margin;
    res->closer[by_shape ? shape[1] > shape[0] : colour[1] < colour[0]]++;
    res->by_colour += !by_shape;
    if (by_shape) res->by_shape[shape[1] > shape[0]]++;
    res->shape_sum[0] += shape[0];
    res->shape_sum[1] += shape[1];
    res->colour_sum += colour_score;
    if (o->verbose)
      printf("frame %lld: mouth=%.4f truth=%.4f shape0=%.3f shape1=%.3f colour_score=%.3f\n",
             (long long)index, mouth, res->truth[index], shape[0], shape[1], colour_score);
    if (o->save_faces) {
      char path[PATH_LEN];
      snprintf(path, sizeof path, "%s/face_%04lld.png", o->save_faces, (long long)index);
      if (ds_png_write_rgb(path, &face, NULL, &err) != DS_OK) {
        fprintf(stderr, "synth_measure: error: %s\n", err.msg);
        rc = -1;
        break;
      }
    }
  }
  ds_image_free(&frame);
  ds_image_free(&face);
  return rc;
}

int main(int argc, char **argv) {
  measure_opts o;
  int rc = parse_args(argc, argv, &o);
  if (rc >= 0) return rc;
  if (o.save_faces && synth_make_dirs(o.save_faces) != 0) {
    fprintf(stderr, "synth_measure: error: cannot create folder %s: %s\n", o.save_faces,
            strerror(errno));
    return 2;
  }

  ds_error err = {0};
  ds_alignments al;
  if (ds_alignments_load(o.alignments, &al, &err) != DS_OK) {
    fprintf(stderr, "synth_measure: error: %s\n", err.msg);
    return 2;
  }
  const ds_source_record *src = pick_source(&al, &o);
  ds_video_reader *r = NULL;
  if (src && ds_video_open(o.video, &r, &err) != DS_OK) {
    fprintf(stderr, "synth_measure: error: %s\n", err.msg);
    src = NULL;
  }
  /* frames are listed in increasing index: the last one bounds them all */
  long n = src && src->frame_len ? (long)src->frames[src->frame_len - 1].index + 1 : 0;
  reference *refs = malloc(DS_SYNTH_IDENTITIES * REF_LEVELS * sizeof *refs);
  uint8_t *render = malloc((size_t)S * S * 3);
  results res = {.mouth = malloc(((size_t)n + 1) * sizeof(double)),
                 .truth = malloc(((size_t)n + 1) * sizeof(double))};
  int ok = src && res.mouth && res.truth && refs && render;
  for (int k = 0; ok && k < DS_SYNTH_IDENTITIES * REF_LEVELS; k++) {
    ds_synth_params p;
    ds_synth_params_default(k / REF_LEVELS, (float)(k % REF_LEVELS) / (REF_LEVELS - 1), &p);
    ok = ds_synth_face_render_aligned(&p, S, DS_ALIGN_PADDING, render, NULL) == 0;
    if (ok) {
      low_face_make(render, &refs[k].low);
      window_residual(&refs[k].low, refs[k].residual);
    }
  }
  if (src && !ok) fprintf(stderr, "synth_measure: error: out of memory\n");
  for (long i = 0; ok && i < n; i++) {
    res.mouth[i] = res.truth[i] = NAN;
  }
  for (int i = 0; ok && i < src->frame_len; i++) {
    const ds_frame_record *fr = &src->frames[i];
    if (!o.truth && fr->face_count > 0) res.truth[fr->index] = landmark_mouth(&fr->faces[0]);
  }
  if (ok && o.truth) ok = read_truth(o.truth, res.truth, n) == 0;
  if (ok) ok = measure_video(&o, src, r, refs, &res) == 0;

  int failed = 0;
  if (ok) {
    const ds_video_info *in = ds_video_get_info(r);
    printf("synth_measure: %s: frames=%ld width=%d height=%d fps=%d/%d audio=%d codec=%s\n",
           o.video, res.decoded, in->width, in->height, in->fps_num, in->fps_den, in->has_audio,
           in->codec);
    if (res.decoded != src->frame_len || in->width != src->width || in->height != src->height) {
      printf("synth_measure: FAILED: %s has %ld frames of %dx%d, %s lists %d of %dx%d\n", o.video,
             res.decoded, in->width, in->height, o.alignments, src->frame_len, src->width,
             src->height);
      failed++;
    }
    if (o.expect_audio && !in->has_audio) {
      printf("synth_measure: FAILED: %s has no audio stream\n", o.video);
      failed++;
    }
    double nf = res.faces ? (double)res.faces : NAN;
    printf("synth_measure: faces=%ld closer_to_0=%ld closer_to_1=%ld (%ld by colour) shape0=%.3f "
           "shape1=%.3f colour_score=%.3f\n",
           res.faces, res.closer[0], res.closer[1], res.by_colour, res.shape_sum[0] / nf,
           res.shape_sum[1] / nf, res.colour_sum / nf);
    if (o.expect_identity >= 0 && o.by_shape) {
      const long decided = res.faces - res.by_colour;
      const long want = (long)ceil(o.min_fraction * decided - 1e-9);
      if (res.faces == 0 || 4 * decided < res.faces || res.by_shape[o.expect_identity] < want) {
        printf("synth_measure: FAILED: %ld of the %ld faces the features decide (of %ld) are "
               "closer to identity %ld, want at least %ld and a quarter of the faces decided "
               "(--by-shape --min-fraction %g)\n",
               res.by_shape[o.expect_identity], decided, res.faces, o.expect_identity, want,
               o.min_fraction);
        failed++;
      }
    } else if (o.expect_identity >= 0) {
      long want = (long)ceil(o.min_fraction * res.faces - 1e-9);
      if (res.faces == 0 || res.closer[o.expect_identity] < want) {
        printf("synth_measure: FAILED: %ld of %ld faces are closer to identity %ld, want at "
               "least %ld (--min-fraction %g)\n",
               res.closer[o.expect_identity], res.faces, o.expect_identity, want, o.min_fraction);
        failed++;
      }
    }
    double *a = malloc(((size_t)n + 1) * sizeof(double)),
           *b = malloc(((size_t)n + 1) * sizeof(double));
    int m = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (long i = 0; a && b && i < n; i++)
      if (!isnan(res.mouth[i]) && !isnan(res.truth[i])) {
        a[m] = res.truth[i];
        b[m++] = res.mouth[i];
        lo = fmin(lo, res.mouth[i]);
        hi = fmax(hi, res.mouth[i]);
      }
    double corr = m >= 2 ? pearson(a, b, m) : NAN;
    free(a);
    free(b);
    printf("synth_measure: mouth corr=%.4f over %d frames (truth from %s), measured %.3f..%.3f\n",
           corr, m, o.truth ? o.truth : "the landmarks", lo, hi);
    if (!isnan(o.min_corr) && !(corr >= o.min_corr)) {
      printf("synth_measure: FAILED: mouth correlation %.4f, want >= %.2f: the measured mouth "
             "does not follow the truth\n",
             corr, o.min_corr);
      failed++;
    }
  }
  free(refs);
  free(render);
  free(res.mouth);
  free(res.truth);
  ds_video_close(r);
  ds_alignments_free(&al);
  if (!ok) return 2;
  return failed ? 1 : 0;
}
