/* engine/detect/shape_predictor: dlib's .dat reader and tree cascade.
 *
 *   test_shape_predictor MODEL.dat|- DLIB_DIR|-
 *
 * Without arguments (or "-") it checks a small hand-made model: its walk
 * through the trees, dlib's grey conversion, out-of-image samples, and that
 * every truncation, garbage and bit flip is refused or loaded without a
 * crash. MODEL.dat (dlib's 68-point model) adds the real file: its shape, its
 * truncations. DLIB_DIR is what tests/dlib/compare_landmarks wrote (PNGs and
 * landmarks.txt with dlib's unrounded points); the test places the same
 * landmarks and compares. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "engine/detect/shape_predictor.h"
#include "engine/media/png.h"

/* ---- a writer for dlib's serialization, to build test models ---- */

typedef struct bytes {
  uint8_t *data;
  size_t len, cap;
} bytes;

static void put_byte(bytes *b, uint8_t v) {
  if (b->len == b->cap) {
    b->cap = b->cap ? 2 * b->cap : 256;
    b->data = realloc(b->data, b->cap);
    if (!b->data) abort();
  }
  b->data[b->len++] = v;
}

static void put_magnitude(bytes *b, uint64_t v, uint8_t sign) {
  uint8_t buf[8];
  unsigned n = 0;
  do {
    buf[n++] = (uint8_t)(v & 0xFF);
    v >>= 8;
  } while (v);
  put_byte(b, (uint8_t)(n | sign));
  for (unsigned i = 0; i < n; i++)
    put_byte(b, buf[i]);
}

static void put_uint(bytes *b, uint64_t v) { put_magnitude(b, v, 0); }
static void put_int(bytes *b, int64_t v) {
  put_magnitude(b, v < 0 ? (uint64_t)-v : (uint64_t)v, v < 0 ? 0x80 : 0);
}
static void put_float(bytes *b, float f) {
  int e;
  double frac = frexp(f, &e);
  put_int(b, (int64_t)(frac * (1 << 24)));
  put_int(b, e - 24);
}
static void put_column(bytes *b, const float *v, size_t n) {
  put_int(b, -(int64_t)n);
  put_int(b, -1);
  for (size_t i = 0; i < n; i++)
    put_float(b, v[i]);
}

/* Two landmarks at (0.25, 0.5) and (0.75, 0.5) of the box; one level, one
 * tree with one split "pixel at landmark 0 - pixel at landmark 1 > 10": left
 * leaf moves both 0.1 right, right leaf moves both 0.1 down. */
static bytes tiny_model(void) {
  bytes b = {0};
  static const float initial[4] = {0.25f, 0.5f, 0.75f, 0.5f};
  static const float left[4] = {0.1f, 0, 0.1f, 0}, right[4] = {0, 0.1f, 0, 0.1f};
  put_int(&b, 1);
  put_column(&b, initial, 4);
  put_uint(&b, 1); /* levels */
  put_uint(&b, 1); /* trees */
  put_uint(&b, 1); /* splits */
  put_uint(&b, 0);
  put_uint(&b, 1);
  put_float(&b, 10);
  put_uint(&b, 2); /* leaves */
  put_column(&b, left, 4);
  put_column(&b, right, 4);
  put_uint(&b, 1); /* anchor lists */
  put_uint(&b, 2);
  put_uint(&b, 0);
  put_uint(&b, 1);
  put_uint(&b, 1); /* delta lists */
  put_uint(&b, 2);
  for (int i = 0; i < 4; i++)
    put_float(&b, 0);
  return b;
}

static char scratch[256];

static const char *write_file(const char *name, const uint8_t *data, size_t len) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", scratch, name);
  FILE *f = fopen(path, "wb");
  if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f)) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
  return path;
}

static ds_status try_load(const char *path, ds_error *err) {
  ds_shape_predictor *sp = NULL;
  ds_status st = ds_shape_predictor_load(path, &sp, err);
  CHECK((st == DS_OK) == (sp != NULL), "%s: status %d but predictor %p", path, st, (void *)sp);
  ds_shape_predictor_free(sp);
  return st;
}

