#include "engine/detect/alignments.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/model/tensor_file.h"

/* 2^53: every integer up to it is exact in the double a JSON number becomes. */
static const double MAX_JSON_INT = 9007199254740992.0;
static const long MAX_FILE_BYTES = 1L << 30;
enum { MAX_PATH_BYTES = 4095, MAX_FACE_SIZE = 65536, KEY_LEN = 160 };

#define TRY(call)                                                                                  \
  do {                                                                                             \
    ds_status try_st_ = (call);                                                                    \
    if (try_st_ != DS_OK) return try_st_;                                                          \
  } while (0)

/* ------------------------------------------------------------ in memory */

void ds_alignments_init(ds_alignments *a, int size, int padding) {
  assert(a);
  memset(a, 0, sizeof *a);
  a->size = size;
  a->padding = padding;
}

ds_source_record *ds_alignments_source(ds_alignments *a, const char *path, int create) {
  assert(a && path);
  for (int i = 0; i < a->source_count; i++)
    if (strcmp(a->sources[i].path, path) == 0) return &a->sources[i];
  if (!create) return NULL;
  if (a->source_count == a->source_cap) {
    int cap = a->source_cap ? 2 * a->source_cap : 4;
    ds_source_record *grown = realloc(a->sources, sizeof *grown * (size_t)cap);
    if (!grown) return NULL;
    a->sources = grown;
    a->source_cap = cap;
  }
  ds_source_record *s = &a->sources[a->source_count];
  memset(s, 0, sizeof *s);
  s->path = strdup(path);
  if (!s->path) return NULL;
  a->source_count++;
  return s;
}

ds_status ds_alignments_add_frame(ds_source_record *s, int64_t index, double time,
                                  const ds_face_record *faces, int count, ds_error *err) {
  assert(s && s->path && count >= 0 && (faces || count == 0));
  if (index < 0)
    return ds_error_set(err, DS_ERR_INVALID, "%s: frame index %lld is negative", s->path,
                        (long long)index);
  if (s->frame_len > 0 && index <= s->frames[s->frame_len - 1].index)
    return ds_error_set(err, DS_ERR_INVALID,
                        "%s: frame %lld added after frame %lld; add frames in increasing index",
                        s->path, (long long)index, (long long)s->frames[s->frame_len - 1].index);
  if (s->frame_len == s->frame_cap) {
    int cap = s->frame_cap ? s->frame_cap + s->frame_cap / 2 + 1 : 64;
    ds_frame_record *grown = realloc(s->frames, sizeof *grown * (size_t)cap);
    if (!grown)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: no memory for %d frame records", s->path,
                          cap);
    s->frames = grown;
    s->frame_cap = cap;
  }
  ds_frame_record *f = &s->frames[s->frame_len];
  f->index = index;
  f->time = time;
  f->face_count = count;
  f->faces = NULL;
  if (count > 0) {
    f->faces = malloc(sizeof *faces * (size_t)count);
    if (!f->faces)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: no memory for the %d faces of frame %lld",
                          s->path, count, (long long)index);
    memcpy(f->faces, faces, sizeof *faces * (size_t)count);
  }
  s->frame_len++;
  return DS_OK;
}

const ds_frame_record *ds_alignments_frame(const ds_source_record *s, int64_t index) {
  int lo = 0, hi = s->frame_len;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (s->frames[mid].index < index)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->frame_len && s->frames[lo].index == index ? &s->frames[lo] : NULL;
}

void ds_alignments_free(ds_alignments *a) {
  if (!a) return;
  for (int i = 0; i < a->source_count; i++) {
    ds_source_record *s = &a->sources[i];
    for (int j = 0; j < s->frame_len; j++)
      free(s->frames[j].faces);
    free(s->frames);
    free(s->path);
  }
  free(a->sources);
  memset(a, 0, sizeof *a);
}

/* NULL when s may be a face file name; else why not. A name, not a path, so
 * that no alignments file can point extract or convert outside its folder. */
