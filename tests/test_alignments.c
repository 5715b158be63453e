/* The alignments file (engine/detect/alignments.c): a set saved and loaded
 * back bit-exactly, frame lookup, and malformed files, each refused with the
 * right code and a one-line message naming the key path.
 * Usage: test_alignments SCRATCH_DIR */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "engine/detect/alignments.h"

enum { PATH_LEN = 1100, DOC_LEN = 16384 };

static char scratch[1024];

static int mkdir_p(const char *path) {
  char buf[PATH_LEN];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static const char *scratch_path(char *buf, const char *name) {
  snprintf(buf, PATH_LEN, "%s/%s", scratch, name);
  return buf;
}

static int write_bytes(const char *path, const char *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t done = fwrite(data, 1, n, f);
  return fclose(f) == 0 && done == n ? 0 : -1;
}

static char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(1 << 20);
  *n = buf ? fread(buf, 1, 1 << 20, f) : 0;
  fclose(f);
  return buf;
}

static int is_empty(const ds_alignments *a) {
  return a->source_count == 0 && a->sources == NULL && a->size == 0 && a->padding == 0;
}

/* Loads n bytes of text written to a scratch file; must fail with want and a
 * one-line message that starts with the file's path and holds needle. */
static void expect_load_bytes(const char *label, const char *text, size_t n, ds_status want,
                              const char *needle) {
  char path[PATH_LEN];
  scratch_path(path, "bad.json");
  CHECK(write_bytes(path, text, n) == 0, "%s: cannot write %s", label, path);
  ds_alignments a;
  ds_error err = {0};
  ds_status st = ds_alignments_load(path, &a, &err);
  CHECK(st == want, "%s: got %s: %s", label, ds_status_name(st), err.msg);
  if (st == DS_OK) {
    ds_alignments_free(&a);
    return;
  }
  CHECK(is_empty(&a), "%s: out not left empty", label);
  CHECK(strncmp(err.msg, path, strlen(path)) == 0, "%s: message does not name the file: %s", label,
        err.msg);
  CHECK(strchr(err.msg, '\n') == NULL, "%s: message is not one line: %s", label, err.msg);
  CHECK(strstr(err.msg, needle) != NULL, "%s: \"%s\" lacks \"%s\"", label, err.msg, needle);
  ds_error_clear(&err);
}

static void expect_load(const char *label, const char *text, ds_status want, const char *needle) {
  expect_load_bytes(label, text, strlen(text), want, needle);
}

/* ---------------------------------------------------------- round trip */

