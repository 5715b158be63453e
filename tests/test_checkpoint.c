/* Tensor files and checkpoints: exact round trips, the byte layout of
 * MODEL.md, every kind of corruption caught and named, atomic writes that
 * leave nothing behind on failure, backup fallback and crash safety, and the
 * Python reader/writer (tests/ref/dstensor.py) agreeing with the C code.
 * usage: test_checkpoint SCRATCH_DIR [REPO_ROOT] */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "engine/model/checkpoint.h"
#include "engine/model/tensor_file.h"
#include "core/hash.h"

enum { PATH_CAP = 4096 };
static char scratch[PATH_CAP];

/* snprintf into a PATH_CAP buffer; a path that long is the caller's problem. */
static void pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, PATH_CAP, fmt, ap);
  va_end(ap);
}

static void in_scratch(char *out, const char *name) { pathf(out, "%s/%s", scratch, name); }

static int one_line(const char *s) { return s[0] != '\0' && strchr(s, '\n') == NULL; }

static int exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

static unsigned char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf = NULL;
  *n = 0;
  if (!f) return NULL;
  struct stat sb;
  if (fstat(fileno(f), &sb) == 0 && (buf = malloc((size_t)sb.st_size + 1)) != NULL)
    *n = fread(buf, 1, (size_t)sb.st_size, f);
  fclose(f);
  return buf;
}

static void write_all(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite(data, 1, n, f);
    fclose(f);
  }
}

/* Files in dir whose name contains part. */
static int count_files(const char *dir, const char *part) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL)
    n += strstr(de->d_name, part) != NULL;
  if (d) closedir(d);
  return n;
}

/* mkdir -p */
static int make_dirs(const char *dir) {
  char tmp[PATH_CAP];
  pathf(tmp, "%s", dir);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    mkdir(tmp, 0755);
    *p = '/';
  }
  return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* rm -rf, for the test's own folder only */
static void remove_tree(const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0) return;
  if (S_ISDIR(sb.st_mode)) {
    chmod(path, 0755);
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
      char child[PATH_CAP];
      pathf(child, "%s/%s", path, de->d_name);
      remove_tree(child);
    }
    if (d) closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static uint32_t le32(const unsigned char *p) {
  return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }
static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
  put32(p, (uint32_t)v);
  put32(p + 4, (uint32_t)(v >> 32));
}
/* Recomputes the trailing CRC after an edit, so the edit itself is what is tested. */
static void fix_crc(unsigned char *buf, size_t n) { put32(buf + n - 4, ds_crc32(0, buf, n - 4)); }