static const char *file_name_problem(const char *s) {
  if (strlen(s) >= DS_FACE_FILE_MAX) return "is longer than 255 bytes";
  if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return "is not a file name";
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '/' || *c == '\\') return "has a path separator; give a plain file name";
    if (*c < 0x20 || *c == 0x7f) return "has a control character";
  }
  return NULL;
}

/* ---------------------------------------------------------------- saving */

typedef struct text {
  char *data;
  size_t len, cap;
  int failed;
} outbuf;

static void put(outbuf *t, const char *s, size_t n) {
  if (t->failed) return;
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 1 << 16;
    while (t->len + n + 1 > cap)
      cap *= 2;
    char *grown = realloc(t->data, cap);
    if (!grown) {
      t->failed = 1;
      return;
    }
    t->data = grown;
    t->cap = cap;
  }
  memcpy(t->data + t->len, s, n);
  t->len += n;
  t->data[t->len] = '\0';
}

static void puts_(outbuf *t, const char *s) { put(t, s, strlen(s)); }

__attribute__((format(printf, 2, 3))) static void putf(outbuf *t, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  put(t, buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* The fewest digits that read back (through strtod, as cJSON reads) as
 * exactly x; float32 never needs more than 9, double more than 17. %g drops
 * trailing zeros, so starting at 6 digits still gives "0.5", not "0.500000". */
static void put_float(outbuf *t, float x) {
  char buf[32];
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, (double)x);
    if ((float)strtod(buf, NULL) == x) break;
  }
  puts_(t, buf);
}

static void put_double(outbuf *t, double x) {
  char buf[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) break;
  }
  puts_(t, buf);
}

static void put_floats(outbuf *t, const float *v, int n) {
  puts_(t, "[");
  for (int i = 0; i < n; i++) {
    if (i) puts_(t, ", ");
    put_float(t, v[i]);
  }
  puts_(t, "]");
}

/* A JSON string; bytes above 0x7f pass through as they are (UTF-8 paths). */
static void put_string(outbuf *t, const char *s) {
  puts_(t, "\"");
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\')
      putf(t, "\\%c", *c);
    else if (*c < 0x20)
      putf(t, "\\u%04x", *c);
    else
      put(t, (const char *)c, 1);
  }
  puts_(t, "\"");
}

static void put_face(outbuf *t, const ds_face_record *f) {
  puts_(t, "{\"box\": ");
  put_floats(t, f->box, 4);
  puts_(t, ", \"score\": ");
  put_double(t, f->score);
  puts_(t, ",\n             \"landmarks\": [");
  for (int i = 0; i < DS_FACE_LANDMARKS; i++) {
    puts_(t, i == 0 ? "" : i % 6 ? ", " : ",\n               ");
    put_floats(t, f->landmarks[i], 2);
  }
  puts_(t, "],\n             \"matrix\": ");
  put_floats(t, f->matrix, 6);
  puts_(t, ", \"file\": ");
  put_string(t, f->file);
  puts_(t, "}");
}

static void put_source(outbuf *t, const ds_source_record *s) {
  puts_(t, "    {\"path\": ");
  put_string(t, s->path);
  putf(t, ", \"kind\": \"%s\", \"width\": %d, \"height\": %d, \"frame_count\": %lld,\n",
       s->is_video ? "video" : "image", s->width, s->height, (long long)s->frame_count);
  puts_(t, "     \"frames\": [");
  for (int j = 0; j < s->frame_len; j++) {
    const ds_frame_record *fr = &s->frames[j];
    putf(t, "%s\n      {\"index\": %lld, \"time\": ", j ? "," : "", (long long)fr->index);
    put_double(t, fr->time);
    puts_(t, ", \"faces\": [");
    for (int k = 0; k < fr->face_count; k++) {
      puts_(t, k ? ",\n            " : "\n            ");
      put_face(t, &fr->faces[k]);
    }
    puts_(t, "]}");
  }
  puts_(t, s->frame_len ? "\n     ]}" : "]}");
}

