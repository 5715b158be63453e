/* Reading JSON files a user hands us, or that we wrote, through cJSON, with
 * errors that name the file and the key path ("faces/A/alignments.json:
 * sources[0].frames[3].index: expected an integer from 0 to 2^53, got 1.5"),
 * one line each. Used by the model config, the alignments file and the
 * checkpoint's model.json; one set of rules and one number format for all.
 *
 * A reader carries the file name for messages and the status its failures
 * return: DS_ERR_INVALID for a file a user writes (a config), DS_ERR_CORRUPT
 * for one the engine wrote. */
#ifndef DS_CORE_JSON_READ_H
#define DS_CORE_JSON_READ_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DS_JSON_TRY(call)                                                                          \
  do {                                                                                             \
    ds_status ds_json_try_ = (call);                                                               \
    if (ds_json_try_ != DS_OK) return ds_json_try_;                                                \
  } while (0)

/* 2^53: every integer up to it is exact in the double a JSON number becomes. */
#define DS_JSON_MAX_INT 9007199254740992.0

enum { DS_JSON_KEY_MAX = 160 };

typedef struct ds_json_reader {
  char file[256]; /* the name errors start with, made printable */
  ds_status code; /* what a validation failure returns */
  ds_error *err;
} ds_json_reader;

/* A reader for `name` (a path; a long one keeps its end, the file name). */
void ds_json_reader_init(ds_json_reader *p, const char *name, ds_status code, ds_error *err);

/* s made safe for a one-line message: control characters as \xNN, quotes and
 * backslashes escaped when quoted, cut to max_chars bytes with "...". */
void ds_json_printable(char *out, size_t cap, const char *s, size_t max_chars, int quote);
/* The shortest %g text that reads back as exactly d (as float when as_float):
 * 5e-05, not 4.99999987e-05. */
void ds_json_shortest(char *out, size_t cap, double d, int as_float);
/* What a value is, for "got ..." in messages: a string quoted, a number in
 * its shortest form, true, false, null, "an array of N", "an object". */
const char *ds_json_describe(const cJSON *v, char *buf, size_t cap);

/* Every validation error: "<file>: <key>: <what>", or "<file>: <what>";
 * returns p->code. */
ds_status ds_json_fail(ds_json_reader *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "<key>: missing required key; expected <expect>" or "expected <expect>,
 * got <what v is>". */
ds_status ds_json_fail_type(ds_json_reader *p, const char *key, const char *expect, const cJSON *v);
/* DS_ERR_NO_MEMORY: "<file>: no memory for <what>". */
ds_status ds_json_no_memory(ds_json_reader *p, const char *what);

/* Key paths: parent.field and parent[i] (parent may be ""), cut to fit
 * DS_JSON_KEY_MAX; buf must hold DS_JSON_KEY_MAX bytes. */
const char *ds_json_key(char *buf, const char *parent, const char *field);
const char *ds_json_index_key(char *buf, const char *parent, int i);

/* obj must be an object whose keys are all in allowed (NULL-terminated),
 * each once: cJSON keeps duplicates, and a silently ignored second key would
 * be a file that does not do what it says. path "" is the top level. */
ds_status ds_json_check_object(ds_json_reader *p, const cJSON *obj, const char *path,
                               const char *const *allowed);
const cJSON *ds_json_member(const cJSON *obj, const char *key);

/* An integer in [lo, hi] (both within 2^53); expect names the range. */
ds_status ds_json_read_int64(ds_json_reader *p, const cJSON *v, const char *key, double lo,
                             double hi, const char *expect, int64_t *out);
ds_status ds_json_read_int(ds_json_reader *p, const cJSON *v, const char *key, int lo, int hi,
                           const char *expect, int *out);
/* Any finite number. */
ds_status ds_json_read_finite(ds_json_reader *p, const cJSON *v, const char *key, double *out);
/* A string; *out points into v. */
ds_status ds_json_read_string(ds_json_reader *p, const cJSON *v, const char *key,
                              const char *expect, const char **out);

/* Parses text (NUL-terminated, len bytes; a UTF-8 byte order mark is
 * skipped). A syntax error names the line and column, and says when the
 * text was cut short rather than malformed. what: "an alignments JSON
 * object", for the empty-text message. */
ds_status ds_json_parse(ds_json_reader *p, const char *text, size_t len, const char *what,
                        cJSON **root);
/* What ds_json_read_file says of a file: its noun ("alignments file"), its
 * size limit, what to do when it is missing, and when it is too large (may
 * be NULL). */
typedef struct ds_json_file_kind {
  const char *noun;
  long max_bytes;
  const char *missing_hint;
  const char *large_hint;
} ds_json_file_kind;

/* Reads a whole file, NUL-terminated, refusing a folder, a file over the
 * kind's limit and NUL bytes. */
ds_status ds_json_read_file(ds_json_reader *p, const char *path, const ds_json_file_kind *kind,
                            char **text, size_t *len);

#endif