static uint32_t rng_state = 12345;
static uint32_t next_u32(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

/* Floats that need all 9 digits, and the awkward ones: -0, the smallest
 * denormal, the extremes of the range. */
static float awkward_float(int i) {
  static const float special[] = {-0.0f, 1e-45f, FLT_MIN, FLT_MAX, -FLT_MAX, 0.1f, 16777215.0f};
  if (i % 11 < (int)(sizeof special / sizeof special[0])) return special[i % 11];
  return ((float)next_u32() / 4294967296.0f - 0.5f) * 4096.0f;
}

static void make_face(ds_face_record *f, int seed) {
  memset(f, 0, sizeof *f);
  for (int i = 0; i < 4; i++)
    f->box[i] = awkward_float(seed + i);
  f->score = seed % 3 == 0 ? 1.0 / 3.0 : seed % 3 == 1 ? 5e-324 : 0.1 * seed;
  for (int i = 0; i < DS_FACE_LANDMARKS; i++)
    for (int j = 0; j < 2; j++)
      f->landmarks[i][j] = awkward_float(seed + 2 * i + j);
  for (int i = 0; i < 6; i++)
    f->matrix[i] = awkward_float(seed * 7 + i);
  snprintf(f->file, sizeof f->file, "clip_%06d_%d.png", seed, seed % 2);
}

static void build_set(ds_alignments *a) {
  ds_error err = {0};
  ds_alignments_init(a, 256, 48);
  ds_source_record *s = ds_alignments_source(a, "clip.mp4", 1);
  s->is_video = 1;
  s->width = 1920;
  s->height = 1080;
  s->frame_count = -1; /* unknown, as ds_video_info has it for mkv */
  ds_face_record faces[2];
  CHECK_OK(ds_alignments_add_frame(s, 0, 0.0, NULL, 0, &err), &err);
  make_face(&faces[0], 1);
  make_face(&faces[1], 2);
  CHECK_OK(ds_alignments_add_frame(s, 1, 1.0 / 29.97, faces, 2, &err), &err);
  CHECK_OK(ds_alignments_add_frame(s, 2, 2.0 / 29.97, NULL, 0, &err), &err);
  make_face(&faces[0], 3);
  CHECK_OK(ds_alignments_add_frame(s, 5, 5.0 / 29.97, faces, 1, &err), &err);

  /* a path JSON must escape */
  s = ds_alignments_source(a, "dir/a \"quoted\"\\name\twith tab.jpg", 1);
  s->width = 640;
  s->height = 480;
  s->frame_count = 1;
  make_face(&faces[0], 4);
  faces[0].file[0] = '\0'; /* no image written */
  CHECK_OK(ds_alignments_add_frame(s, 0, 0.0, faces, 1, &err), &err);
}

static void check_same(const ds_alignments *a, const ds_alignments *b) {
  CHECK(a->size == b->size && a->padding == b->padding, "size %d/%d padding %d/%d", a->size,
        b->size, a->padding, b->padding);
  CHECK(a->source_count == b->source_count, "%d vs %d sources", a->source_count, b->source_count);
  for (int i = 0; i < a->source_count && i < b->source_count; i++) {
    const ds_source_record *s = &a->sources[i], *t = &b->sources[i];
    CHECK(strcmp(s->path, t->path) == 0, "path %s vs %s", s->path, t->path);
    CHECK(s->is_video == t->is_video && s->width == t->width && s->height == t->height &&
              s->frame_count == t->frame_count,
          "source %d header differs", i);
    CHECK(s->frame_len == t->frame_len, "source %d: %d vs %d frames", i, s->frame_len,
          t->frame_len);
    for (int j = 0; j < s->frame_len && j < t->frame_len; j++) {
      const ds_frame_record *f = &s->frames[j], *g = &t->frames[j];
      CHECK(f->index == g->index && memcmp(&f->time, &g->time, sizeof f->time) == 0 &&
                f->face_count == g->face_count,
            "source %d frame %d header differs", i, j);
      for (int k = 0; k < f->face_count && k < g->face_count; k++) {
        const ds_face_record *x = &f->faces[k], *y = &g->faces[k];
        CHECK(memcmp(x->box, y->box, sizeof x->box) == 0, "box of %d.%d.%d", i, j, k);
        CHECK(memcmp(&x->score, &y->score, sizeof x->score) == 0, "score of %d.%d.%d", i, j, k);
        CHECK(memcmp(x->landmarks, y->landmarks, sizeof x->landmarks) == 0, "landmarks %d.%d.%d", i,
              j, k);
        CHECK(memcmp(x->matrix, y->matrix, sizeof x->matrix) == 0, "matrix of %d.%d.%d", i, j, k);
        CHECK(strcmp(x->file, y->file) == 0, "file %s vs %s", x->file, y->file);
      }
    }
  }
}

static void test_round_trip(void) {
  ds_alignments a, b, c;
  ds_error err = {0};
  char path[PATH_LEN], path2[PATH_LEN];
  build_set(&a);
  CHECK_OK(ds_alignments_save(scratch_path(path, "set.json"), &a, &err), &err);
  CHECK_OK(ds_alignments_load(path, &b, &err), &err);
  check_same(&a, &b);

  /* saving what was loaded gives the same bytes */
  CHECK_OK(ds_alignments_save(scratch_path(path2, "set2.json"), &b, &err), &err);
  size_t n1 = 0, n2 = 0;
  char *t1 = read_all(path, &n1), *t2 = read_all(path2, &n2);
  CHECK(t1 && t2 && n1 == n2 && memcmp(t1, t2, n1) == 0, "re-saved file differs");

  /* every prefix of a file is refused, none crashes */
  for (size_t cut = 0; t1 && cut + 1 < n1; cut += cut < 200 ? 1 : 97)
    expect_load_bytes("truncated", t1, cut, DS_ERR_INVALID, cut ? "the file was cut short" : "");
  expect_load_bytes("truncated mid-way", t1, n1 / 2, DS_ERR_INVALID,
                    "the JSON ends early; the file was cut short");
  free(t1);
  free(t2);

  /* an empty set */
  ds_alignments_init(&c, 128, 0);
  CHECK_OK(ds_alignments_save(path2, &c, &err), &err);
  ds_alignments_free(&c);
  CHECK_OK(ds_alignments_load(path2, &c, &err), &err);
  CHECK(c.size == 128 && c.padding == 0 && c.source_count == 0, "empty set %d %d %d", c.size,
        c.padding, c.source_count);
  ds_alignments_free(&c);
  ds_alignments_free(&a);
  ds_alignments_free(&b);
  ds_alignments_free(&b); /* twice is safe: free zeroes */
}

static void test_in_memory(void) {
  ds_alignments a;
  ds_error err = {0};
  ds_face_record face;
  char path[PATH_LEN];
  build_set(&a);
  ds_source_record *s = ds_alignments_source(&a, "clip.mp4", 0);
  CHECK(s == &a.sources[0], "find existing source");
  CHECK(ds_alignments_source(&a, "other.mp4", 0) == NULL, "absent source without create");
  CHECK(a.source_count == 2, "%d sources", a.source_count);

  int64_t present[] = {0, 1, 2, 5}, absent[] = {-1, 3, 4, 6, INT64_MAX};
  for (int i = 0; i < 4; i++) {
    const ds_frame_record *f = ds_alignments_frame(s, present[i]);
    CHECK(f && f->index == present[i], "frame %lld not found", (long long)present[i]);
  }
  for (int i = 0; i < 5; i++)
    CHECK(ds_alignments_frame(s, absent[i]) == NULL, "frame %lld found", (long long)absent[i]);
  CHECK(ds_alignments_frame(s, 1)->face_count == 2, "faces of frame 1");
  ds_source_record empty = {0};
  CHECK(ds_alignments_frame(&empty, 0) == NULL, "frame of an empty source");

  /* many frames: lookups across reallocations */
  ds_source_record *big = ds_alignments_source(&a, "big.mp4", 1);
  big->width = big->height = 8;
  for (int64_t i = 0; i < 1000; i++)
    CHECK_OK(ds_alignments_add_frame(big, 3 * i, 0.04 * (double)i, NULL, 0, &err), &err);
  int ok = 1;
  for (int64_t i = -1; i < 3001; i++) {
    const ds_frame_record *f = ds_alignments_frame(big, i);
    ok &= i >= 0 && i % 3 == 0 && i < 3000 ? f && f->index == i : f == NULL;
  }
  CHECK(ok, "lookup over 1000 frames");

  s = ds_alignments_source(&a, "clip.mp4", 0);
  make_face(&face, 9);
  CHECK(ds_alignments_add_frame(s, 5, 1.0, &face, 1, &err) == DS_ERR_INVALID, "repeat index");
  CHECK_CONTAINS(err.msg, "clip.mp4: frame 5 added after frame 5");
  CHECK(ds_alignments_add_frame(s, 4, 1.0, &face, 1, &err) == DS_ERR_INVALID, "lower index");
  CHECK(ds_alignments_add_frame(s, -2, 1.0, NULL, 0, &err) == DS_ERR_INVALID, "negative index");
  CHECK(s->frame_len == 4, "refused frames were kept: %d", s->frame_len);

  /* what would not load back is not saved */
  scratch_path(path, "unsaved.json");
  unlink(path);
  face.landmarks[30][1] = NAN;
  CHECK_OK(ds_alignments_add_frame(s, 7, 1.0, &face, 1, &err), &err);
  CHECK(ds_alignments_save(path, &a, &err) == DS_ERR_INVALID, "NaN saved");
  CHECK_CONTAINS(err.msg, "sources[0].frames[4].faces[0].landmarks holds a NaN");
  s->frames[4].faces[0].landmarks[30][1] = 1.0f;
  snprintf(s->frames[4].faces[0].file, DS_FACE_FILE_MAX, "../escape.png");
  CHECK(ds_alignments_save(path, &a, &err) == DS_ERR_INVALID, "unsafe file name saved");
  CHECK_CONTAINS(err.msg, "sources[0].frames[4].faces[0].file has a path separator");
  memset(s->frames[4].faces[0].file, 'x', DS_FACE_FILE_MAX);
  CHECK(ds_alignments_save(path, &a, &err) == DS_ERR_INVALID, "unterminated file name saved");
  CHECK_CONTAINS(err.msg, "file is not NUL-terminated");
  s->frames[4].faces[0].file[0] = '\0';
  a.padding = 128;
  CHECK(ds_alignments_save(path, &a, &err) == DS_ERR_INVALID, "padding 128 of 256 saved");
  CHECK(access(path, F_OK) != 0, "a refused set left a file");
  a.padding = 48;
  scratch_path(path, "no/such/folder/set.json");
  CHECK(ds_alignments_save(path, &a, &err) == DS_ERR_IO, "save into a missing folder: %s", err.msg);
  ds_error_clear(&err);
  ds_alignments_free(&a);
}

/* ------------------------------------------------------- malformed files */

static char lm68[2048], lm67[2048];

static void make_landmarks(char *out, int n) {
  size_t len = (size_t)sprintf(out, "[");
  for (int i = 0; i < n; i++)
    len += (size_t)sprintf(out + len, "%s[%d.5, %d]", i ? ", " : "", i, 2 * i);
  sprintf(out + len, "]");
}

/* A one-face document with each part replaceable; NULL keeps the default. */
typedef struct doc_parts {
  const char *top;    /* the keys before "sources" */
  const char *source; /* the keys of sources[0] before "frames" */
  const char *frames; /* the whole frames array */
  const char *face;   /* the whole face object */
} doc_parts;

static const char *make_doc(char *out, doc_parts d) {
  char face[4096], frames[8192];
  snprintf(face, sizeof face,
           "{\"box\": [1, 2, 30, 40], \"score\": 0.5, \"landmarks\": %s, "
           "\"matrix\": [1, 0, 0, 0, 1, 0], \"file\": \"a_000000_0.png\"}",
           lm68);
  snprintf(frames, sizeof frames, "[{\"index\": 0, \"time\": 0, \"faces\": [%s]}]",
           d.face ? d.face : face);
  snprintf(out, DOC_LEN, "{%s, \"sources\": [{%s, \"frames\": %s}]}",
           d.top ? d.top
                 : "\"format\": \"dsengine-alignments\", \"version\": 1, \"size\": 256, "
                   "\"padding\": 48",
           d.source ? d.source
                    : "\"path\": \"a.mp4\", \"kind\": \"video\", \"width\": 64, \"height\": 48, "
                      "\"frame_count\": 3",
           d.frames ? d.frames : frames);
  return out;
}

static const char *face_with(char *out, const char *box, const char *score, const char *lm,
                             const char *matrix, const char *file) {
  snprintf(out, 4096, "{\"box\": %s, \"score\": %s, \"landmarks\": %s, \"matrix\": %s%s%s}", box,
           score, lm, matrix, file ? ", \"file\": " : "", file ? file : "");
  return out;
}

static void test_malformed(void) {
  static char doc[DOC_LEN], face[4096], face2[4096], face3[4096];
  const char *good_top =
      "\"format\": \"dsengine-alignments\", \"version\": 1, \"size\": 256, \"padding\": 48";
  const char *box = "[1, 2, 30, 40]", *mat = "[1, 0, 0, 0, 1, 0]", *file = "\"f.png\"";
  const char *f0 = "sources[0].frames[0].faces[0]";
  char needle[256];
  make_landmarks(lm68, 68);
  make_landmarks(lm67, 67);

  expect_load("valid", make_doc(doc, (doc_parts){0}), DS_OK, "");

  /* faces */
  make_doc(doc, (doc_parts){.face = face_with(face, box, "1", lm67, mat, file)});
  expect_load("67 landmarks", doc, DS_ERR_INVALID,
              "sources[0].frames[0].faces[0].landmarks: expected 68 [x, y] pairs, got 67");
  char lm_bad[2048];
  snprintf(lm_bad, sizeof lm_bad, "[[1, 2, 3]%s", strstr(lm68, "], [") + 1);
  make_doc(doc, (doc_parts){.face = face_with(face, box, "1", lm_bad, mat, file)});
  snprintf(needle, sizeof needle,
           "%s.landmarks[0]: expected an [x, y] pair of numbers, got an "
           "array of 3",
           f0);
  expect_load("triple landmark", doc, DS_ERR_INVALID, needle);
  snprintf(lm_bad, sizeof lm_bad, "[[1, \"2\"]%s", strstr(lm68, "], [") + 1);
  make_doc(doc, (doc_parts){.face = face_with(face, box, "1", lm_bad, mat, file)});
  expect_load("string coordinate", doc, DS_ERR_INVALID,
              ".landmarks[0][1]: expected a finite number within float32 range, got \"2\"");
  make_doc(doc, (doc_parts){.face = face_with(face, "[1, 2, 3]", "1", lm68, mat, file)});
  expect_load("3-number box", doc, DS_ERR_INVALID,
              "faces[0].box: expected 4 numbers [left, top, right, bottom], got 3");
  make_doc(doc, (doc_parts){.face = face_with(face, "{}", "1", lm68, mat, file)});
  expect_load("object box", doc, DS_ERR_INVALID, "faces[0].box: expected 4 numbers");
  make_doc(doc,
           (doc_parts){.face = face_with(face, box, "1", lm68, "[1, 0, 0, 0, 1, 0, 0]", file)});
  expect_load("7-number matrix", doc, DS_ERR_INVALID, "faces[0].matrix: expected 6 numbers");
  make_doc(doc,
           (doc_parts){.face = face_with(face, box, "1", lm68, "[1, 0, 1e39, 0, 1, 0]", file)});
  expect_load("matrix beyond float32", doc, DS_ERR_INVALID,
              "faces[0].matrix[2]: expected a finite number within float32 range, got 1e+39");
  make_doc(doc, (doc_parts){.face = face_with(face, box, "\"high\"", lm68, mat, file)});
  expect_load("string score", doc, DS_ERR_INVALID, "faces[0].score: expected a finite number");
  make_doc(doc, (doc_parts){.face = face_with(face, box, "1e999", lm68, mat, file)});
  expect_load("infinite score", doc, DS_ERR_INVALID, "faces[0].score: expected a finite number");
  make_doc(doc, (doc_parts){.face = face_with(face, box, "1", lm68, mat, NULL)});
  expect_load("no file", doc, DS_ERR_INVALID, "faces[0].file: missing required key");
  make_doc(doc, (doc_parts){.face = face_with(face, box, "1", lm68, mat, "\"../x.png\"")});
  expect_load("path as file", doc, DS_ERR_INVALID,
              "faces[0].file: \"../x.png\" has a path separator");
  make_doc(doc, (doc_parts){.face = face_with(face, box, "1", lm68, mat, "\"a\\nb.png\"")});
  expect_load("control character in file", doc, DS_ERR_INVALID,
              "faces[0].file: \"a\\x0ab.png\" has a control character");
  make_doc(doc, (doc_parts){.face = face_with(face, box, "1", lm68, mat, "7")});
  expect_load("number as file", doc, DS_ERR_INVALID, "faces[0].file: expected a file name");
  char long_name[300];
  memset(long_name, 'n', sizeof long_name);
  long_name[0] = '"';
  strcpy(long_name + 257, "\"");
  make_doc(doc, (doc_parts){.face = face_with(face, box, "1", lm68, mat, long_name)});
  expect_load("256-byte file name", doc, DS_ERR_INVALID, "is longer than 255 bytes");
  snprintf(face, sizeof face,
           "{\"box\": %s, \"score\": 1, \"landmarks\": %s, \"matrix\": %s, "
           "\"file\": %s, \"extra\": 1}",
           box, lm68, mat, file);
  expect_load("unknown face key", make_doc(doc, (doc_parts){.face = face}), DS_ERR_INVALID,
              "faces[0].extra: unknown key; expected one of box, score, landmarks, matrix, file");
  snprintf(face, sizeof face,
           "{\"box\": %s, \"score\": 1, \"score\": 2, \"landmarks\": %s, "
           "\"matrix\": %s, \"file\": %s}",
           box, lm68, mat, file);
  expect_load("duplicate key", make_doc(doc, (doc_parts){.face = face}), DS_ERR_INVALID,
              "faces[0].score: duplicate key");
  expect_load("face not an object", make_doc(doc, (doc_parts){.face = "[]"}), DS_ERR_INVALID,
              "sources[0].frames[0].faces[0]: expected an object with keys box, score");
  snprintf(face, sizeof face,
           "{\"box\": %s, \"score\": 1, \"landmarks\": %s, \"matrix\": %s, "
           "\"file\": %s, \"a\\nb\": 1}",
           box, lm68, mat, file);
  expect_load("control character in a key", make_doc(doc, (doc_parts){.face = face}),
              DS_ERR_INVALID, "faces[0].a\\x0ab: unknown key");

  /* frames */
  expect_load("decreasing index",
              make_doc(doc, (doc_parts){.frames = "[{\"index\": 3, \"time\": 0, \"faces\": []}, "
                                                  "{\"index\": 2, \"time\": 1, \"faces\": []}]"}),
              DS_ERR_INVALID,
              "sources[0].frames[1].index: 2 follows frames[0].index 3; frames must be in "
              "increasing index order");
  expect_load("repeated index",
              make_doc(doc, (doc_parts){.frames = "[{\"index\": 3, \"time\": 0, \"faces\": []}, "
                                                  "{\"index\": 3, \"time\": 1, \"faces\": []}]"}),
              DS_ERR_INVALID, "sources[0].frames[1].index: 3 follows frames[0].index 3");
  expect_load("negative index",
              make_doc(doc, (doc_parts){.frames = "[{\"index\": -1, \"time\": 0, \"faces\": []}]"}),
              DS_ERR_INVALID, "sources[0].frames[0].index: expected an integer from 0 to 2^53");
  expect_load(
      "fractional index",
      make_doc(doc, (doc_parts){.frames = "[{\"index\": 1.5, \"time\": 0, \"faces\": []}]"}),
      DS_ERR_INVALID, "frames[0].index: expected an integer from 0 to 2^53, got 1.5");
  expect_load("time missing",
              make_doc(doc, (doc_parts){.frames = "[{\"index\": 0, \"faces\": []}]"}),
              DS_ERR_INVALID, "sources[0].frames[0].time: missing required key");
  expect_load(
      "faces null",
      make_doc(doc, (doc_parts){.frames = "[{\"index\": 0, \"time\": 0, \"faces\": null}]"}),
      DS_ERR_INVALID, "sources[0].frames[0].faces: expected an array of faces");
  expect_load("empty frame", make_doc(doc, (doc_parts){.frames = "[{}, 5]"}), DS_ERR_INVALID,
              "sources[0].frames[0].index: missing required key");
  expect_load("frame a number", make_doc(doc, (doc_parts){.frames = "[5]"}), DS_ERR_INVALID,
              "sources[0].frames[0]: expected an object with keys index, time, faces, got 5");
  expect_load("frames an object", make_doc(doc, (doc_parts){.frames = "{}"}), DS_ERR_INVALID,
              "sources[0].frames: expected an array of frames");
  /* a face fails after earlier frames and faces were allocated: no leak */
  static char two_frames[DOC_LEN];
  snprintf(two_frames, sizeof two_frames,
           "[{\"index\": 0, \"time\": 0, \"faces\": [%s]}, {\"index\": 1, \"time\": 0, "
           "\"faces\": [%s, 1]}]",
           face_with(face2, box, "1", lm68, mat, file),
           face_with(face3, box, "1", lm68, mat, file));
  expect_load("second face bad", make_doc(doc, (doc_parts){.frames = two_frames}), DS_ERR_INVALID,
              "sources[0].frames[1].faces[1]: expected an object");

  /* sources */
  const char *src_fmt = "\"path\": \"a.mp4\", \"kind\": %s, \"width\": %s, \"height\": 48, "
                        "\"frame_count\": %s";
  char src[512];
  snprintf(src, sizeof src, src_fmt, "\"audio\"", "64", "3");
  expect_load("unknown kind", make_doc(doc, (doc_parts){.source = src}), DS_ERR_INVALID,
              "sources[0].kind: expected \"video\" or \"image\", got \"audio\"");
  snprintf(src, sizeof src, src_fmt, "\"image\"", "-1", "3");
  expect_load("negative width", make_doc(doc, (doc_parts){.source = src}), DS_ERR_INVALID,
              "sources[0].width: expected a positive integer (pixels), got -1");
  snprintf(src, sizeof src, src_fmt, "\"image\"", "1e10", "3");
  expect_load("huge width", make_doc(doc, (doc_parts){.source = src}), DS_ERR_INVALID,
              "sources[0].width: expected a positive integer");
  snprintf(src, sizeof src, src_fmt, "\"image\"", "64", "true");
  expect_load("bool frame_count", make_doc(doc, (doc_parts){.source = src}), DS_ERR_INVALID,
              "sources[0].frame_count: expected an integer from -1 (unknown) to 2^53, got true");
  snprintf(src, sizeof src, src_fmt, "\"video\"", "64", "-2");
  expect_load("frame_count -2", make_doc(doc, (doc_parts){.source = src}), DS_ERR_INVALID,
              "sources[0].frame_count: expected an integer from -1 (unknown) to 2^53, got -2");
  expect_load("no frame_count",
              make_doc(doc, (doc_parts){.source = "\"path\": \"a.mp4\", \"kind\": \"video\", "
                                                  "\"width\": 64, \"height\": 48"}),
              DS_ERR_INVALID, "sources[0].frame_count: missing required key");
  expect_load("empty path",
              make_doc(doc, (doc_parts){.source = "\"path\": \"\", \"kind\": \"video\", "
                                                  "\"width\": 64, \"height\": 48, "
                                                  "\"frame_count\": 1"}),
              DS_ERR_INVALID, "sources[0].path: expected a path of 1 to 4095 bytes, got \"\"");
  snprintf(doc, sizeof doc,
           "{%s, \"sources\": [{\"path\": \"a.mp4\", \"kind\": \"video\", \"width\": 1, "
           "\"height\": 1, \"frame_count\": 0, \"frames\": []}, {\"path\": \"a.mp4\", \"kind\": "
           "\"video\", \"width\": 1, \"height\": 1, \"frame_count\": 0, \"frames\": []}]}",
           good_top);
  expect_load("duplicate source", doc, DS_ERR_INVALID,
              "sources[1].path: \"a.mp4\" is also sources[0].path");
  snprintf(doc, sizeof doc, "{%s, \"sources\": {}}", good_top);
  expect_load("sources an object", doc, DS_ERR_INVALID, "sources: expected an array of sources");
  snprintf(doc, sizeof doc, "{%s}", good_top);
  expect_load("no sources", doc, DS_ERR_INVALID, "sources: missing required key");

  /* the top level */
  expect_load(
      "other format",
      make_doc(doc, (doc_parts){.top = "\"format\": \"faceswap\", \"version\": 1, "
                                       "\"size\": 256, \"padding\": 48"}),
      DS_ERR_INVALID,
      "format: expected \"dsengine-alignments\", got \"faceswap\"; is this an alignments file");
  expect_load("a model config", "{\"name\": \"original\", \"input\": {\"size\": 64}}",
              DS_ERR_INVALID, "format: missing required key (\"dsengine-alignments\"); is this");
  expect_load("version 2",
              make_doc(doc, (doc_parts){.top = "\"format\": \"dsengine-alignments\", \"version\": "
                                               "2, \"size\": 256, \"padding\": 48"}),
              DS_ERR_INVALID, "version: this file is version 2 and this dsengine reads version 1");
  expect_load("string version",
              make_doc(doc, (doc_parts){.top = "\"format\": \"dsengine-alignments\", \"version\": "
                                               "\"1\", \"size\": 256, \"padding\": 48"}),
              DS_ERR_INVALID, "version: expected a positive integer, got \"1\"");
  expect_load("unknown top key",
              make_doc(doc, (doc_parts){.top = "\"format\": \"dsengine-alignments\", \"version\": "
                                               "1, \"size\": 256, \"padding\": 48, \"x\": 0"}),
              DS_ERR_INVALID,
              "x: unknown key; expected one of format, version, size, padding, sources");
  expect_load("padding too large",
              make_doc(doc, (doc_parts){.top = "\"format\": \"dsengine-alignments\", \"version\": "
                                               "1, \"size\": 256, \"padding\": 128"}),
              DS_ERR_INVALID, "padding: 128 leaves no face inside size 256");
  expect_load("size 0",
              make_doc(doc, (doc_parts){.top = "\"format\": \"dsengine-alignments\", \"version\": "
                                               "1, \"size\": 0, \"padding\": 0"}),
              DS_ERR_INVALID, "size: expected an integer from 1 to 65536, got 0");
  expect_load("top-level array", "[1, 2]", DS_ERR_INVALID,
              "expected a JSON object at the top level, got an array");
  expect_load("top-level number", "42", DS_ERR_INVALID,
              "expected a JSON object at the top level, got a single value");

  /* syntax */
  expect_load("missing comma", "{\"format\": \"dsengine-alignments\" \"version\": 1}",
              DS_ERR_INVALID,
              "line 1, column 34: invalid JSON syntax near \"\\\"version\\\": 1}\"");
  expect_load("bad line 3", "{\n  \"format\": \"dsengine-alignments\",\n  \"version\": 1,,\n}",
              DS_ERR_INVALID, "line 3, column");
  expect_load("trailing text", "{\"format\": \"dsengine-alignments\"} x", DS_ERR_INVALID,
              "invalid JSON syntax near \"x\"");
  expect_load("empty file", "", DS_ERR_INVALID, "the file is empty");
  expect_load("blank file", " \n\t", DS_ERR_INVALID, "the file is empty");
  expect_load_bytes("NUL byte", "{\"a\"\0: 1}", 9, DS_ERR_INVALID, "has a NUL byte at offset 4");
  char deep[20002];
  memset(deep, '[', 10000);
  memset(deep + 10000, ']', 10000);
  deep[20000] = '\0';
  expect_load("deep nesting", deep, DS_ERR_INVALID, "invalid JSON syntax");
  expect_load("UTF-8 byte order mark", "\xef\xbb\xbf[]", DS_ERR_INVALID,
              "expected a JSON object at the top level");
}

/* Every byte of a valid file replaced by a few others: each load either
 * succeeds or is refused with a one-line message; none crashes or leaks. */
static void test_mutations(void) {
  static char doc[DOC_LEN], face[4096];
  char small_lm[2048];
  make_landmarks(small_lm, 68);
  make_doc(doc, (doc_parts){.face = face_with(face, "[1,2,3,4]", "1", small_lm, "[1,0,0,0,1,0]",
                                              "\"f.png\"")});
  size_t n = strlen(doc);
  const char repl[] = {'x', '"', ']', ',', '9'};
  char label[64];
  char path[PATH_LEN];
  scratch_path(path, "bad.json");
  for (size_t i = 0; i < n; i += 3) {
    for (size_t r = 0; r < sizeof repl; r++) {
      char saved = doc[i];
      if (saved == repl[r]) continue;
      doc[i] = repl[r];
      ds_alignments a;
      ds_error err = {0};
      if (write_bytes(path, doc, n) == 0) {
        ds_status st = ds_alignments_load(path, &a, &err);
        snprintf(label, sizeof label, "byte %zu -> '%c'", i, repl[r]);
        CHECK(st == DS_OK || (st == DS_ERR_INVALID && !strchr(err.msg, '\n') && is_empty(&a)),
              "%s: %s: %s", label, ds_status_name(st), err.msg);
        ds_alignments_free(&a);
      }
      doc[i] = saved;
    }
  }
}

static void test_files(void) {
  char path[PATH_LEN];
  ds_alignments a;
  ds_error err = {0};
  scratch_path(path, "missing.json");
  unlink(path);
  CHECK(ds_alignments_load(path, &a, &err) == DS_ERR_NOT_FOUND, "missing file: %s", err.msg);
  CHECK_CONTAINS(err.msg, "missing.json: alignments file not found");
  CHECK(is_empty(&a), "out not empty after a missing file");

  CHECK(ds_alignments_load(scratch, &a, &err) == DS_ERR_INVALID, "folder: %s", err.msg);
  CHECK_CONTAINS(err.msg, "is a folder");

  /* sparse: no disk is used, and the size is refused before any read */
  scratch_path(path, "huge.json");
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL, "cannot create %s", path);
  if (f) {
    fclose(f);
    CHECK(truncate(path, (1L << 30) + 1) == 0, "cannot size %s", path);
    CHECK(ds_alignments_load(path, &a, &err) == DS_ERR_INVALID, "huge file: %s", err.msg);
    CHECK_CONTAINS(err.msg, "over the 1 GiB");
    unlink(path);
  }
  ds_error_clear(&err);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  snprintf(scratch, sizeof scratch, "%s", argv[1]);
  if (mkdir_p(scratch) != 0) {
    fprintf(stderr, "cannot create %s: %s\n", scratch, strerror(errno));
    return 1;
  }
  test_round_trip();
  test_in_memory();
  test_malformed();
  test_mutations();
  test_files();
  return check_summary("alignments");
}
