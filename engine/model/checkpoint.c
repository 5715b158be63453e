#include "engine/model/checkpoint.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/json_read.h"

static const char format_name[] = "dsengine-checkpoint";
enum {
  FORMAT_VERSION = 1,
  PATH_CAP = 4096,
  FILE_NAME_CAP = 64,
  DIR_MAX = PATH_CAP - FILE_NAME_CAP - 32,
  PROBLEM_CAP = 768,
};
/* model.json holds the caller's state (loss history): generous, but bounded
 * so a corrupt or hostile file cannot ask for an absurd allocation. */
#define INDEX_MAX_BYTES ((long)256 << 20)
/* Iterations are JSON numbers (doubles): exact up to 2^53. */
#define ITERATION_MAX ((int64_t)1 << 53)

/* One checkpoint as model.json names it. */
typedef struct entry {
  int present;
  int64_t iteration;
  char weights[FILE_NAME_CAP];
  char optimizer[FILE_NAME_CAP];
  uint32_t weights_crc, optimizer_crc;
} entry;

/* Fills a fixed-size message buffer; text past its end (a very long path) is cut. */
static void format_text(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void format_text(char *out, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, cap, fmt, ap);
  va_end(ap);
}

static void join(char *out, const char *dir, const char *name) {
  snprintf(out, PATH_CAP, "%s/%s", dir, name);
}

/* ---------------------------------------------------------------- model.json */

/* A file name from model.json must stay inside the model folder. */
static int plain_name(const char *s) {
  return s && *s && strlen(s) < FILE_NAME_CAP && !strchr(s, '/') && strcmp(s, ".") != 0 &&
         strcmp(s, "..") != 0;
}

/* One entry (the current checkpoint at the top level, or "backup"). */
static ds_status entry_from_json(ds_json_reader *p, const cJSON *obj, const char *base, entry *e) {
  char key[DS_JSON_KEY_MAX];
  const char *name;
  memset(e, 0, sizeof *e);
  if (!cJSON_IsObject(obj)) return ds_json_fail_type(p, base, "an object", obj);
  DS_JSON_TRY(ds_json_read_int64(p, ds_json_member(obj, "iteration"),
                                 ds_json_key(key, base, "iteration"), 0, (double)ITERATION_MAX,
                                 "an integer from 0 to 2^53", &e->iteration));
  const char *files[2] = {"weights", "optimizer"};
  char *names[2] = {e->weights, e->optimizer};
  for (int i = 0; i < 2; i++) {
    DS_JSON_TRY(ds_json_read_string(p, ds_json_member(obj, files[i]),
                                    ds_json_key(key, base, files[i]),
                                    "a file name in the model folder", &name));
    if (!plain_name(name))
      return ds_json_fail_type(p, key, "a file name in the model folder",
                               ds_json_member(obj, files[i]));
    snprintf(names[i], FILE_NAME_CAP, "%s", name);
  }
  const char *crcs[2] = {"weights_crc", "optimizer_crc"};
  uint32_t *crc[2] = {&e->weights_crc, &e->optimizer_crc};
  for (int i = 0; i < 2; i++) {
    int64_t v = 0;
    DS_JSON_TRY(ds_json_read_int64(p, ds_json_member(obj, crcs[i]), ds_json_key(key, base, crcs[i]),
                                   0, 4294967295.0, "a CRC-32 (an integer from 0 to 2^32 - 1)",
                                   &v));
    *crc[i] = (uint32_t)v;
  }
  e->present = 1;
  return DS_OK;
}

/* Adds the entry's fields to obj; 1 on success. */
static int entry_to_json(cJSON *obj, const entry *e) {
  return cJSON_AddNumberToObject(obj, "iteration", (double)e->iteration) &&
         cJSON_AddStringToObject(obj, "weights", e->weights) &&
         cJSON_AddStringToObject(obj, "optimizer", e->optimizer) &&
         cJSON_AddNumberToObject(obj, "weights_crc", (double)e->weights_crc) &&
         cJSON_AddNumberToObject(obj, "optimizer_crc", (double)e->optimizer_crc);
}

static const char index_remedy[] =
    "; restore the model folder from a copy or delete it to train anew";