static int same_set(const ds_tensor_set *a, const ds_tensor_set *b) {
  if (a->count != b->count || a->data_count != b->data_count) return 0;
  for (int i = 0; i < a->count; i++)
    if (memcmp(&a->tensors[i], &b->tensors[i], sizeof a->tensors[i]) != 0) return 0;
  return a->data_count == 0 || memcmp(a->data, b->data, a->data_count * sizeof(float)) == 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rng_next(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

/* A set of the given shapes filled with values derived from seed. */
static void make_set(ds_tensor_set *set, int seed, int n, const int64_t shapes[][5]) {
  ds_error err = {0};
  memset(set, 0, sizeof *set);
  for (int t = 0; t < n; t++) {
    char name[32];
    snprintf(name, sizeof name, "layer%d.w", t);
    CHECK_OK(ds_tensor_set_add(set, name, (int)shapes[t][0], shapes[t] + 1, &err), &err);
  }
  for (uint64_t i = 0; i < set->data_count; i++)
    set->data[i] = (float)seed + (float)(i % 1000) * 0.001f;
}

/* ---------------------------------------------------------------- sets */

static void test_set(void) {
  ds_error err = {0};
  ds_tensor_set set = {0};
  const int64_t s1[] = {7}, s2[] = {3, 5}, s3[] = {2, 1, 3}, s4[] = {1, 2, 3, 4}, bad[] = {3, 0};
  CHECK_OK(ds_tensor_set_add(&set, "a", 1, s1, &err), &err);
  CHECK_OK(ds_tensor_set_add(&set, "b", 2, s2, &err), &err);
  CHECK_OK(ds_tensor_set_add(&set, "c", 3, s3, &err), &err);
  CHECK_OK(ds_tensor_set_add(&set, "d", 4, s4, &err), &err);
  CHECK(set.count == 4, "count %d", set.count);
  CHECK(set.data_count % DS_TENSOR_ALIGN == 0, "data_count %llu",
        (unsigned long long)set.data_count);
  uint64_t want_offsets[] = {0, 16, 32, 48}, want_counts[] = {7, 15, 6, 24};
  for (int i = 0; i < 4; i++) {
    CHECK(set.tensors[i].offset == want_offsets[i] && set.tensors[i].count == want_counts[i],
          "tensor %d at %llu, %llu floats", i, (unsigned long long)set.tensors[i].offset,
          (unsigned long long)set.tensors[i].count);
  }
  CHECK(set.tensors[2].shape[2] == 3 && set.tensors[2].shape[3] == 1, "unused dims are 1");
  int zero = 1;
  for (uint64_t i = 0; i < set.data_count; i++)
    zero &= set.data[i] == 0.0f;
  CHECK(zero, "new tensors are zero-filled");
  CHECK(ds_tensor_set_find(&set, "c") == &set.tensors[2], "find");
  CHECK(ds_tensor_set_data(&set, "d") == set.data + 48, "data");
  CHECK(ds_tensor_set_find(&set, "zz") == NULL && ds_tensor_set_data(&set, "zz") == NULL, "absent");

  char long_name[80];
  memset(long_name, 'x', 64);
  long_name[64] = '\0';
  const char *names[] = {"a", "", long_name, "tab\there"};
  for (int i = 0; i < 4; i++) {
    ds_status st = ds_tensor_set_add(&set, names[i], 1, s1, &err);
    CHECK(st == DS_ERR_INVALID && one_line(err.msg), "bad name %d: %s", i, err.msg);
  }
  long_name[63] = '\0';
  CHECK_OK(ds_tensor_set_add(&set, long_name, 1, s1, &err), &err);
  CHECK(ds_tensor_set_add(&set, "e", 0, s1, &err) == DS_ERR_INVALID, "ndim 0");
  CHECK(ds_tensor_set_add(&set, "e", 5, s4, &err) == DS_ERR_INVALID, "ndim 5");
  CHECK(ds_tensor_set_add(&set, "e", 2, bad, &err) == DS_ERR_INVALID && one_line(err.msg),
        "zero dimension: %s", err.msg);
  CHECK(set.count == 5, "failed adds change nothing: %d", set.count);
  ds_tensor_set_free(&set);
  CHECK(set.tensors == NULL && set.data == NULL && set.count == 0, "free zeroes");
  ds_tensor_set_free(&set);
}

/* ---------------------------------------------------------------- files */

static void test_round_trip(void) {
  ds_error err = {0};
  const int64_t shapes[][5] = {{1, 1},          {1, 7},      {2, 3, 5},      {3, 2, 3, 4},
                               {4, 2, 1, 3, 5}, {2, 17, 33}, {4, 1, 1, 1, 1}};
  ds_tensor_set set, back = {0};
  make_set(&set, 0, 7, shapes);
  for (uint64_t i = 0; i < set.data_count; i++) {
    uint32_t bits = rng_next();
    memcpy(&set.data[i], &bits, 4); /* any bit pattern, NaNs and denormals included */
  }
  char path[PATH_CAP];
  in_scratch(path, "round_trip.bin");
  uint32_t wcrc = 0, rcrc = 1;
  CHECK_OK(ds_tensor_file_write_crc(path, &set, &wcrc, &err), &err);
  CHECK_OK(ds_tensor_file_read_crc(path, &back, &rcrc, &err), &err);
  CHECK(same_set(&set, &back), "round trip is exact");
  CHECK(wcrc == rcrc, "write and read agree on the CRC: %08x %08x", wcrc, rcrc);
  size_t n;
  unsigned char *buf = read_all(path, &n);
  CHECK(buf && n >= 4 && le32(buf + n - 4) == wcrc, "the CRC is the file's last 4 bytes");
  free(buf);
  CHECK(count_files(scratch, ".tmp-") == 0, "no temporary file left");
  ds_tensor_set_free(&back);
  ds_tensor_set_free(&set);

  ds_tensor_set empty = {0};
  in_scratch(path, "empty.bin");
  CHECK_OK(ds_tensor_file_write(path, &empty, &err), &err);
  CHECK_OK(ds_tensor_file_read(path, &back, &err), &err);
  CHECK(back.count == 0 && back.data_count == 0, "empty set round trip");
  ds_tensor_set_free(&back);
}

/* The MODEL.md layout, checked field by field for w[2,3] = 1..6 and b[1] = -2. */
static unsigned char *write_tiny(const char *path, size_t *n) {
  ds_error err = {0};
  ds_tensor_set set = {0};
  const int64_t sw[] = {2, 3}, sb[] = {1};
  CHECK_OK(ds_tensor_set_add(&set, "w", 2, sw, &err), &err);
  CHECK_OK(ds_tensor_set_add(&set, "b", 1, sb, &err), &err);
  for (int i = 0; i < 6; i++)
    ds_tensor_set_data(&set, "w")[i] = (float)(i + 1);
  ds_tensor_set_data(&set, "b")[0] = -2.0f;
  CHECK_OK(ds_tensor_file_write(path, &set, &err), &err);
  ds_tensor_set_free(&set);
  return read_all(path, n);
}

static void test_layout(void) {
  char path[PATH_CAP];
  in_scratch(path, "tiny.bin");
  size_t n;
  unsigned char *b = write_tiny(path, &n);
  /* 24 header + 2 x 112 entries + 32 floats (b starts at float 16, the end
   * rounds up to 32) + 4 CRC */
  CHECK(b && n == 380, "size %zu", n);
  if (!b || n != 380) {
    free(b);
    return;
  }
  CHECK(memcmp(b, "DSTENSOR", 8) == 0, "magic");
  CHECK(le32(b + 8) == 1 && le32(b + 12) == 2 && le64(b + 16) == 128, "version, count, data_bytes");
  const unsigned char *e0 = b + 24, *e1 = b + 136;
  int pad_zero = 1;
  for (int i = 1; i < 64; i++)
    pad_zero &= e0[i] == 0 && e1[i] == 0;
  CHECK(e0[0] == 'w' && e1[0] == 'b' && pad_zero, "names NUL-padded");
  CHECK(le32(e0 + 64) == 2 && le32(e0 + 68) == 0, "w: ndim 2, dtype 0");
  CHECK(le64(e0 + 72) == 2 && le64(e0 + 80) == 3 && le64(e0 + 88) == 1 && le64(e0 + 96) == 1,
        "w: shape 2,3,1,1");
  CHECK(le64(e0 + 104) == 0, "w: offset 0");
  CHECK(le32(e1 + 64) == 1 && le64(e1 + 72) == 1 && le64(e1 + 80) == 1, "b: ndim 1, shape 1");
  CHECK(le64(e1 + 104) == 64, "b: byte offset 64");
  const unsigned char one[] = {0x00, 0x00, 0x80, 0x3f}, six[] = {0x00, 0x00, 0xc0, 0x40},
                      minus_two[] = {0x00, 0x00, 0x00, 0xc0};
  CHECK(memcmp(b + 248, one, 4) == 0 && memcmp(b + 268, six, 4) == 0, "w data at 248");
  CHECK(memcmp(b + 312, minus_two, 4) == 0, "b data at 248 + 64");
  int gap_zero = 1;
  for (int i = 272; i < 312; i++)
    gap_zero &= b[i] == 0;
  for (int i = 316; i < 376; i++)
    gap_zero &= b[i] == 0;
  CHECK(gap_zero, "alignment padding is zero");
  CHECK(le32(b + 376) == ds_crc32(0, b, 376), "CRC of the 376 bytes before it");
  free(b);
}

/* Reads buf as a file; 1 if it is rejected as corrupt with a proper message. */
static int rejected(const unsigned char *buf, size_t n, const char *want) {
  char path[PATH_CAP];
  in_scratch(path, "bad.bin");
  write_all(path, buf, n);
  ds_error err = {0};
  ds_tensor_set set;
  ds_status st = ds_tensor_file_read(path, &set, &err);
  int ok = st == DS_ERR_CORRUPT && set.tensors == NULL && set.data == NULL && one_line(err.msg) &&
           strncmp(err.msg, path, strlen(path)) == 0 &&
           strstr(err.msg, DS_TENSOR_CORRUPT_TAG) != NULL && (!want || strstr(err.msg, want));
  if (!ok) fprintf(stderr, "  read of a bad file gave %s: %s\n", ds_status_name(st), err.msg);
  ds_tensor_set_free(&set);
  return ok;
}

static void test_corruption(void) {
  char path[PATH_CAP];
  in_scratch(path, "tiny.bin");
  size_t n;
  unsigned char *good = write_tiny(path, &n);
  if (!good || n != 380) {
    CHECK(0, "tiny file");
    free(good);
    return;
  }
  unsigned char *b = malloc(n + 1);
  int all = 1;
  for (size_t len = 0; len < n; len++)
    all &= rejected(good, len, "truncated");
  CHECK(all, "every truncation is caught as truncated");
  memcpy(b, good, n);
  b[n] = 0;
  CHECK(rejected(b, n + 1, "trailing"), "one byte too many");

  all = 1;
  for (size_t i = 0; i < n; i++) {
    memcpy(b, good, n);
    b[i] ^= (unsigned char)(1u << (i % 8));
    all &= rejected(b, n, NULL);
  }
  CHECK(all, "a flipped bit anywhere is caught");
  size_t regions[] = {12, 24 + 70, 250, n - 1}; /* header, entry, data, CRC */
  const char *want[] = {"truncated", "CRC mismatch", "CRC mismatch", "CRC mismatch"};
  for (int r = 0; r < 4; r++) {
    memcpy(b, good, n);
    b[regions[r]] ^= 0x10;
    CHECK(rejected(b, n, want[r]), "flip at %zu reads as %s", regions[r], want[r]);
  }

  /* Hostile headers and entries with a valid CRC: each check on its own. */
  struct {
    size_t at;
    int bytes;
    uint64_t value;
    const char *want;
  } edits[] = {
      {0, 1, 'X', "magic"},
      {8, 4, 2, "version"},
      {12, 4, 0xffffffffu, "tensors"},
      {12, 4, DS_TENSOR_FILE_MAX_COUNT + 1, "tensors"},
      {16, 8, (uint64_t)1 << 62, "truncated"},
      {16, 8, UINT64_MAX, "data section"},
      {16, 8, UINT64_MAX - 250, "data section"},
      {24 + 64, 4, 5, "ndim"},
      {24 + 64, 4, 0, "ndim"},
      {24 + 68, 4, 1, "dtype"},
      {24 + 72, 8, 0, "dimension 0"},
      {24 + 72, 8, (uint64_t)1 << 32, "dimension 0"},
      {24 + 80, 8, ((uint64_t)1 << 63) + 1, "dimension 1"},
      {24 + 88, 8, 2, "unused dimension"},
      {24 + 104, 8, 2, "multiple of 4"},
      {24 + 104, 8, 128, "run past"},
      {136 + 104, 8, 128, "run past"},
      {136 + 104, 8, UINT64_MAX - 3, "run past"},
      {24 + 10, 1, 'x', "padding"},
      {24, 1, 0, "name"},
      {24, 1, 0x07, "name"},
      {136, 1, 'w', "twice"},
  };
  for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
    memcpy(b, good, n);
    if (edits[k].bytes == 1) b[edits[k].at] = (unsigned char)edits[k].value;
    if (edits[k].bytes == 4) put32(b + edits[k].at, (uint32_t)edits[k].value);
    if (edits[k].bytes == 8) put64(b + edits[k].at, edits[k].value);
    fix_crc(b, n);
    CHECK(rejected(b, n, edits[k].want), "edit %zu (byte %zu) reads as %s", k, edits[k].at,
          edits[k].want);
  }
  memcpy(b, good, n);
  memset(b + 24, 'n', 64); /* no NUL */
  fix_crc(b, n);
  CHECK(rejected(b, n, "NUL"), "a name without NUL");
  free(b);
  free(good);

  ds_error err = {0};
  ds_tensor_set set;
  in_scratch(path, "missing.bin");
  ds_status st = ds_tensor_file_read(path, &set, &err);
  CHECK(st == DS_ERR_NOT_FOUND && one_line(err.msg) && strstr(err.msg, path), "missing: %s %s",
        ds_status_name(st), err.msg);
}

static void test_write_failures(void) {
  ds_error err = {0};
  const int64_t shapes[][5] = {{2, 100, 100}};
  ds_tensor_set set;
  make_set(&set, 1, 1, shapes);
  char path[PATH_CAP], dir[PATH_CAP];
  ds_status st;

  in_scratch(path, "no-such-folder/x.bin");
  st = ds_tensor_file_write(path, &set, &err);
  CHECK(st == DS_ERR_IO && one_line(err.msg) && strstr(err.msg, path), "missing folder: %s",
        err.msg);
  in_scratch(path, "tiny.bin/x.bin"); /* a file where a folder should be */
  st = ds_tensor_file_write(path, &set, &err);
  CHECK(st == DS_ERR_IO && one_line(err.msg), "folder is a file: %s", err.msg);

  in_scratch(dir, "a-folder");
  mkdir(dir, 0755);
  st = ds_tensor_file_write(dir, &set, &err); /* the final rename fails */
  CHECK(st == DS_ERR_IO && one_line(err.msg) && strstr(err.msg, dir), "rename fails: %s", err.msg);
  CHECK(count_files(scratch, ".tmp-") == 0, "no temporary file after a failed rename");

  /* A full disk, simulated with a file size limit: the write fails midway and
   * the existing file is untouched. */
  in_scratch(path, "full.bin");
  CHECK_OK(ds_tensor_file_write(path, &set, &err), &err);
  size_t before_n, after_n;
  unsigned char *before = read_all(path, &before_n);
  set.data[0] = 42.0f;
  struct rlimit old, small = {4096, 0};
  if (getrlimit(RLIMIT_FSIZE, &old) == 0) {
    small.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    st = ds_tensor_file_write(path, &set, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(st == DS_ERR_IO && one_line(err.msg) && strstr(err.msg, path), "disk full: %s %s",
          ds_status_name(st), err.msg);
    unsigned char *after = read_all(path, &after_n);
    CHECK(after && before && after_n == before_n && memcmp(after, before, after_n) == 0,
          "a failed write leaves the old file");
    CHECK(count_files(scratch, ".tmp-") == 0, "no temporary file after a failed write");
    free(after);
  }
  free(before);

  if (geteuid() != 0) { /* root writes anywhere */
    in_scratch(dir, "read-only");
    mkdir(dir, 0755);
    chmod(dir, 0555);
    pathf(path, "%s/x.bin", dir);
    st = ds_tensor_file_write(path, &set, &err);
    CHECK(st == DS_ERR_IO && one_line(err.msg) && strstr(err.msg, path), "read-only: %s", err.msg);
    chmod(dir, 0755);
  }
  ds_tensor_set_free(&set);
}

/* ---------------------------------------------------------------- Python */

/* The tensors dstensor.py's pattern() makes; every value exact in float32. */
static void make_pattern(ds_tensor_set *set) {
  static const struct {
    const char *name;
    int ndim;
    int64_t shape[4];
  } p[] = {{"encoder.conv0.weight", 4, {5, 5, 3, 7}},
           {"encoder.conv0.bias", 1, {7}},
           {"dense", 2, {13, 11}},
           {"odd.4d", 4, {2, 3, 1, 5}},
           {"one", 1, {1}}};
  ds_error err = {0};
  memset(set, 0, sizeof *set);
  for (int t = 0; t < 5; t++)
    CHECK_OK(ds_tensor_set_add(set, p[t].name, p[t].ndim, p[t].shape, &err), &err);
  for (int t = 0; t < 5; t++) {
    float *x = ds_tensor_set_data(set, p[t].name);
    for (int64_t i = 0; i < (int64_t)set->tensors[t].count; i++)
      x[i] = (float)((i * 7 + t * 13) % 101 - 50) / 8.0f;
  }
}

static const char *find_python(void) {
  static const char *candidates[] = {NULL, "python3", "/usr/bin/python3"};
  candidates[0] = getenv("DSENGINE_PYTHON");
  for (int i = 0; i < 3; i++) {
    char cmd[PATH_CAP];
    if (!candidates[i] || strchr(candidates[i], '\'')) continue;
    snprintf(cmd, sizeof cmd, "'%s' -c 'import numpy' >/dev/null 2>&1", candidates[i]);
    if (system(cmd) == 0) return candidates[i];
  }
  return NULL;
}

static void test_python(const char *repo) {
  const char *python = find_python();
  if (!repo || !python || strchr(repo, '\'') || strchr(scratch, '\'')) {
    check_skip(!repo     ? "the Python round trip: no repository root given"
               : !python ? "the Python round trip: python3 with numpy not found (apt-get "
                           "install python3-numpy, or set DSENGINE_PYTHON)"
                         : "the Python round trip: a quote in a path");
    return;
  }
  ds_error err = {0};
  char dir[PATH_CAP], from_c[PATH_CAP], from_py[PATH_CAP], cmd[3 * PATH_CAP];
  in_scratch(dir, "python");
  mkdir(dir, 0755);
  pathf(from_c, "%s/from_c.dst", dir);
  pathf(from_py, "%s/from_py.dst", dir);
  unlink(from_py);
  ds_tensor_set pattern, back;
  make_pattern(&pattern);
  CHECK_OK(ds_tensor_file_write(from_c, &pattern, &err), &err);
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/ref/dstensor.py' --selftest '%s'", python, repo, dir);
  fflush(stdout);
  CHECK(system(cmd) == 0, "%s", cmd);
  CHECK_OK(ds_tensor_file_read(from_py, &back, &err), &err);
  CHECK(same_set(&pattern, &back), "the Python writer's file reads back as the pattern");
  size_t nc, np;
  unsigned char *c = read_all(from_c, &nc), *p = read_all(from_py, &np);
  CHECK(c && p && nc == np && memcmp(c, p, nc) == 0, "C and Python write identical bytes");
  free(c);
  free(p);
  ds_tensor_set_free(&back);
  ds_tensor_set_free(&pattern);
}

/* ---------------------------------------------------------------- checkpoints */

static const int64_t weight_shapes[][5] = {{4, 5, 5, 3, 8}, {1, 8}, {2, 33, 7}};
static const int64_t optimizer_shapes[][5] = {{1, 301}, {1, 301}};
static const char config[] = "{\"name\":\"tiny\",\"input\":{\"size\":64,\"channels\":3}}";

static ds_status save(const char *dir, int64_t it, ds_error *err) {
  ds_tensor_set w, o;
  char state[128];
  make_set(&w, (int)it, 3, weight_shapes);
  make_set(&o, (int)it + 1, 2, optimizer_shapes);
  snprintf(state, sizeof state, "{\"loss\":[0.5,0.25],\"iteration\":%lld}", (long long)it);
  ds_status st = ds_checkpoint_save(dir, it, config, state, &w, &o, err);
  ds_tensor_set_free(&w);
  ds_tensor_set_free(&o);
  return st;
}

/* Loads dir and checks it holds the data save() wrote at iteration it. */
static void expect_load(const char *dir, int64_t it, int used_backup, const char *warning) {
  ds_error err = {0};
  ds_checkpoint ck;
  ds_tensor_set w, o;
  make_set(&w, (int)it, 3, weight_shapes);
  make_set(&o, (int)it + 1, 2, optimizer_shapes);
  CHECK_OK(ds_checkpoint_load(dir, &ck, &err), &err);
  CHECK(ck.iteration == it, "loaded iteration %lld, wanted %lld", (long long)ck.iteration,
        (long long)it);
  CHECK(same_set(&ck.weights, &w) && same_set(&ck.optimizer, &o), "data of iteration %lld",
        (long long)it);
  CHECK(ck.used_backup == used_backup, "used_backup %d", ck.used_backup);
  if (warning) CHECK(one_line(ck.warning) && strstr(ck.warning, warning), "%s", ck.warning);
  if (!warning) CHECK(ck.warning[0] == '\0', "no warning: %s", ck.warning);
  CHECK(ck.config_json && strcmp(ck.config_json, config) == 0, "config %s", ck.config_json);
  CHECK(ck.state_json && strstr(ck.state_json, "\"loss\":[0.5,0.25]"), "state %s", ck.state_json);
  ds_checkpoint_free(&ck);
  ds_tensor_set_free(&w);
  ds_tensor_set_free(&o);
}

static void expect_corrupt(const char *dir, const char *names) {
  ds_error err = {0};
  ds_checkpoint ck;
  ds_status st = ds_checkpoint_load(dir, &ck, &err);
  CHECK(st == DS_ERR_CORRUPT && one_line(err.msg) && strstr(err.msg, names),
        "wanted corrupt naming %s, got %s: %s", names, ds_status_name(st), err.msg);
  CHECK(ck.config_json == NULL && ck.weights.data == NULL, "a failed load leaves nothing");
}

static void file_in(char *out, const char *dir, const char *name) {
  pathf(out, "%s/%s", dir, name);
}

static void flip_byte(const char *dir, const char *name, long at_from_end) {
  char path[PATH_CAP];
  file_in(path, dir, name);
  size_t n;
  unsigned char *b = read_all(path, &n);
  if (b && n > (size_t)at_from_end) {
    b[n - (size_t)at_from_end] ^= 0x01;
    write_all(path, b, n);
  }
  free(b);
}

static int has(const char *dir, const char *name) {
  char path[PATH_CAP];
  file_in(path, dir, name);
  return exists(path);
}

/* The backup iteration model.json records, or -1. */
static long long backup_iteration(const char *dir) {
  char path[PATH_CAP];
  file_in(path, dir, "model.json");
  size_t n;
  char *text = (char *)read_all(path, &n);
  cJSON *root = text ? cJSON_ParseWithLength(text, n) : NULL;
  const cJSON *it = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "backup"), "iteration");
  const cJSON *saved = cJSON_GetObjectItem(root, "saved");
  CHECK(cJSON_IsString(saved) && strlen(saved->valuestring) == 20 && saved->valuestring[19] == 'Z',
        "saved is ISO-8601 UTC");
  long long v = cJSON_IsNumber(it) ? (long long)it->valuedouble : -1;
  cJSON_Delete(root);
  free(text);
  return v;
}

