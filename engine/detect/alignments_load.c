/* Reading alignments.json (engine/detect/alignments.h): every key checked
 * through core/json_read.h, errors naming the file and the key path. */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "engine/detect/alignments.h"

static const long MAX_FILE_BYTES = 1L << 30;
enum { MAX_PATH_BYTES = 4095, MAX_FACE_SIZE = 65536 };

typedef ds_json_reader parser;
#define TRY DS_JSON_TRY
#define KEY DS_JSON_KEY_MAX

static int read_f32(const cJSON *v, float *out) {
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return 0;
  *out = (float)v->valuedouble;
  return isfinite(*out);
}

static ds_status bad_f32(parser *p, const char *key, int i, int j, const cJSON *v) {
  char k[KEY + 24];
  snprintf(k, sizeof k, j < 0 ? "%s[%d]" : "%s[%d][%d]", key, i, j);
  return ds_json_fail_type(p, k, "a finite number within float32 range", v);
}

/* Exactly n float32 numbers; what names them, e.g. "[left, top, right, bottom]". */
static ds_status read_floats(parser *p, const cJSON *v, const char *key, int n, const char *what,
                             float *out) {
  char expect[96];
  snprintf(expect, sizeof expect, "%d numbers %s", n, what);
  if (!cJSON_IsArray(v)) return ds_json_fail_type(p, key, expect, v);
  int got = cJSON_GetArraySize(v);
  if (got != n) return ds_json_fail(p, key, "expected %s, got %d", expect, got);
  int i = 0;
  for (const cJSON *item = v->child; item; item = item->next, i++)
    if (!read_f32(item, &out[i])) return bad_f32(p, key, i, -1, item);
  return DS_OK;
}

static ds_status read_landmarks(parser *p, const cJSON *v, const char *key,
                                float out[DS_FACE_LANDMARKS][2]) {
  char expect[48], k[KEY];
  snprintf(expect, sizeof expect, "%d [x, y] pairs", DS_FACE_LANDMARKS);
  if (!cJSON_IsArray(v)) return ds_json_fail_type(p, key, expect, v);
  int got = cJSON_GetArraySize(v);
  if (got != DS_FACE_LANDMARKS) return ds_json_fail(p, key, "expected %s, got %d", expect, got);
  int i = 0;
  for (const cJSON *pair = v->child; pair; pair = pair->next, i++) {
    if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2)
      return ds_json_fail_type(p, ds_json_index_key(k, key, i), "an [x, y] pair of numbers", pair);
    for (int j = 0; j < 2; j++)
      if (!read_f32(cJSON_GetArrayItem(pair, j), &out[i][j]))
        return bad_f32(p, key, i, j, cJSON_GetArrayItem(pair, j));
  }
  return DS_OK;
}

static ds_status read_face(parser *p, const cJSON *obj, const char *base, ds_face_record *f) {
  static const char *const keys[] = {"box", "score", "landmarks", "matrix", "file", NULL};
  char key[KEY], got[64];
  TRY(ds_json_check_object(p, obj, base, keys));
  TRY(read_floats(p, ds_json_member(obj, "box"), ds_json_key(key, base, "box"), 4,
                  "[left, top, right, bottom]", f->box));
  TRY(ds_json_read_finite(p, ds_json_member(obj, "score"), ds_json_key(key, base, "score"),
                          &f->score));
  TRY(read_landmarks(p, ds_json_member(obj, "landmarks"), ds_json_key(key, base, "landmarks"),
                     f->landmarks));
  TRY(read_floats(p, ds_json_member(obj, "matrix"), ds_json_key(key, base, "matrix"), 6,
                  "[a, b, c, d, e, f] (a 2x3 affine)", f->matrix));
  const cJSON *v = ds_json_member(obj, "file");
  const char *name;
  TRY(ds_json_read_string(p, v, ds_json_key(key, base, "file"), "a file name (a string)", &name));
  const char *why = ds_alignments_file_name_problem(name);
  if (why) return ds_json_fail(p, key, "%s %s", ds_json_describe(v, got, sizeof got), why);
  memcpy(f->file, name, strlen(name) + 1);
  return DS_OK;
}