static void fill(uint8_t *img, int w, int h, int c, int x0, int x1, const uint8_t *px) {
  for (int y = 0; y < h; y++)
    for (int x = x0; x < x1; x++)
      memcpy(img + ((size_t)y * w + x) * c, px, c);
}

static void test_tiny_model(void) {
  bytes b = tiny_model();
  const char *path = write_file("tiny.dat", b.data, b.len);
  ds_error err = {0};
  ds_shape_predictor *sp = NULL;
  CHECK_OK(ds_shape_predictor_load(path, &sp, &err), &err);
  if (!sp) return;
  CHECK(ds_shape_predictor_num_parts(sp) == 2, "parts %d", ds_shape_predictor_num_parts(sp));
  CHECK(ds_shape_predictor_num_levels(sp) == 1, "levels %d", ds_shape_predictor_num_levels(sp));
  CHECK(ds_shape_predictor_num_trees(sp, 0) == 1, "trees %d", ds_shape_predictor_num_trees(sp, 0));

  enum { W = 101, H = 101 };
  static uint8_t grey[W * H], rgb[W * H * 3];
  const float box[4] = {0, 0, 100, 100};
  float xy[2][2];
  /* landmark 0 on bright pixels, landmark 1 on dark: left leaf */
  memset(grey, 0, sizeof grey);
  fill(grey, W, H, 1, 0, 50, (const uint8_t[]){200});
  CHECK_OK(ds_shape_predictor_run(sp, grey, W, H, 1, box, xy, &err), &err);
  CHECK(fabsf(xy[0][0] - 35) < 1e-4f && fabsf(xy[0][1] - 50) < 1e-4f &&
            fabsf(xy[1][0] - 85) < 1e-4f && fabsf(xy[1][1] - 50) < 1e-4f,
        "left leaf: (%g %g) (%g %g)", xy[0][0], xy[0][1], xy[1][0], xy[1][1]);
  /* swapped: right leaf */
  memset(grey, 200, sizeof grey);
  fill(grey, W, H, 1, 0, 50, (const uint8_t[]){0});
  CHECK_OK(ds_shape_predictor_run(sp, grey, W, H, 1, box, xy, &err), &err);
  CHECK(fabsf(xy[0][0] - 25) < 1e-4f && fabsf(xy[0][1] - 60) < 1e-4f, "right leaf: (%g %g)",
        xy[0][0], xy[0][1]);
  /* dlib's grey is (r + g + b) / 3 truncated: 11 + 11 + 10 = 32 -> 10, and
   * 10 - 0 > 10 fails (a rounded or weighted grey would pass) */
  memset(rgb, 0, sizeof rgb);
  fill(rgb, W, H, 3, 0, 50, (const uint8_t[]){11, 11, 10});
  CHECK_OK(ds_shape_predictor_run(sp, rgb, W, H, 3, box, xy, &err), &err);
  CHECK(fabsf(xy[0][1] - 60) < 1e-4f, "RGB 11,11,10 must read as 10: y %g", xy[0][1]);
  fill(rgb, W, H, 3, 0, 50, (const uint8_t[]){12, 11, 11});
  CHECK_OK(ds_shape_predictor_run(sp, rgb, W, H, 3, box, xy, &err), &err);
  CHECK(fabsf(xy[0][0] - 35) < 1e-4f, "RGB 12,11,11 must read as 11: x %g", xy[0][0]);
  /* landmark 1 outside the image reads 0: bright landmark 0 wins */
  memset(grey, 200, sizeof grey);
  const float wide[4] = {0, 0, 200, 100};
  CHECK_OK(ds_shape_predictor_run(sp, grey, W, H, 1, wide, xy, &err), &err);
  CHECK(fabsf(xy[1][0] - 170) < 1e-4f, "outside pixel must read 0: x %g", xy[1][0]);
  /* a box far outside: every sample is 0, no crash */
  const float far[4] = {-1e9f, -1e9f, 1e9f, 1e9f};
  CHECK_OK(ds_shape_predictor_run(sp, grey, W, H, 1, far, xy, &err), &err);
  CHECK(ds_shape_predictor_run(sp, grey, W, H, 2, box, xy, &err) == DS_ERR_INVALID, "2 channels");
  ds_shape_predictor_free(sp);

  /* every truncation is corrupt; bit flips load or are refused, never crash */
  int bad = 0;
  for (size_t n = 0; n < b.len; n++) {
    ds_status st = try_load(write_file("cut.dat", b.data, n), &err);
    if (st != DS_ERR_CORRUPT) bad++;
  }
  CHECK(bad == 0, "%d of %zu truncations of the tiny model not reported corrupt", bad, b.len);
  CHECK_CONTAINS(err.msg, "cut.dat");
  for (size_t i = 0; i < b.len; i++)
    for (int bit = 0; bit < 8; bit++) {
      b.data[i] ^= (uint8_t)(1 << bit);
      ds_status st = try_load(write_file("flip.dat", b.data, b.len), &err);
      CHECK(st == DS_OK || st == DS_ERR_CORRUPT, "flip byte %zu bit %d: %s", i, bit, err.msg);
      b.data[i] ^= (uint8_t)(1 << bit);
    }
  free(b.data);
}