static void test_checkpoint(void) {
  ds_error err = {0};
  char dir[PATH_CAP], path[PATH_CAP];
  in_scratch(dir, "model/a/b"); /* parents created */
  CHECK(!ds_checkpoint_exists(dir), "no checkpoint yet");
  ds_checkpoint ck;
  CHECK(ds_checkpoint_load(dir, &ck, &err) == DS_ERR_NOT_FOUND && one_line(err.msg), "%s", err.msg);

  CHECK_OK(save(dir, 100, &err), &err);
  CHECK(ds_checkpoint_exists(dir), "exists");
  CHECK(backup_iteration(dir) == -1, "the first save has no backup");
  expect_load(dir, 100, 0, NULL);
  CHECK_OK(save(dir, 200, &err), &err);
  expect_load(dir, 200, 0, NULL);
  CHECK(backup_iteration(dir) == 100, "backup 100");
  CHECK(has(dir, "weights-00000100.bin") && has(dir, "optimizer-00000100.bin"), "100 kept");
  CHECK_OK(save(dir, 300, &err), &err);
  CHECK(!has(dir, "weights-00000100.bin") && !has(dir, "optimizer-00000100.bin"), "100 deleted");
  CHECK(has(dir, "weights-00000200.bin") && has(dir, "weights-00000300.bin"), "200, 300 kept");
  CHECK(count_files(dir, ".bin") == 4 && count_files(dir, ".tmp-") == 0, "nothing else");

  flip_byte(dir, "weights-00000300.bin", 100);
  expect_load(dir, 200, 1, "weights-00000300.bin is corrupt (CRC mismatch)");
  expect_load(dir, 200, 1, "resumed from the backup at iteration 200");
  flip_byte(dir, "optimizer-00000200.bin", 10);
  expect_corrupt(dir, "weights-00000300.bin");

  /* Recovery: saving 300 again rewrites it; the damaged backup stays named. */
  CHECK_OK(save(dir, 300, &err), &err);
  expect_load(dir, 300, 0, NULL);

  /* A missing file, and a valid file that is not the one model.json recorded. */
  in_scratch(dir, "model2");
  CHECK_OK(save(dir, 100, &err), &err);
  CHECK_OK(save(dir, 200, &err), &err);
  file_in(path, dir, "optimizer-00000200.bin");
  unlink(path);
  expect_load(dir, 100, 1, "optimizer-00000200.bin is missing");
  CHECK_OK(save(dir, 200, &err), &err);
  ds_tensor_set other;
  make_set(&other, 7, 3, weight_shapes);
  file_in(path, dir, "weights-00000200.bin");
  CHECK_OK(ds_tensor_file_write(path, &other, &err), &err);
  ds_tensor_set_free(&other);
  expect_load(dir, 100, 1, "weights-00000200.bin is corrupt (CRC mismatch: model.json records");
  file_in(path, dir, "weights-00000100.bin");
  CHECK(truncate(path, 1000) == 0, "truncate %s", path);
  expect_corrupt(dir, "weights-00000200.bin");
  expect_corrupt(dir, "truncated");
}

