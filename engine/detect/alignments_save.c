/* Writing alignments.json: every rule the reader checks is checked before
 * writing, then the text goes out by hand (one face a line, every float in
 * its shortest exact form, so files diff well and read back bit for bit)
 * and through the atomic writer. */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/json_read.h"
#include "engine/detect/alignments.h"

enum { MAX_PATH_BYTES = 4095, MAX_FACE_SIZE = 65536, KEY_LEN = 160 };

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
  const char *why = memchr(f->file, '\0', sizeof f->file) ? ds_alignments_file_name_problem(f->file)
                                                          : "is not NUL-terminated";
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
        (double)s->frame_count > DS_JSON_MAX_INT)
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
      if (fr->index < 0 || (double)fr->index > DS_JSON_MAX_INT || !isfinite(fr->time) ||
          fr->face_count < 0 || (j > 0 && fr->index <= s->frames[j - 1].index))
        return ds_error_set(err, DS_ERR_INVALID,
                            "cannot save %s: sources[%d].frames[%d] has index %lld, time %g and "
                            "%d faces; indices increase from 0, times are finite",
                            path, i, j, (long long)fr->index, fr->time, fr->face_count);
      for (int k = 0; k < fr->face_count; k++) {
        snprintf(key, sizeof key, "sources[%d].frames[%d].faces[%d]", i, j, k);
        DS_JSON_TRY(check_face(path, key, &fr->faces[k], err));
      }
    }
  }
  return DS_OK;
}

ds_status ds_alignments_save(const char *path, const ds_alignments *a, ds_error *err) {
  assert(path && a);
  DS_JSON_TRY(check_set(path, a, err));
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
