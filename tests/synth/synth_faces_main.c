/* synth_faces: writes synthetic faces of one identity as PNG files, for
 * tests and demos that must not use real media.
 *
 *   synth_faces [--identity N] [--count C] [--size S] [--seed K] [--aligned] OUTDIR
 *
 * Face i has the expression and pose ds_synth_params_random(K, N, i) and is
 * written to OUTDIR/face_%04d.png (OUTDIR is created) with two tEXt chunks:
 * "synth_params" (the parameters) and "landmarks" (68 x,y pairs in pixels).
 * With --aligned each face is aligned as `dsengine extract` aligns a detected
 * one (ds_synth_face_render_aligned, padding 3 S / 16: 48 at 256), which
 * undoes the pose, and the landmarks are the aligned ones with pixel centres
 * at integers; these are the faces to train on when a test converts a
 * synthetic clip through its alignments file.
 * Exit status: 0 done, 1 a file could not be written, 2 bad arguments. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/media/png.h"
#include "synth/synth_align.h"
#include "synth/synth_face.h"
#include "synth/synth_tool.h"

enum { MAX_COUNT = 100000, MIN_SIZE = 16, MAX_SIZE = 4096, PATH_LEN = 4096 };

static const char usage[] =
    "usage: synth_faces [--identity N] [--count C] [--size S] [--seed K] [--aligned] OUTDIR\n"
    "  --identity N  which face, 0 to %d (default 0)\n"
    "  --count C     how many images, 1 to %d (default 10)\n"
    "  --size S      image side in pixels, %d to %d (default 256)\n"
    "  --seed K      seed of the expressions and poses, an unsigned integer (default 1)\n"
    "  --aligned     align each face as 'dsengine extract' does (padding 3 S / 16)\n";

static int bad_usage(const char *fmt, const char *what) {
  fprintf(stderr, "synth_faces: error: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\n");
  fprintf(stderr, usage, DS_SYNTH_IDENTITIES - 1, MAX_COUNT, MIN_SIZE, MAX_SIZE);
  return 2;
}

static int write_face(const char *dir, int index, const ds_synth_params *p, int aligned,
                      ds_image *img, ds_error *err) {
  char path[PATH_LEN], params[256], marks[68 * 2 * 12];
  if (snprintf(path, sizeof path, "%s/face_%04d.png", dir, index) >= (int)sizeof path)
    return ds_error_set(err, DS_ERR_INVALID, "output path %s/face_%04d.png is too long", dir,
                        index);
  float xy[68][2];
  if (!aligned) {
    ds_synth_face_render(p, img->width, img->data);
    ds_synth_face_landmarks(p, img->width, xy);
  } else if (ds_synth_face_render_aligned(p, img->width, img->width * 3 / 16, img->data, xy) != 0) {
    return ds_error_set(err, DS_ERR_NO_MEMORY, "out of memory drawing face %d", index);
  }
  snprintf(params, sizeof params,
           "identity=%d mouth_open=%.4f rotation_deg=%.4f scale=%.4f shift_x=%.4f shift_y=%.4f",
           p->identity, p->mouth_open, p->rotation_deg, p->scale, p->shift_x, p->shift_y);
  size_t used = 0;
  for (int k = 0; k < 68; k++)
    used += (size_t)snprintf(marks + used, sizeof marks - used, "%s%.2f %.2f", k ? " " : "",
                             xy[k][0], xy[k][1]);
  const char *text[] = {"synth_params", params, "landmarks", marks, NULL};
  return ds_png_write_rgb(path, img, text, err);
}

int main(int argc, char **argv) {
  long identity = 0, count = 10, size = 256;
  uint64_t seed = 1;
  int aligned = 0;
  const char *outdir = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      printf(usage, DS_SYNTH_IDENTITIES - 1, MAX_COUNT, MIN_SIZE, MAX_SIZE);
      return 0;
    }
    if (!strcmp(a, "--aligned")) {
      aligned = 1;
    } else if (a[0] == '-' && a[1] == '-') {
      if (strcmp(a, "--identity") && strcmp(a, "--count") && strcmp(a, "--size") &&
          strcmp(a, "--seed"))
        return bad_usage("unknown option %s", a);
      if (i + 1 >= argc) return bad_usage("%s needs a value", a);
      const char *v = argv[++i];
      int bad = 0;
      if (!strcmp(a, "--identity"))
        bad = synth_parse_int(v, 0, DS_SYNTH_IDENTITIES - 1, &identity);
      else if (!strcmp(a, "--count"))
        bad = synth_parse_int(v, 1, MAX_COUNT, &count);
      else if (!strcmp(a, "--size"))
        bad = synth_parse_int(v, MIN_SIZE, MAX_SIZE, &size);
      else
        bad = synth_parse_u64(v, &seed);
      if (bad) {
        char what[300];
        snprintf(what, sizeof what, "%s %.200s is out of range or not a number", a, v);
        return bad_usage("%s", what);
      }
    } else if (a[0] == '-' && a[1]) {
      return bad_usage("unknown option %s", a);
    } else if (outdir) {
      return bad_usage("more than one output folder (%s)", a);
    } else {
      outdir = a;
    }
  }
  if (!outdir) return bad_usage("%s", "no output folder given");
  if (synth_make_dirs(outdir) != 0) {
    fprintf(stderr, "synth_faces: error: cannot create folder %s: %s; choose a writable path\n",
            outdir, strerror(errno));
    return 2;
  }

  ds_error err = {0};
  ds_image img;
  if (ds_image_alloc(&img, (int)size, (int)size, 3, &err) != DS_OK) {
    fprintf(stderr, "synth_faces: error: %s\n", err.msg);
    return 1;
  }
  for (int i = 0; i < count; i++) {
    ds_synth_params p;
    ds_synth_params_random(seed, (int)identity, i, &p);
    if (write_face(outdir, i, &p, aligned, &img, &err) != DS_OK) {
      fprintf(stderr, "synth_faces: error: %s\n", err.msg);
      ds_error_clear(&err);
      ds_image_free(&img);
      return 1;
    }
  }
  ds_image_free(&img);
  printf("synth_faces: wrote %ld %sfaces of identity %ld (%ldx%ld, seed %" PRIu64 ") to %s\n",
         count, aligned ? "aligned " : "", identity, size, size, seed, outdir);
  return 0;
}
