/* JSON reading with key-path errors (core/json_read.h). */
#include "core/json_read.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ds_json_reader_init(ds_json_reader *p, const char *name, ds_status code, ds_error *err) {
  p->code = code;
  p->err = err;
  size_t n = strlen(name);
  if (n > 200) {
    char cut[210];
    snprintf(cut, sizeof cut, "...%s", name + n - 200);
    ds_json_printable(p->file, sizeof p->file, cut, 210, 0);
  } else {
    ds_json_printable(p->file, sizeof p->file, name, 210, 0);
  }
}

void ds_json_printable(char *out, size_t cap, const char *s, size_t max_chars, int quote) {
  size_t n = 0;
  if (quote && n + 1 < cap) out[n++] = '"';
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
  if (quote && n + 1 < cap) out[n++] = '"';
  out[n] = '\0';
}

void ds_json_shortest(char *out, size_t cap, double d, int as_float) {
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(out, cap, "%.*g", prec, d);
    double back = strtod(out, NULL);
    if (as_float ? (float)back == (float)d : back == d) return;
  }
}

const char *ds_json_describe(const cJSON *v, char *buf, size_t cap) {
  if (cJSON_IsString(v))
    ds_json_printable(buf, cap, v->valuestring, 40, 1);
  else if (cJSON_IsNumber(v))
    ds_json_shortest(buf, cap, v->valuedouble, 0);
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

ds_status ds_json_fail(ds_json_reader *p, const char *key, const char *fmt, ...) {
  char what[DS_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (key && key[0]) return ds_error_set(p->err, p->code, "%s: %s: %s", p->file, key, what);
  return ds_error_set(p->err, p->code, "%s: %s", p->file, what);
}

ds_status ds_json_fail_type(ds_json_reader *p, const char *key, const char *expect,
                            const cJSON *v) {
  char got[64];
  if (!v) return ds_json_fail(p, key, "missing required key; expected %s", expect);
  return ds_json_fail(p, key, "expected %s, got %s", expect, ds_json_describe(v, got, sizeof got));
}

ds_status ds_json_no_memory(ds_json_reader *p, const char *what) {
  return ds_error_set(p->err, DS_ERR_NO_MEMORY, "%s: no memory for %s", p->file, what);
}

/* Key paths are at most some 70 bytes ("sources[N].frames[N].faces[N].landmarks"
 * with 10-digit indices); the copies are bounded anyway, leaving room for a suffix. */
static size_t copy_parent(char *buf, const char *parent) {
  size_t n = strnlen(parent, DS_JSON_KEY_MAX - 48);
  memcpy(buf, parent, n);
  buf[n] = '\0';
  return n;
}

const char *ds_json_key(char *buf, const char *parent, const char *field) {
  char safe[44];
  ds_json_printable(safe, sizeof safe, field, 32, 0);
  size_t n = copy_parent(buf, parent);
  snprintf(buf + n, DS_JSON_KEY_MAX - n, "%s%s", n ? "." : "", safe);
  return buf;
}

const char *ds_json_index_key(char *buf, const char *parent, int i) {
  size_t n = copy_parent(buf, parent);
  snprintf(buf + n, DS_JSON_KEY_MAX - n, "[%d]", i);
  return buf;
}

ds_status ds_json_check_object(ds_json_reader *p, const cJSON *obj, const char *path,
                               const char *const *allowed) {
  char list[256] = "", key[DS_JSON_KEY_MAX];
  for (int i = 0; allowed[i]; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", allowed[i]);
  if (!cJSON_IsObject(obj)) {
    char expect[300];
    snprintf(expect, sizeof expect, "an object with keys %s", list);
    if (!path[0])
      return ds_json_fail(p, NULL, "expected a JSON object at the top level, got %s",
                          cJSON_IsArray(obj) ? "an array" : "a single value");
    return ds_json_fail_type(p, path, expect, obj);
  }
  for (const cJSON *item = obj->child; item; item = item->next) {
    int known = 0;
    for (int i = 0; allowed[i] && !known; i++)
      known = strcmp(item->string, allowed[i]) == 0;
    ds_json_key(key, path, item->string);
    if (!known) return ds_json_fail(p, key, "unknown key; expected one of %s", list);
    for (const cJSON *prev = obj->child; prev != item; prev = prev->next)
      if (strcmp(prev->string, item->string) == 0)
        return ds_json_fail(p, key, "duplicate key; give each key once");
  }
  return DS_OK;
}

const cJSON *ds_json_member(const cJSON *obj, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(obj, key);
}

ds_status ds_json_read_int64(ds_json_reader *p, const cJSON *v, const char *key, double lo,
                             double hi, const char *expect, int64_t *out) {
  /* !(a && b) rather than (!a || !b) so that a NaN also fails */
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
      v->valuedouble != floor(v->valuedouble))
    return ds_json_fail_type(p, key, expect, v);
  *out = (int64_t)v->valuedouble;
  return DS_OK;
}

ds_status ds_json_read_int(ds_json_reader *p, const cJSON *v, const char *key, int lo, int hi,
                           const char *expect, int *out) {
  int64_t x = 0;
  DS_JSON_TRY(ds_json_read_int64(p, v, key, lo, hi, expect, &x));
  *out = (int)x;
  return DS_OK;
}

ds_status ds_json_read_finite(ds_json_reader *p, const cJSON *v, const char *key, double *out) {
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
    return ds_json_fail_type(p, key, "a finite number", v);
  *out = v->valuedouble;
  return DS_OK;
}

ds_status ds_json_read_string(ds_json_reader *p, const cJSON *v, const char *key,
                              const char *expect, const char **out) {
  if (!cJSON_IsString(v)) return ds_json_fail_type(p, key, expect, v);
  *out = v->valuestring;
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

static ds_status syntax_error(ds_json_reader *p, const char *text, size_t len, const char *at,
                              const char *what) {
  size_t pos = at && at >= text ? (size_t)(at - text) : 0;
  if (pos > len) pos = len;
  if (strspn(text, " \t\r\n") == len)
    return ds_json_fail(p, NULL, "the file is empty; expected %s", what);
  int line = 1, col = 1;
  for (size_t i = 0; i < pos; i++) {
    col = text[i] == '\n' ? 1 : col + 1;
    line += text[i] == '\n';
  }
  if (cut_short(text, len, pos))
    return ds_json_fail(p, NULL,
                        "line %d, column %d: the JSON ends early; the file was cut short (an "
                        "interrupted write or copy?)",
                        line, col);
  char near[64] = "the end of the text";
  if (pos < len) {
    char piece[17];
    size_t take = strcspn(text + pos, "\r\n");
    if (take > 16) take = 16;
    memcpy(piece, text + pos, take);
    piece[take] = '\0';
    ds_json_printable(near, sizeof near, piece, 16, 1);
  }
  return ds_json_fail(p, NULL,
                      "line %d, column %d: invalid JSON syntax near %s; look for a missing or "
                      "extra comma, quote or bracket",
                      line, col, near);
}

ds_status ds_json_parse(ds_json_reader *p, const char *text, size_t len, const char *what,
                        cJSON **root) {
  size_t bom = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
  const char *end = NULL;
  /* the length counts the NUL: cJSON checks that the text ends there */
  *root = cJSON_ParseWithLengthOpts(text + bom, len - bom + 1, &end, 1);
  if (*root) return DS_OK;
  return syntax_error(p, text, len, end ? end : cJSON_GetErrorPtr(), what);
}

static const char *article(const char *noun) { return strchr("aeiou", noun[0]) ? "an" : "a"; }

static void size_text(char *out, size_t cap, long bytes) {
  if (bytes >= (1L << 30) && bytes % (1L << 30) == 0)
    snprintf(out, cap, "%ld GiB", bytes >> 30);
  else if (bytes >= (1L << 20) && bytes % (1L << 20) == 0)
    snprintf(out, cap, "%ld MiB", bytes >> 20);
  else
    snprintf(out, cap, "%ld bytes", bytes);
}

ds_status ds_json_read_file(ds_json_reader *p, const char *path, const ds_json_file_kind *kind,
                            char **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  const char *noun = kind->noun, *a = article(noun);
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
      return ds_error_set(p->err, DS_ERR_NOT_FOUND, "%s: %s not found; %s", p->file, noun,
                          kind->missing_hint);
    return ds_error_set(p->err, DS_ERR_IO, "%s: cannot open the %s: %s", p->file, noun,
                        strerror(e));
  }
  struct stat st;
  ds_status result = DS_OK;
  char *buf = NULL, limit[32];
  size_t n = 0;
  if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
    result = ds_error_set(p->err, DS_ERR_INVALID, "%s: is a folder, not %s %s", p->file, a, noun);
  } else if (st.st_size > kind->max_bytes) {
    size_text(limit, sizeof limit, kind->max_bytes);
    result = ds_error_set(p->err, p->code,
                          "%s: %lld bytes, over the %s %s %s may have; is it the right file?%s%s",
                          p->file, (long long)st.st_size, limit, a, noun,
                          kind->large_hint ? " " : "", kind->large_hint ? kind->large_hint : "");
  } else if (!(buf = malloc((size_t)st.st_size + 1))) {
    result = ds_json_no_memory(p, "the file's text");
  } else {
    n = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f))
      result = ds_error_set(p->err, DS_ERR_IO, "%s: cannot read the %s: %s", p->file, noun,
                            strerror(errno));
    else if (memchr(buf, '\0', n))
      result = ds_error_set(p->err, p->code, "%s: has a NUL byte at offset %zu; %s %s is JSON text",
                            p->file, (size_t)((char *)memchr(buf, '\0', n) - buf), a, noun);
  }
  fclose(f);
  if (result != DS_OK) {
    free(buf);
    return result;
  }
  buf[n] = '\0';
  *out = buf;
  *out_len = n;
  return DS_OK;
}