static void test_bad_files(void) {
  ds_error err = {0};
  char path[512];
  snprintf(path, sizeof path, "%s/no-such-model.dat", scratch);
  CHECK(try_load(path, &err) == DS_ERR_NOT_FOUND, "missing file: %s", err.msg);
  CHECK_CONTAINS(err.msg, "libdlib-data");
  CHECK_CONTAINS(err.msg, "--landmarks");
  CHECK_CONTAINS(err.msg, "no-such-model.dat");

  CHECK(try_load(write_file("empty.dat", NULL, 0), &err) == DS_ERR_CORRUPT, "empty: %s", err.msg);
  CHECK_CONTAINS(err.msg, "empty.dat");
  uint8_t junk[4096];
  srand(7);
  for (int trial = 0; trial < 200; trial++) {
    size_t n = 1 + (size_t)rand() % sizeof junk;
    for (size_t i = 0; i < n; i++)
      junk[i] = (uint8_t)rand();
    if (trial % 2) junk[0] = 0x01, junk[1] = 0x01; /* a valid version 1 */
    ds_status st = try_load(write_file("junk.dat", junk, n), &err);
    CHECK(st == DS_ERR_CORRUPT, "garbage %d (%zu bytes): %s", trial, n, err.msg);
  }
  const char text[] = "<?xml version='1.0'?>\n<dataset></dataset>\n";
  CHECK(try_load(write_file("text.dat", (const uint8_t *)text, sizeof text - 1), &err) ==
            DS_ERR_CORRUPT,
        "text: %s", err.msg);
}

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *data = malloc(n > 0 ? (size_t)n : 1);
  if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
    free(data);
    data = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return data;
}

static void test_real_model(const char *model) {
  ds_error err = {0};
  ds_shape_predictor *sp = NULL;
  CHECK_OK(ds_shape_predictor_load(model, &sp, &err), &err);
  if (!sp) return;
  CHECK(ds_shape_predictor_num_parts(sp) == 68, "parts %d", ds_shape_predictor_num_parts(sp));
  CHECK(ds_shape_predictor_num_levels(sp) == 15, "levels %d", ds_shape_predictor_num_levels(sp));
  for (int l = 0; l < ds_shape_predictor_num_levels(sp); l++)
    CHECK(ds_shape_predictor_num_trees(sp, l) == 500, "level %d: %d trees", l,
          ds_shape_predictor_num_trees(sp, l));
  ds_shape_predictor_free(sp);

  size_t len;
  uint8_t *data = read_all(model, &len);
  CHECK(data != NULL, "cannot read %s", model);
  if (!data) return;
  /* cuts in the header, the first trees, and the tail (anchors, deltas) */
  size_t cuts[64], n = 0;
  for (size_t c = 1; c < 200000 && n < 40; c = c * 3 / 2 + 1)
    cuts[n++] = c;
  for (size_t back = 1; back < 60000 && n < 64; back = back * 2 + 7)
    cuts[n++] = len - back;
  int bad = 0;
  for (size_t i = 0; i < n; i++)
    if (try_load(write_file("real-cut.dat", data, cuts[i]), &err) != DS_ERR_CORRUPT) bad++;
  CHECK(bad == 0, "%d of %zu truncations of the real model not reported corrupt", bad, n);
  free(data);
}