/* Reads and parses dir/model.json; checks the format and version. */
static ds_status read_index(ds_json_reader *p, const char *dir, const char *path, cJSON **root) {
  static const ds_json_file_kind kind = {"checkpoint index", INDEX_MAX_BYTES,
                                         "no checkpoint here (no model.json)", NULL};
  *root = NULL;
  char *text = NULL;
  size_t len = 0;
  ds_status st = ds_json_read_file(p, path, &kind, &text, &len);
  if (st == DS_ERR_NOT_FOUND)
    return ds_error_set(p->err, DS_ERR_NOT_FOUND, "%s: no checkpoint here (no model.json)", dir);
  if (st == DS_OK) st = ds_json_parse(p, text, len, "a checkpoint index (JSON object)", root);
  free(text);
  if (st == DS_OK) {
    const cJSON *fmt = ds_json_member(*root, "format"), *ver = ds_json_member(*root, "version");
    if (!cJSON_IsObject(*root))
      st = ds_json_fail(p, NULL, "expected a JSON object at the top level");
    else if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, format_name) != 0)
      st = ds_json_fail_type(p, "format", "\"dsengine-checkpoint\"", fmt);
    else if (!cJSON_IsNumber(ver) || ver->valuedouble != FORMAT_VERSION)
      st = ds_json_fail_type(p, "version", "1 (the version this build reads)", ver);
  }
  if (st == DS_ERR_CORRUPT) ds_error_append(p->err, "%s", index_remedy);
  if (st != DS_OK) {
    cJSON_Delete(*root);
    *root = NULL;
  }
  return st;
}

/* ---------------------------------------------------------------- saving */

static void entry_names(entry *e, int64_t iteration) {
  e->present = 1;
  e->iteration = iteration;
  snprintf(e->weights, sizeof e->weights, "weights-%08lld.bin", (long long)iteration);
  snprintf(e->optimizer, sizeof e->optimizer, "optimizer-%08lld.bin", (long long)iteration);
}

/* Whether a file exists and ends with crc. Reads 4 bytes, not the file: the
 * full check happens on load; this only keeps a backup that was clearly
 * truncated or replaced from displacing an older, good one. */
static int ends_with_crc(const char *dir, const char *name, uint32_t crc) {
  char path[PATH_CAP];
  join(path, dir, name);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  struct stat sb;
  unsigned char b[4];
  int ok = fstat(fd, &sb) == 0 && sb.st_size >= 28 && pread(fd, b, 4, sb.st_size - 4) == 4 &&
           (b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24) == crc;
  close(fd);
  return ok;
}

static int usable_backup(const char *dir, const entry *e, const entry *cur) {
  return e->present && e->iteration != cur->iteration && strcmp(e->weights, cur->weights) != 0 &&
         strcmp(e->optimizer, cur->optimizer) != 0 &&
         ends_with_crc(dir, e->weights, e->weights_crc) &&
         ends_with_crc(dir, e->optimizer, e->optimizer_crc);
}

/* weights-<digits>.bin, optimizer-<digits>.bin, and temporary files of
 * either or of model.json that a crash left behind. */
static int is_checkpoint_file(const char *name, int *temporary) {
  const char *p;
  *temporary = 0;
  if (strncmp(name, "model.json.tmp-", 15) == 0) return *temporary = 1;
  if (strncmp(name, "weights-", 8) == 0)
    p = name + 8;
  else if (strncmp(name, "optimizer-", 10) == 0)
    p = name + 10;
  else
    return 0;
  const char *digits = p;
  while (*p >= '0' && *p <= '9')
    p++;
  if (p == digits || strncmp(p, ".bin", 4) != 0) return 0;
  if (p[4] == '\0') return 1;
  return *temporary = strncmp(p + 4, ".tmp-", 5) == 0;
}

/* Step c: only the current and backup files stay. Failures only waste disk. */
static void remove_stale_files(const char *dir, const entry *cur, const entry *backup) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    int temporary;
    const char *name = de->d_name;
    if (!is_checkpoint_file(name, &temporary)) continue;
    if (!temporary && (strcmp(name, cur->weights) == 0 || strcmp(name, cur->optimizer) == 0 ||
                       (backup->present && (strcmp(name, backup->weights) == 0 ||
                                            strcmp(name, backup->optimizer) == 0))))
      continue;
    char path[PATH_CAP];
    join(path, dir, name);
    unlink(path);
  }
  closedir(d);
  /* and what a killed run left of any other file (a preview): the same
   * temporary-name scheme for every file the engine writes */
  ds_atomic_remove_stale(dir);
}

/* Parses a caller's JSON object text; NULL text is an empty object. */
static ds_status parse_object(const char *text, const char *what, cJSON **out, ds_error *err) {
  *out = text ? cJSON_Parse(text) : cJSON_CreateObject();
  if (cJSON_IsObject(*out)) return DS_OK;
  cJSON_Delete(*out);
  *out = NULL;
  return ds_error_set(err, DS_ERR_INVALID, "checkpoint %s is not a JSON object", what);
}