static int all_finite(const float *v, int n) {
  for (int i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

/* Whatever save writes must load: the same rules, checked before writing. */
static ds_status check_face(const char *path, const char *key, const ds_face_record *f,
                            ds_error *err) {
  const char *field = !all_finite(f->box, 4)                                    ? "box"
                      : !isfinite(f->score)                                     ? "score"
                      : !all_finite(&f->landmarks[0][0], 2 * DS_FACE_LANDMARKS) ? "landmarks"
                      : !all_finite(f->matrix, 6)                               ? "matrix"
                                                                                : NULL;
  if (field)
    return ds_error_set(err, DS_ERR_INVALID,
                        "cannot save %s: %s.%s holds a NaN or infinity, which JSON cannot hold",
                        path, key, field);
  const char *why =
      memchr(f->file, '\0', sizeof f->file) ? file_name_problem(f->file) : "is not NUL-terminated";
  if (why) return ds_error_set(err, DS_ERR_INVALID, "cannot save %s: %s.file %s", path, key, why);
  return DS_OK;
}

static ds_status check_set(const char *path, const ds_alignments *a, ds_error *err) {
  char key[KEY_LEN];
  if (a->size < 1 || a->size > MAX_FACE_SIZE || a->padding < 0 || a->padding > (a->size - 1) / 2)
    return ds_error_set(err, DS_ERR_INVALID,
                        "cannot save %s: face size %d with padding %d; need 1 <= size <= %d and "
                        "0 <= 2 x padding < size",
                        path, a->size, a->padding, MAX_FACE_SIZE);
  for (int i = 0; i < a->source_count; i++) {
    const ds_source_record *s = &a->sources[i];
    size_t n = s->path ? strlen(s->path) : 0;
    if (n < 1 || n > MAX_PATH_BYTES || s->width < 1 || s->height < 1 || s->frame_count < -1 ||
        (double)s->frame_count > MAX_JSON_INT)
      return ds_error_set(err, DS_ERR_INVALID,
                          "cannot save %s: sources[%d] needs a path of 1 to %d bytes, a width and "
                          "height >= 1 and a frame_count from -1 (unknown) to 2^53",
                          path, i, MAX_PATH_BYTES);
    for (int j = 0; j < i; j++)
      if (strcmp(a->sources[j].path, s->path) == 0)
        return ds_error_set(err, DS_ERR_INVALID,
                            "cannot save %s: sources[%d] and sources[%d] have the same path", path,
                            j, i);
    for (int j = 0; j < s->frame_len; j++) {
      const ds_frame_record *fr = &s->frames[j];
      if (fr->index < 0 || (double)fr->index > MAX_JSON_INT || !isfinite(fr->time) ||
          fr->face_count < 0 || (j > 0 && fr->index <= s->frames[j - 1].index))
        return ds_error_set(err, DS_ERR_INVALID,
                            "cannot save %s: sources[%d].frames[%d] has index %lld, time %g and "
                            "%d faces; indices increase from 0, times are finite",
                            path, i, j, (long long)fr->index, fr->time, fr->face_count);
      for (int k = 0; k < fr->face_count; k++) {
        snprintf(key, sizeof key, "sources[%d].frames[%d].faces[%d]", i, j, k);
        TRY(check_face(path, key, &fr->faces[k], err));
      }
    }
  }
  return DS_OK;
}

ds_status ds_alignments_save(const char *path, const ds_alignments *a, ds_error *err) {
  assert(path && a);
  TRY(check_set(path, a, err));
  outbuf t = {0};
  putf(&t, "{\"format\": \"%s\", \"version\": %d, \"size\": %d, \"padding\": %d,\n",
       DS_ALIGNMENTS_FORMAT, DS_ALIGNMENTS_VERSION, a->size, a->padding);
  puts_(&t, " \"sources\": [");
  for (int i = 0; i < a->source_count; i++) {
    puts_(&t, i ? ",\n" : "\n");
    put_source(&t, &a->sources[i]);
  }
  puts_(&t, a->source_count ? "\n ]}\n" : "]}\n");
  ds_status st = t.failed ? ds_error_set(err, DS_ERR_NO_MEMORY,
                                         "cannot save %s: no memory for the JSON text", path)
                          : ds_file_write_atomic(path, t.data, t.len, err);
  free(t.data);
  return st;
}

/* --------------------------------------------------------------- loading */

typedef struct parser {
  char file[256]; /* the name errors start with, made printable */
  ds_error *err;
} parser;

/* s made safe for a one-line message: control characters escaped, quotes
 * escaped when quoted, cut to max_chars bytes with "...". */
static void printable(char *out, size_t cap, const char *s, size_t max_chars, int quote) {
  size_t n = 0;
  if (quote) out[n++] = '"';
  for (size_t i = 0; s[i] && n + 8 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (i == max_chars) {
      n += (size_t)snprintf(out + n, cap - n, "...");
      break;
    }
    if (quote && (ch == '"' || ch == '\\'))
      n += (size_t)snprintf(out + n, cap - n, "\\%c", ch);
    else if (ch < 0x20 || ch == 0x7f)
      n += (size_t)snprintf(out + n, cap - n, "\\x%02x", ch);
    else
      out[n++] = (char)ch;
  }
  if (quote) out[n++] = '"';
  out[n] = '\0';
}

/* What a JSON value is, for "got ..." in messages. */
static const char *describe(const cJSON *v, char *buf, size_t cap) {
  if (cJSON_IsString(v))
    printable(buf, cap, v->valuestring, 40, 1);
  else if (cJSON_IsNumber(v))
    snprintf(buf, cap, "%.9g", v->valuedouble);
  else if (cJSON_IsBool(v))
    snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
  else if (cJSON_IsNull(v))
    snprintf(buf, cap, "null");
  else if (cJSON_IsArray(v))
    snprintf(buf, cap, "an array of %d", cJSON_GetArraySize(v));
  else
    snprintf(buf, cap, "an object");
  return buf;
}

/* Every validation error: "<file>: <key>: <what>", or "<file>: <what>". */
__attribute__((format(printf, 3, 4))) static ds_status fail(parser *p, const char *key,
                                                            const char *fmt, ...) {
  char what[DS_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (key && key[0]) return ds_error_set(p->err, DS_ERR_INVALID, "%s: %s: %s", p->file, key, what);
  return ds_error_set(p->err, DS_ERR_INVALID, "%s: %s", p->file, what);
}

static ds_status fail_type(parser *p, const char *key, const char *expect, const cJSON *v) {
  char got[64];
  if (!v) return fail(p, key, "missing required key; expected %s", expect);
  return fail(p, key, "expected %s, got %s", expect, describe(v, got, sizeof got));
}

static ds_status no_memory(parser *p, const char *what) {
  return ds_error_set(p->err, DS_ERR_NO_MEMORY, "%s: no memory for %s", p->file, what);
}

/* Key paths are at most some 70 bytes ("sources[N].frames[N].faces[N].landmarks"
 * with 10-digit indices); the copies are bounded anyway, leaving room for a suffix. */
static size_t copy_parent(char *buf, const char *parent) {
  size_t n = strnlen(parent, KEY_LEN - 32);
  memcpy(buf, parent, n);
  buf[n] = '\0';
  return n;
}

static const char *sub_key(char *buf, const char *parent, const char *field) {
  size_t n = copy_parent(buf, parent);
  size_t m = strnlen(field, 30);
  if (n) buf[n++] = '.';
  memcpy(buf + n, field, m);
  buf[n + m] = '\0';
  return buf;
}

static const char *index_key(char *buf, const char *parent, int i) {
  size_t n = copy_parent(buf, parent);
  snprintf(buf + n, KEY_LEN - n, "[%d]", i);
  return buf;
}

/* obj must be an object whose keys are all in allowed (NULL-terminated),
 * each once: cJSON keeps a duplicate, and a silently ignored second "matrix"
 * would warp with a matrix the file does not seem to say. */
static ds_status check_object(parser *p, const cJSON *obj, const char *path,
                              const char *const *allowed) {
  char list[128] = "", key[KEY_LEN + 48], name[48];
  for (int i = 0; allowed[i]; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", allowed[i]);
  if (!cJSON_IsObject(obj)) {
    char expect[160];
    snprintf(expect, sizeof expect, "an object with keys %s", list);
    if (!path[0])
      return fail(p, NULL, "expected a JSON object at the top level, got %s",
                  cJSON_IsArray(obj) ? "an array" : "a single value");
    return fail_type(p, path, expect, obj);
  }
  for (const cJSON *item = obj->child; item; item = item->next) {
    int known = 0;
    for (int i = 0; allowed[i] && !known; i++)
      known = strcmp(item->string, allowed[i]) == 0;
    printable(name, sizeof name, item->string, 40, 0);
    snprintf(key, sizeof key, "%s%s%s", path, path[0] ? "." : "", name);
    if (!known) return fail(p, key, "unknown key; expected one of %s", list);
    for (const cJSON *prev = obj->child; prev != item; prev = prev->next)
      if (strcmp(prev->string, item->string) == 0)
        return fail(p, key, "duplicate key; give each key once");
  }
  return DS_OK;
}

static const cJSON *member(const cJSON *obj, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* An integer lo..hi; both within 2^53, where doubles hold integers exactly. */
static ds_status read_int(parser *p, const cJSON *v, const char *key, double lo, double hi,
                          const char *expect, int64_t *out) {
  /* !(a && b) rather than (!a || !b) so that a NaN also fails */
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
      v->valuedouble != floor(v->valuedouble))
    return fail_type(p, key, expect, v);
  *out = (int64_t)v->valuedouble;
  return DS_OK;
}

static ds_status read_dimension(parser *p, const cJSON *v, const char *key, int *out) {
  int64_t x = 0;
  TRY(read_int(p, v, key, 1, INT_MAX, "a positive integer (pixels)", &x));
  *out = (int)x;
  return DS_OK;
}

static ds_status read_double(parser *p, const cJSON *v, const char *key, double *out) {
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
    return fail_type(p, key, "a finite number", v);
  *out = v->valuedouble;
  return DS_OK;
}

static int read_f32(const cJSON *v, float *out) {
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return 0;
  *out = (float)v->valuedouble;
  return isfinite(*out);
}

static ds_status bad_f32(parser *p, const char *key, int i, int j, const cJSON *v) {
  char k[KEY_LEN + 24];
  snprintf(k, sizeof k, j < 0 ? "%s[%d]" : "%s[%d][%d]", key, i, j);
  return fail_type(p, k, "a finite number within float32 range", v);
}

/* Exactly n float32 numbers; what names them, e.g. "[left, top, right, bottom]". */
static ds_status read_floats(parser *p, const cJSON *v, const char *key, int n, const char *what,
                             float *out) {
  char expect[96];
  snprintf(expect, sizeof expect, "%d numbers %s", n, what);
  if (!cJSON_IsArray(v)) return fail_type(p, key, expect, v);
  int got = cJSON_GetArraySize(v);
  if (got != n) return fail(p, key, "expected %s, got %d", expect, got);
  int i = 0;
  for (const cJSON *item = v->child; item; item = item->next, i++)
    if (!read_f32(item, &out[i])) return bad_f32(p, key, i, -1, item);
  return DS_OK;
}

static ds_status read_landmarks(parser *p, const cJSON *v, const char *key,
                                float out[DS_FACE_LANDMARKS][2]) {
  char expect[48], k[KEY_LEN + 16];
  snprintf(expect, sizeof expect, "%d [x, y] pairs", DS_FACE_LANDMARKS);
  if (!cJSON_IsArray(v)) return fail_type(p, key, expect, v);
  int got = cJSON_GetArraySize(v);
  if (got != DS_FACE_LANDMARKS) return fail(p, key, "expected %s, got %d", expect, got);
  int i = 0;
  for (const cJSON *pair = v->child; pair; pair = pair->next, i++) {
    if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2) {
      snprintf(k, sizeof k, "%s[%d]", key, i);
      return fail_type(p, k, "an [x, y] pair of numbers", pair);
    }
    for (int j = 0; j < 2; j++)
      if (!read_f32(cJSON_GetArrayItem(pair, j), &out[i][j]))
        return bad_f32(p, key, i, j, cJSON_GetArrayItem(pair, j));
  }
  return DS_OK;
}

static ds_status read_face(parser *p, const cJSON *obj, const char *base, ds_face_record *f) {
  static const char *const keys[] = {"box", "score", "landmarks", "matrix", "file", NULL};
  char key[KEY_LEN];
  TRY(check_object(p, obj, base, keys));
  TRY(read_floats(p, member(obj, "box"), sub_key(key, base, "box"), 4, "[left, top, right, bottom]",
                  f->box));
  TRY(read_double(p, member(obj, "score"), sub_key(key, base, "score"), &f->score));
  TRY(read_landmarks(p, member(obj, "landmarks"), sub_key(key, base, "landmarks"), f->landmarks));
  TRY(read_floats(p, member(obj, "matrix"), sub_key(key, base, "matrix"), 6,
                  "[a, b, c, d, e, f] (a 2x3 affine)", f->matrix));
  const cJSON *v = member(obj, "file");
  sub_key(key, base, "file");
  if (!cJSON_IsString(v)) return fail_type(p, key, "a file name (a string)", v);
  const char *why = file_name_problem(v->valuestring);
  char got[64];
  if (why) return fail(p, key, "%s %s", describe(v, got, sizeof got), why);
  memcpy(f->file, v->valuestring, strlen(v->valuestring) + 1);
  return DS_OK;
}

static ds_status read_frame(parser *p, const cJSON *obj, const char *base, ds_source_record *s) {
  static const char *const keys[] = {"index", "time", "faces", NULL};
  char key[KEY_LEN], face_key[KEY_LEN];
  TRY(check_object(p, obj, base, keys));
  ds_frame_record *fr = &s->frames[s->frame_len];
  TRY(read_int(p, member(obj, "index"), sub_key(key, base, "index"), 0, MAX_JSON_INT,
               "an integer from 0 to 2^53", &fr->index));
  if (s->frame_len > 0 && fr->index <= s->frames[s->frame_len - 1].index)
    return fail(p, key,
                "%lld follows frames[%d].index %lld; frames must be in increasing index order, "
                "each once",
                (long long)fr->index, s->frame_len - 1,
                (long long)s->frames[s->frame_len - 1].index);
  TRY(read_double(p, member(obj, "time"), sub_key(key, base, "time"), &fr->time));
  const cJSON *faces = member(obj, "faces");
  sub_key(key, base, "faces");
  if (!cJSON_IsArray(faces)) return fail_type(p, key, "an array of faces (may be empty)", faces);
  int n = cJSON_GetArraySize(faces);
  if (n > 0 && !(fr->faces = calloc((size_t)n, sizeof *fr->faces)))
    return no_memory(p, "the faces of a frame");
  s->frame_len++; /* from here on the frame is the set's, freed with it */
  int k = 0;
  for (const cJSON *item = faces->child; item; item = item->next, k++)
    TRY(read_face(p, item, index_key(face_key, key, k), &fr->faces[k]));
  fr->face_count = n;
  return DS_OK;
}

static ds_status read_source(parser *p, const cJSON *obj, const char *base, ds_alignments *a) {
  static const char *const keys[] = {"path",        "kind",   "width", "height",
                                     "frame_count", "frames", NULL};
  char key[KEY_LEN], frame_key[KEY_LEN], got[64];
  TRY(check_object(p, obj, base, keys));
  ds_source_record *s = &a->sources[a->source_count];

  const cJSON *v = member(obj, "path");
  sub_key(key, base, "path");
  if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > MAX_PATH_BYTES)
    return fail_type(p, key, "a path of 1 to 4095 bytes", v);
  for (int i = 0; i < a->source_count; i++)
    if (strcmp(a->sources[i].path, v->valuestring) == 0)
      return fail(p, key, "%s is also sources[%d].path; list each source once",
                  describe(v, got, sizeof got), i);
  if (!(s->path = strdup(v->valuestring))) return no_memory(p, "a source path");
  a->source_count++; /* from here on the source is the set's, freed with it */

  v = member(obj, "kind");
  sub_key(key, base, "kind");
  if (!cJSON_IsString(v) ||
      (strcmp(v->valuestring, "video") != 0 && strcmp(v->valuestring, "image") != 0))
    return fail_type(p, key, "\"video\" or \"image\"", v);
  s->is_video = strcmp(v->valuestring, "video") == 0;
  TRY(read_dimension(p, member(obj, "width"), sub_key(key, base, "width"), &s->width));
  TRY(read_dimension(p, member(obj, "height"), sub_key(key, base, "height"), &s->height));
  TRY(read_int(p, member(obj, "frame_count"), sub_key(key, base, "frame_count"), -1, MAX_JSON_INT,
               "an integer from -1 (unknown) to 2^53", &s->frame_count));

  const cJSON *frames = member(obj, "frames");
  sub_key(key, base, "frames");
  if (!cJSON_IsArray(frames))
    return fail_type(p, key, "an array of frames (every processed frame)", frames);
  int n = cJSON_GetArraySize(frames);
  if (n > 0 && !(s->frames = calloc((size_t)n, sizeof *s->frames)))
    return no_memory(p, "the frame records");
  s->frame_cap = n;
  int j = 0;
  for (const cJSON *item = frames->child; item; item = item->next, j++)
    TRY(read_frame(p, item, index_key(frame_key, key, j), s));
  return DS_OK;
}

static ds_status read_root(parser *p, const cJSON *root, ds_alignments *a) {
  static const char *const keys[] = {"format", "version", "size", "padding", "sources", NULL};
  char key[KEY_LEN];
  int64_t x = 0;
  if (!cJSON_IsObject(root)) return check_object(p, root, "", keys);
  /* format and version first: another file, or a newer one, is named as
   * such rather than by its first key this version does not know */
  const cJSON *v = member(root, "format");
  if (!cJSON_IsString(v) || strcmp(v->valuestring, DS_ALIGNMENTS_FORMAT) != 0) {
    char got[64];
    const char *hint = "is this an alignments file written by dsengine extract?";
    if (!v)
      return fail(p, "format", "missing required key (\"" DS_ALIGNMENTS_FORMAT "\"); %s", hint);
    return fail(p, "format", "expected \"" DS_ALIGNMENTS_FORMAT "\", got %s; %s",
                describe(v, got, sizeof got), hint);
  }
  v = member(root, "version");
  TRY(read_int(p, v, "version", 1, MAX_JSON_INT, "a positive integer", &x));
  if (x != DS_ALIGNMENTS_VERSION)
    return fail(p, "version",
                "this file is version %lld and this dsengine reads version %d; use a matching "
                "dsengine, or run extract again",
                (long long)x, DS_ALIGNMENTS_VERSION);
  TRY(check_object(p, root, "", keys));
  TRY(read_int(p, member(root, "size"), "size", 1, MAX_FACE_SIZE, "an integer from 1 to 65536",
               &x));
  a->size = (int)x;
  TRY(read_int(p, member(root, "padding"), "padding", 0, MAX_FACE_SIZE, "a non-negative integer",
               &x));
  a->padding = (int)x;
  if (2 * a->padding >= a->size)
    return fail(p, "padding", "%d leaves no face inside size %d; 2 x padding must be below size",
                a->padding, a->size);

  const cJSON *sources = member(root, "sources");
  if (!cJSON_IsArray(sources)) return fail_type(p, "sources", "an array of sources", sources);
  int n = cJSON_GetArraySize(sources);
  if (n > 0 && !(a->sources = calloc((size_t)n, sizeof *a->sources)))
    return no_memory(p, "the source records");
  a->source_cap = n;
  int i = 0;
  for (const cJSON *item = sources->child; item; item = item->next, i++)
    TRY(read_source(p, item, index_key(key, "sources", i), a));
  return DS_OK;
}

/* Whether the text stops inside an unfinished value, and pos (where cJSON
 * gave up) is in the last token: a file cut short rather than one with a
 * stray character. cJSON reports an unfinished string or number at its start. */
static int cut_short(const char *text, size_t len, size_t pos) {
  int depth = 0, in_string = 0, escaped = 0;
  size_t after_last_mark = 0;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = 0;
      else if (c == '\\')
        escaped = 1;
      else if (c == '"')
        in_string = 0;
      continue;
    }
    if (c == '"') in_string = 1;
    if (c == '[' || c == '{') depth++;
    if (c == ']' || c == '}') depth--;
    if (strchr("[]{},:", c)) after_last_mark = i + 1;
  }
  return (in_string || depth > 0) && pos >= after_last_mark;
}