/* Compares with dlib's points as tests/dlib/compare_landmarks wrote them. */
static void test_against_dlib(const char *model, const char *dir) {
  ds_error err = {0};
  ds_shape_predictor *sp = NULL;
  CHECK_OK(ds_shape_predictor_load(model, &sp, &err), &err);
  if (!sp) return;
  char path[1024];
  snprintf(path, sizeof path, "%s/landmarks.txt", dir);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL, "cannot read %s", path);
  if (!f) {
    ds_shape_predictor_free(sp);
    return;
  }
  char name[256], loaded[256] = "";
  ds_image img = {0};
  uint8_t *grey = NULL;
  double sum = 0, worst = 0, seconds = 0;
  long points = 0, faces = 0, rounded_differ = 0, grey_differ = 0;
  float box[4];
  while (fscanf(f, "%255s %f %f %f %f", name, &box[0], &box[1], &box[2], &box[3]) == 5) {
    float want[68][2], got[68][2], got_grey[68][2];
    for (int i = 0; i < 68; i++)
      if (fscanf(f, "%f %f", &want[i][0], &want[i][1]) != 2) goto done;
    if (strcmp(name, loaded) != 0) {
      ds_image_free(&img);
      free(grey);
      grey = NULL;
      snprintf(path, sizeof path, "%s/%s", dir, name);
      CHECK_OK(ds_png_read_rgb(path, &img, &err), &err);
      if (!img.data) break;
      snprintf(loaded, sizeof loaded, "%s", name);
      size_t npx = (size_t)img.width * img.height;
      grey = malloc(npx);
      for (size_t i = 0; i < npx; i++)
        grey[i] = (uint8_t)((img.data[3 * i] + img.data[3 * i + 1] + img.data[3 * i + 2]) / 3);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_OK(ds_shape_predictor_run(sp, img.data, img.width, img.height, 3, box, got, &err), &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    seconds += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK_OK(ds_shape_predictor_run(sp, grey, img.width, img.height, 1, box, got_grey, &err), &err);
    for (int i = 0; i < 68; i++) {
      double d = hypot(got[i][0] - want[i][0], got[i][1] - want[i][1]);
      sum += d;
      worst = d > worst ? d : worst;
      points++;
      if (floor(got[i][0] + 0.5) != floor(want[i][0] + 0.5) ||
          floor(got[i][1] + 0.5) != floor(want[i][1] + 0.5))
        rounded_differ++;
      if (got[i][0] != got_grey[i][0] || got[i][1] != got_grey[i][1]) grey_differ++;
    }
    faces++;
  }
done:
  fclose(f);
  ds_image_free(&img);
  free(grey);
  ds_shape_predictor_free(sp);
  double mean = points ? sum / (double)points : 0;
  printf("dlib comparison (%s): %ld faces, distance to dlib mean %.2e px, max %.2e px; rounded "
         "points differing %ld of %ld; %.3f ms per face\n",
         dir, faces, mean, worst, rounded_differ, points, faces ? 1e3 * seconds / faces : 0.0);
  CHECK(faces > 0, "no faces read from %s/landmarks.txt", dir);
  CHECK(mean < 0.01, "mean distance to dlib %g px", mean);
  CHECK(worst < 0.5, "max distance to dlib %g px", worst);
  CHECK(grey_differ == 0, "%ld points differ between RGB and its dlib grey", grey_differ);
}

int main(int argc, char **argv) {
  const char *model = argc > 1 && strcmp(argv[1], "-") != 0 ? argv[1] : NULL;
  const char *dir = argc > 2 && strcmp(argv[2], "-") != 0 ? argv[2] : NULL;
  const char *tmp = getenv("TMPDIR");
  snprintf(scratch, sizeof scratch, "%s/ds-shape-predictor-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(scratch)) {
    fprintf(stderr, "cannot create %s\n", scratch);
    return 1;
  }
  test_tiny_model();
  test_bad_files();
  if (model) test_real_model(model);
  if (model && dir) test_against_dlib(model, dir);
  static const char *const names[] = {"tiny.dat", "cut.dat",  "flip.dat",    "empty.dat",
                                      "junk.dat", "text.dat", "real-cut.dat"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", scratch, names[i]);
    unlink(path);
  }
  rmdir(scratch);
  return check_summary("shape_predictor");
}