static ds_status read_frame(parser *p, const cJSON *obj, const char *base, ds_source_record *s) {
  static const char *const keys[] = {"index", "time", "faces", NULL};
  char key[KEY], face_key[KEY];
  TRY(ds_json_check_object(p, obj, base, keys));
  ds_frame_record *fr = &s->frames[s->frame_len];
  TRY(ds_json_read_int64(p, ds_json_member(obj, "index"), ds_json_key(key, base, "index"), 0,
                         DS_JSON_MAX_INT, "an integer from 0 to 2^53", &fr->index));
  if (s->frame_len > 0 && fr->index <= s->frames[s->frame_len - 1].index)
    return ds_json_fail(p, key,
                        "%lld follows frames[%d].index %lld; frames must be in increasing index "
                        "order, each once",
                        (long long)fr->index, s->frame_len - 1,
                        (long long)s->frames[s->frame_len - 1].index);
  TRY(ds_json_read_finite(p, ds_json_member(obj, "time"), ds_json_key(key, base, "time"),
                          &fr->time));
  const cJSON *faces = ds_json_member(obj, "faces");
  ds_json_key(key, base, "faces");
  if (!cJSON_IsArray(faces))
    return ds_json_fail_type(p, key, "an array of faces (may be empty)", faces);
  int n = cJSON_GetArraySize(faces);
  if (n > 0 && !(fr->faces = calloc((size_t)n, sizeof *fr->faces)))
    return ds_json_no_memory(p, "the faces of a frame");
  s->frame_len++; /* from here on the frame is the set's, freed with it */
  int k = 0;
  for (const cJSON *item = faces->child; item; item = item->next, k++)
    TRY(read_face(p, item, ds_json_index_key(face_key, key, k), &fr->faces[k]));
  fr->face_count = n;
  return DS_OK;
}

static ds_status read_source(parser *p, const cJSON *obj, const char *base, ds_alignments *a) {
  static const char *const keys[] = {"path",        "kind",   "width", "height",
                                     "frame_count", "frames", NULL};
  char key[KEY], frame_key[KEY], got[64];
  TRY(ds_json_check_object(p, obj, base, keys));
  ds_source_record *s = &a->sources[a->source_count];

  const cJSON *v = ds_json_member(obj, "path");
  ds_json_key(key, base, "path");
  if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > MAX_PATH_BYTES)
    return ds_json_fail_type(p, key, "a path of 1 to 4095 bytes", v);
  for (int i = 0; i < a->source_count; i++)
    if (strcmp(a->sources[i].path, v->valuestring) == 0)
      return ds_json_fail(p, key, "%s is also sources[%d].path; list each source once",
                          ds_json_describe(v, got, sizeof got), i);
  if (!(s->path = strdup(v->valuestring))) return ds_json_no_memory(p, "a source path");
  a->source_count++; /* from here on the source is the set's, freed with it */

  v = ds_json_member(obj, "kind");
  ds_json_key(key, base, "kind");
  if (!cJSON_IsString(v) ||
      (strcmp(v->valuestring, "video") != 0 && strcmp(v->valuestring, "image") != 0))
    return ds_json_fail_type(p, key, "\"video\" or \"image\"", v);
  s->is_video = strcmp(v->valuestring, "video") == 0;
  TRY(ds_json_read_int(p, ds_json_member(obj, "width"), ds_json_key(key, base, "width"), 1, INT_MAX,
                       "a positive integer (pixels)", &s->width));
  TRY(ds_json_read_int(p, ds_json_member(obj, "height"), ds_json_key(key, base, "height"), 1,
                       INT_MAX, "a positive integer (pixels)", &s->height));
  TRY(ds_json_read_int64(p, ds_json_member(obj, "frame_count"),
                         ds_json_key(key, base, "frame_count"), -1, DS_JSON_MAX_INT,
                         "an integer from -1 (unknown) to 2^53", &s->frame_count));

  const cJSON *frames = ds_json_member(obj, "frames");
  ds_json_key(key, base, "frames");
  if (!cJSON_IsArray(frames))
    return ds_json_fail_type(p, key, "an array of frames (every processed frame)", frames);
  int n = cJSON_GetArraySize(frames);
  if (n > 0 && !(s->frames = calloc((size_t)n, sizeof *s->frames)))
    return ds_json_no_memory(p, "the frame records");
  s->frame_cap = n;
  int j = 0;
  for (const cJSON *item = frames->child; item; item = item->next, j++)
    TRY(read_frame(p, item, ds_json_index_key(frame_key, key, j), s));
  return DS_OK;
}