static ds_status write_index(const char *dir, const entry *cur, const entry *backup, cJSON *config,
                             cJSON *state, ds_error *err) {
  char path[PATH_CAP], saved[32];
  time_t now = time(NULL);
  struct tm utc;
  if (!gmtime_r(&now, &utc) || strftime(saved, sizeof saved, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0)
    snprintf(saved, sizeof saved, "unknown");
  join(path, dir, "model.json");

  cJSON *root = cJSON_CreateObject();
  int ok = root && cJSON_AddStringToObject(root, "format", format_name) &&
           cJSON_AddNumberToObject(root, "version", FORMAT_VERSION) && entry_to_json(root, cur) &&
           cJSON_AddItemReferenceToObject(root, "config", config) &&
           cJSON_AddItemReferenceToObject(root, "state", state) &&
           cJSON_AddStringToObject(root, "saved", saved);
  if (ok && backup->present) {
    cJSON *bak = cJSON_CreateObject();
    ok = bak && cJSON_AddItemToObject(root, "backup", bak);
    if (!ok) cJSON_Delete(bak);
    ok = ok && entry_to_json(bak, backup);
  }
  char *text = ok ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (!text) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory writing %s", path);
  size_t n = strlen(text);
  text[n] = '\n'; /* cJSON_Print's NUL; the file ends with a newline instead */
  ds_status st = ds_file_write_atomic(path, text, n + 1, err);
  cJSON_free(text);
  return st;
}

ds_status ds_checkpoint_save(const char *dir, int64_t iteration, const char *config_json,
                             const char *state_json, const ds_tensor_set *weights,
                             const ds_tensor_set *optimizer, ds_error *err) {
  if (iteration < 0 || iteration > ITERATION_MAX)
    return ds_error_set(err, DS_ERR_INVALID, "cannot save a checkpoint at iteration %lld",
                        (long long)iteration);
  if (strlen(dir) > DIR_MAX)
    return ds_error_set(err, DS_ERR_INVALID, "model folder path is too long: %.64s...", dir);
  cJSON *config = NULL, *state = NULL, *old = NULL;
  ds_status st = parse_object(config_json, "config", &config, err);
  if (st == DS_OK) st = parse_object(state_json, "state", &state, err);
  if (st == DS_OK) st = ds_make_dirs(dir, "model folder", err);
  if (st != DS_OK) goto done;

  /* What model.json names now becomes the backup. A model.json that cannot
   * be read is not overwritten: it may be another program's, or the only
   * record of a checkpoint someone can still rescue. */
  char index_path[PATH_CAP];
  join(index_path, dir, "model.json");
  ds_json_reader p;
  ds_json_reader_init(&p, index_path, DS_ERR_CORRUPT, err);
  st = read_index(&p, dir, index_path, &old);
  entry prev = {0}, prev_backup = {0};
  if (st == DS_OK && (st = entry_from_json(&p, old, "", &prev)) != DS_OK)
    ds_error_append(err, "%s", index_remedy);
  if (st == DS_ERR_NOT_FOUND) {
    ds_error_clear(err);
    st = DS_OK;
  } else if (st == DS_OK) {
    /* a bad backup entry only means there is no backup to keep */
    ds_json_reader quiet;
    ds_json_reader_init(&quiet, index_path, DS_ERR_CORRUPT, NULL);
    const cJSON *b = ds_json_member(old, "backup");
    if (b && entry_from_json(&quiet, b, "backup", &prev_backup) != DS_OK)
      memset(&prev_backup, 0, sizeof prev_backup);
  }
  if (st != DS_OK) goto done;

  entry cur = {0}, backup = {0};
  char path[PATH_CAP];
  entry_names(&cur, iteration);
  join(path, dir, cur.weights);
  st = ds_tensor_file_write_crc(path, weights, &cur.weights_crc, err);
  if (st != DS_OK) goto done;
  join(path, dir, cur.optimizer);
  st = ds_tensor_file_write_crc(path, optimizer, &cur.optimizer_crc, err);
  if (st != DS_OK) goto done;

  if (usable_backup(dir, &prev, &cur))
    backup = prev;
  else if (usable_backup(dir, &prev_backup, &cur))
    backup = prev_backup;
  st = write_index(dir, &cur, &backup, config, state, err);
  if (st == DS_OK) remove_stale_files(dir, &cur, &backup);
done:
  cJSON_Delete(old);
  cJSON_Delete(config);
  cJSON_Delete(state);
  return st;
}

/* ---------------------------------------------------------------- loading */

int ds_checkpoint_exists(const char *dir) {
  char path[PATH_CAP];
  struct stat sb;
  join(path, dir, "model.json");
  return stat(path, &sb) == 0;
}

void ds_checkpoint_free(ds_checkpoint *ck) {
  if (!ck) return;
  cJSON_free(ck->config_json);
  cJSON_free(ck->state_json);
  ds_tensor_set_free(&ck->weights);
  ds_tensor_set_free(&ck->optimizer);
  memset(ck, 0, sizeof *ck);
}

/* Loads one file of a checkpoint. A missing or corrupt file returns
 * NOT_FOUND or CORRUPT with problem = "<path> is missing|corrupt (<what>)";
 * any other failure fills err. */
static ds_status load_file(const char *dir, const char *name, uint32_t want_crc, ds_tensor_set *set,
                           char *problem, ds_error *err) {
  char path[PATH_CAP];
  join(path, dir, name);
  ds_error e = {0};
  uint32_t crc = 0;
  ds_status st = ds_tensor_file_read_crc(path, set, &crc, &e);
  if (st == DS_ERR_NOT_FOUND) {
    format_text(problem, PROBLEM_CAP, "%s is missing", path);
  } else if (st == DS_ERR_CORRUPT) {
    const char *what = strstr(e.msg, DS_TENSOR_CORRUPT_TAG);
    format_text(problem, PROBLEM_CAP, "%s is corrupt (%s)", path,
                what ? what + strlen(DS_TENSOR_CORRUPT_TAG) : e.msg);
  } else if (st != DS_OK) {
    ds_error_set(err, st, "%s", e.msg);
  } else if (crc != want_crc) {
    ds_tensor_set_free(set);
    st = DS_ERR_CORRUPT;
    format_text(problem, PROBLEM_CAP,
                "%s is corrupt (CRC mismatch: model.json records %08x, the file has %08x)", path,
                (unsigned)want_crc, (unsigned)crc);
  }
  ds_error_clear(&e);
  return st;
}

static ds_status load_entry(const char *dir, const entry *e, ds_checkpoint *out, char *problem,
                            ds_error *err) {
  ds_status st = load_file(dir, e->weights, e->weights_crc, &out->weights, problem, err);
  if (st == DS_OK)
    st = load_file(dir, e->optimizer, e->optimizer_crc, &out->optimizer, problem, err);
  if (st != DS_OK) {
    ds_tensor_set_free(&out->weights);
    ds_tensor_set_free(&out->optimizer);
  }
  return st;
}

static int missing_or_corrupt(ds_status st) {
  return st == DS_ERR_NOT_FOUND || st == DS_ERR_CORRUPT;
}

ds_status ds_checkpoint_load(const char *dir, ds_checkpoint *out, ds_error *err) {
  memset(out, 0, sizeof *out);
  if (strlen(dir) > DIR_MAX)
    return ds_error_set(err, DS_ERR_INVALID, "model folder path is too long: %.64s...", dir);
  char index_path[PATH_CAP];
  join(index_path, dir, "model.json");
  ds_json_reader p;
  ds_json_reader_init(&p, index_path, DS_ERR_CORRUPT, err);
  cJSON *root;
  ds_status st = read_index(&p, dir, index_path, &root);
  if (st != DS_OK) return st;

  entry cur, backup = {0};
  const cJSON *b = ds_json_member(root, "backup");
  const cJSON *config = ds_json_member(root, "config");
  const cJSON *state = ds_json_member(root, "state");
  st = entry_from_json(&p, root, "", &cur);
  if (st == DS_OK && b) st = entry_from_json(&p, b, "backup", &backup);
  if (st == DS_OK && !cJSON_IsObject(config))
    st = ds_json_fail_type(&p, "config", "an object", config);
  if (st == DS_OK && !cJSON_IsObject(state))
    st = ds_json_fail_type(&p, "state", "an object", state);
  if (st == DS_ERR_CORRUPT) ds_error_append(err, "%s", index_remedy);
  if (st == DS_OK) {
    out->config_json = cJSON_PrintUnformatted(config);
    out->state_json = cJSON_PrintUnformatted(state);
    if (!out->config_json || !out->state_json)
      st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory reading %s", index_path);
  }
  cJSON_Delete(root);
  if (st != DS_OK) {
    ds_checkpoint_free(out);
    return st;
  }

  char problem[PROBLEM_CAP], backup_problem[PROBLEM_CAP];
  st = load_entry(dir, &cur, out, problem, err);
  if (st == DS_OK) {
    out->iteration = cur.iteration;
  } else if (missing_or_corrupt(st) && !backup.present) {
    st = ds_error_set(err, DS_ERR_CORRUPT,
                      "%s and there is no backup; restore %s from a copy or delete it to train "
                      "anew",
                      problem, dir);
  } else if (missing_or_corrupt(st)) {
    ds_status bst = load_entry(dir, &backup, out, backup_problem, err);
    if (bst == DS_OK) {
      out->iteration = backup.iteration;
      out->used_backup = 1;
      format_text(out->warning, sizeof out->warning,
                  "%s; resumed from the backup at iteration %lld", problem,
                  (long long)backup.iteration);
      st = DS_OK;
    } else if (missing_or_corrupt(bst)) {
      st = ds_error_set(err, DS_ERR_CORRUPT,
                        "%s, and the backup too: %s; restore %s from a copy or delete it to "
                        "train anew",
                        problem, backup_problem, dir);
    } else {
      st = bst;
    }
  }
  if (st != DS_OK) ds_checkpoint_free(out);
  return st;
}