static void test_crash_and_resave(void) {
  ds_error err = {0};
  char dir[PATH_CAP], path[PATH_CAP];

  /* Crash between steps a and b: new tensor files and a stale temporary file,
   * but the old model.json. */
  in_scratch(dir, "crash");
  CHECK_OK(save(dir, 100, &err), &err);
  CHECK_OK(save(dir, 200, &err), &err);
  ds_tensor_set w;
  make_set(&w, 300, 3, weight_shapes);
  file_in(path, dir, "weights-00000300.bin");
  CHECK_OK(ds_tensor_file_write(path, &w, &err), &err);
  file_in(path, dir, "optimizer-00000300.bin");
  CHECK_OK(ds_tensor_file_write(path, &w, &err), &err);
  file_in(path, dir, "model.json.tmp-99999");
  write_all(path, "{\"form", 6);
  ds_tensor_set_free(&w);
  expect_load(dir, 200, 0, NULL);
  CHECK_OK(save(dir, 400, &err), &err);
  expect_load(dir, 400, 0, NULL);
  CHECK(count_files(dir, ".bin") == 4 && count_files(dir, ".tmp-") == 0 &&
            has(dir, "weights-00000200.bin") && !has(dir, "weights-00000300.bin"),
        "stale files removed");

  /* The same iteration twice: rewritten, and the backup stays the previous one. */
  in_scratch(dir, "same");
  CHECK_OK(save(dir, 100, &err), &err);
  CHECK_OK(save(dir, 100, &err), &err);
  expect_load(dir, 100, 0, NULL);
  CHECK(backup_iteration(dir) == -1, "no backup of itself");
  CHECK_OK(save(dir, 200, &err), &err);
  CHECK_OK(save(dir, 200, &err), &err);
  CHECK(backup_iteration(dir) == 100, "backup stays 100");
  expect_load(dir, 200, 0, NULL);
  flip_byte(dir, "weights-00000200.bin", 5);
  expect_load(dir, 100, 1, "weights-00000200.bin");

  /* model.json truncated, of another format, or missing its fields. */
  file_in(path, dir, "model.json");
  size_t n;
  unsigned char *json = read_all(path, &n);
  const char *bad[] = {NULL,
                       "{\"format\": \"other\", \"version\": 1}",
                       "{\"format\": \"dsengine-checkpoint\", \"version\": 2}",
                       "{\"format\": \"dsengine-checkpoint\", \"version\": 1, \"iteration\": 5}",
                       "[1, 2]",
                       ""};
  for (int i = 0; i < 6; i++) {
    if (bad[i])
      write_all(path, bad[i], strlen(bad[i]));
    else
      write_all(path, json, n / 2);
    expect_corrupt(dir, "model.json");
  }
  free(json);
  /* Saving over a model.json it cannot read would destroy the only record
   * of those files (or another program's file): refused, nothing touched. */
  ds_status st = save(dir, 300, &err);
  CHECK(st == DS_ERR_CORRUPT && one_line(err.msg) && strstr(err.msg, "model.json"),
        "save over a bad model.json: %s %s", ds_status_name(st), err.msg);
  CHECK(has(dir, "weights-00000100.bin") && has(dir, "weights-00000200.bin") &&
            !has(dir, "weights-00000300.bin"),
        "nothing written or deleted");

  /* Bad arguments and unwritable places. */
  ds_tensor_set empty = {0};
  in_scratch(dir, "args");
  CHECK(ds_checkpoint_save(dir, 1, "{\"a\":", NULL, &empty, &empty, &err) == DS_ERR_INVALID &&
            one_line(err.msg),
        "bad config: %s", err.msg);
  CHECK(ds_checkpoint_save(dir, 1, "[1]", NULL, &empty, &empty, &err) == DS_ERR_INVALID,
        "config not an object");
  CHECK(ds_checkpoint_save(dir, -1, NULL, NULL, &empty, &empty, &err) == DS_ERR_INVALID,
        "negative iteration");
  in_scratch(dir, "tiny.bin/model");
  CHECK(ds_checkpoint_save(dir, 1, NULL, NULL, &empty, &empty, &err) == DS_ERR_IO &&
            one_line(err.msg) && strstr(err.msg, dir),
        "folder under a file: %s", err.msg);
  in_scratch(dir, "args");
  CHECK_OK(ds_checkpoint_save(dir, 1, NULL, NULL, &empty, &empty, &err), &err);
  ds_checkpoint ck;
  CHECK_OK(ds_checkpoint_load(dir, &ck, &err), &err);
  CHECK(ck.iteration == 1 && ck.weights.count == 0 && strcmp(ck.config_json, "{}") == 0 &&
            strcmp(ck.state_json, "{}") == 0,
        "empty checkpoint");
  ds_checkpoint_free(&ck);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR [REPO_ROOT]\n", argv[0]);
    return 2;
  }
  /* Everything the test writes goes under SCRATCH_DIR/run, emptied first,
   * so a rerun starts clean and nothing else in SCRATCH_DIR is touched. */
  pathf(scratch, "%s/run", argv[1]);
  remove_tree(scratch);
  if (make_dirs(scratch) != 0) {
    fprintf(stderr, "cannot create the scratch folder %s: %s\n", scratch, strerror(errno));
    return 2;
  }
  test_set();
  test_round_trip();
  test_layout();
  test_corruption();
  test_write_failures();
  test_python(argc > 2 ? argv[2] : NULL);
  test_checkpoint();
  test_crash_and_resave();
  return check_summary("checkpoint");
}