static ds_status read_root(parser *p, const cJSON *root, ds_alignments *a) {
  static const char *const keys[] = {"format", "version", "size", "padding", "sources", NULL};
  char key[KEY];
  int64_t x = 0;
  if (!cJSON_IsObject(root)) return ds_json_check_object(p, root, "", keys);
  /* format and version first: another file, or a newer one, is named as
   * such rather than by its first key this version does not know */
  const cJSON *v = ds_json_member(root, "format");
  if (!cJSON_IsString(v) || strcmp(v->valuestring, DS_ALIGNMENTS_FORMAT) != 0) {
    char got[64];
    const char *hint = "is this an alignments file written by dsengine extract?";
    if (!v)
      return ds_json_fail(p, "format", "missing required key (\"" DS_ALIGNMENTS_FORMAT "\"); %s",
                          hint);
    return ds_json_fail(p, "format", "expected \"" DS_ALIGNMENTS_FORMAT "\", got %s; %s",
                        ds_json_describe(v, got, sizeof got), hint);
  }
  TRY(ds_json_read_int64(p, ds_json_member(root, "version"), "version", 1, DS_JSON_MAX_INT,
                         "a positive integer", &x));
  if (x != DS_ALIGNMENTS_VERSION)
    return ds_json_fail(p, "version",
                        "this file is version %lld and this dsengine reads version %d; use a "
                        "matching dsengine, or run extract again",
                        (long long)x, DS_ALIGNMENTS_VERSION);
  TRY(ds_json_check_object(p, root, "", keys));
  TRY(ds_json_read_int(p, ds_json_member(root, "size"), "size", 1, MAX_FACE_SIZE,
                       "an integer from 1 to 65536", &a->size));
  TRY(ds_json_read_int(p, ds_json_member(root, "padding"), "padding", 0, MAX_FACE_SIZE,
                       "a non-negative integer", &a->padding));
  if (2 * a->padding >= a->size)
    return ds_json_fail(p, "padding",
                        "%d leaves no face inside size %d; 2 x padding must be below size",
                        a->padding, a->size);

  const cJSON *sources = ds_json_member(root, "sources");
  if (!cJSON_IsArray(sources))
    return ds_json_fail_type(p, "sources", "an array of sources", sources);
  int n = cJSON_GetArraySize(sources);
  if (n > 0 && !(a->sources = calloc((size_t)n, sizeof *a->sources)))
    return ds_json_no_memory(p, "the source records");
  a->source_cap = n;
  int i = 0;
  for (const cJSON *item = sources->child; item; item = item->next, i++)
    TRY(read_source(p, item, ds_json_index_key(key, "sources", i), a));
  return DS_OK;
}

ds_status ds_alignments_load(const char *path, ds_alignments *out, ds_error *err) {
  assert(path && out);
  memset(out, 0, sizeof *out);
  parser p;
  ds_json_reader_init(&p, path, DS_ERR_INVALID, err);
  static const ds_json_file_kind kind = {"alignments file", MAX_FILE_BYTES,
                                         "check the path, or run dsengine extract to write one",
                                         "Split the sources over several extract runs"};
  char *buf = NULL;
  size_t len = 0;
  TRY(ds_json_read_file(&p, path, &kind, &buf, &len));
  cJSON *root = NULL;
  ds_status st = ds_json_parse(&p, buf, len, "an alignments JSON object", &root);
  free(buf);
  if (st != DS_OK) return st;
  ds_alignments a = {0};
  st = read_root(&p, root, &a);
  cJSON_Delete(root);
  if (st != DS_OK) {
    ds_alignments_free(&a);
    return st;
  }
  *out = a;
  return DS_OK;
}