static ds_status syntax_error(parser *p, const char *text, size_t len, const char *at) {
  size_t pos = at && at >= text ? (size_t)(at - text) : 0;
  if (pos > len) pos = len;
  if (strspn(text, " \t\r\n") == len)
    return fail(p, NULL, "the file is empty; expected an alignments JSON object");
  int line = 1, col = 1;
  for (size_t i = 0; i < pos; i++) {
    col = text[i] == '\n' ? 1 : col + 1;
    line += text[i] == '\n';
  }
  if (cut_short(text, len, pos))
    return fail(p, NULL,
                "line %d, column %d: the JSON ends early; the file was cut short (an interrupted "
                "extract or copy?)",
                line, col);
  char piece[17], near[64];
  size_t take = strcspn(text + pos, "\r\n");
  if (take > 16) take = 16;
  memcpy(piece, text + pos, take);
  piece[take] = '\0';
  printable(near, sizeof near, piece, 16, 1);
  return fail(p, NULL,
              "line %d, column %d: invalid JSON syntax near %s; look for a missing or extra "
              "comma, quote or bracket",
              line, col, near);
}

/* The whole file, NUL-terminated, after the checks that need no parse. */
static ds_status read_text(const char *path, parser *p, char **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
      return ds_error_set(p->err, DS_ERR_NOT_FOUND,
                          "%s: alignments file not found; check the path, or run dsengine "
                          "extract to write one",
                          p->file);
    return ds_error_set(p->err, DS_ERR_IO, "%s: cannot open the alignments file: %s", p->file,
                        strerror(e));
  }
  struct stat st;
  ds_status result = DS_OK;
  char *buf = NULL;
  size_t n = 0;
  if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
    result =
        ds_error_set(p->err, DS_ERR_INVALID, "%s: is a folder, not an alignments file", p->file);
  } else if (st.st_size > MAX_FILE_BYTES) {
    result = ds_error_set(p->err, DS_ERR_INVALID,
                          "%s: %lld bytes, over the 1 GiB an alignments file may have; is it the "
                          "right file? Split the sources over several extract runs",
                          p->file, (long long)st.st_size);
  } else if (!(buf = malloc((size_t)st.st_size + 1))) {
    result = no_memory(p, "the file's text");
  } else {
    n = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f))
      result = ds_error_set(p->err, DS_ERR_IO, "%s: cannot read the alignments file: %s", p->file,
                            strerror(errno));
    else if (memchr(buf, '\0', n))
      result = ds_error_set(p->err, DS_ERR_INVALID,
                            "%s: has a NUL byte at offset %zu; an alignments file is JSON text",
                            p->file, (size_t)((char *)memchr(buf, '\0', n) - buf));
  }
  fclose(f);
  if (result != DS_OK) {
    free(buf);
    return result;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return DS_OK;
}

ds_status ds_alignments_load(const char *path, ds_alignments *out, ds_error *err) {
  assert(path && out);
  memset(out, 0, sizeof *out);
  parser p = {.err = err};
  size_t name_len = strlen(path);
  /* keep the end of a long path: the file name is the useful part */
  printable(p.file, sizeof p.file, name_len > 200 ? path + name_len - 200 : path, 200, 0);

  char *buf = NULL;
  size_t len = 0;
  TRY(read_text(path, &p, &buf, &len));
  size_t bom = len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
  const char *end = NULL;
  /* the length counts the NUL: cJSON checks that the text ends there */
  cJSON *root = cJSON_ParseWithLengthOpts(buf + bom, len - bom + 1, &end, 1);
  if (!root) {
    ds_status st = syntax_error(&p, buf, len, end ? end : cJSON_GetErrorPtr());
    free(buf);
    return st;
  }
  free(buf);

  ds_alignments a = {0};
  ds_status st = read_root(&p, root, &a);
  cJSON_Delete(root);
  if (st != DS_OK) {
    ds_alignments_free(&a);
    return st;
  }
  *out = a;
  return DS_OK;
}
