/* Program build, binary cache and kernels on the real OpenCL device (PoCL in
 * CI). Cache behaviour is checked across fresh processes: the test runs
 * itself with --child DIR and reads the build counters it prints. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "host/buffer.h"
#include "host/program.h"
#include "host/program_cache.h"
#include "host/runtime.h"

static const char *self;

static int child(const char *dir) {
  setenv("DSENGINE_CACHE_DIR", dir, 1);
  ds_error err = {0};
  ds_runtime *rt;
  cl_program p;
  if (ds_runtime_open(&rt, "auto", "--device", 0, &err) != DS_OK ||
      ds_program_get(rt, "core/vector", NULL, &p, &err) != DS_OK) {
    printf("error %s\n", err.msg);
    return 1;
  }
  printf("source=%d hits=%d writes=%d rejects=%d\n", rt->stats.source_builds, rt->stats.cache_hits,
         rt->stats.cache_writes, rt->stats.cache_rejects);
  ds_runtime_destroy(rt);
  return 0;
}

typedef struct counters {
  int source, hits, writes, rejects;
} counters;

static counters run_child(const char *dir) {
  counters c = {-1, -1, -1, -1};
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "'%s' --child '%s'", self, dir);
  FILE *f = popen(cmd, "r");
  char line[1024] = "";
  if (f) {
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    pclose(f);
  }
  if (sscanf(line, "source=%d hits=%d writes=%d rejects=%d", &c.source, &c.hits, &c.writes,
             &c.rejects) != 4)
    fprintf(stderr, "child said: %s\n", line);
  return c;
}

/* The single cache file in dir (the test uses one program). */
static int cache_file(const char *dir, char *path, size_t cap) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "ls '%s'/*.clbin 2>/dev/null", dir);
  FILE *f = popen(cmd, "r");
  int ok = f && fgets(path, (int)cap, f) != NULL;
  if (f) pclose(f);
  if (ok) path[strcspn(path, "\n")] = '\0';
  return ok;
}

static void cache_across_processes(const char *base) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/cache-XXXXXX", base);
  CHECK(mkdtemp(dir) != NULL, "mkdtemp %s", dir);

  counters c = run_child(dir);
  CHECK(c.source == 1 && c.hits == 0 && c.writes == 1, "cold: source=%d hits=%d writes=%d",
        c.source, c.hits, c.writes);
  c = run_child(dir);
  CHECK(c.source == 0 && c.hits == 1 && c.writes == 0, "warm: source=%d hits=%d writes=%d",
        c.source, c.hits, c.writes);

  char path[1200];
  CHECK(cache_file(dir, path, sizeof path), "a .clbin file in %s", dir);
  struct stat sb;
  CHECK(stat(path, &sb) == 0 && sb.st_size > 64, "cache file size");

  /* One flipped byte in the binary: the CRC catches it, the program is
   * rebuilt and the file replaced. */
  FILE *f = fopen(path, "r+b");
  CHECK(f != NULL, "open %s", path);
  if (f) {
    fseek(f, sb.st_size / 2, SEEK_SET);
    int byte = fgetc(f);
    fseek(f, sb.st_size / 2, SEEK_SET);
    fputc(byte ^ 0x5a, f);
    fclose(f);
  }
  c = run_child(dir);
  CHECK(c.source == 1 && c.hits == 0 && c.rejects == 1 && c.writes == 1,
        "flipped byte: source=%d hits=%d rejects=%d writes=%d", c.source, c.hits, c.rejects,
        c.writes);
  c = run_child(dir);
  CHECK(c.source == 0 && c.hits == 1, "rewritten file is good again: hits=%d", c.hits);

  /* Truncated, then empty. */
  CHECK(truncate(path, sb.st_size - 100) == 0, "truncate");
  c = run_child(dir);
  CHECK(c.source == 1 && c.rejects == 1, "truncated: source=%d rejects=%d", c.source, c.rejects);
  CHECK(truncate(path, 0) == 0, "truncate to 0");
  c = run_child(dir);
  CHECK(c.source == 1 && c.rejects == 1, "empty: source=%d rejects=%d", c.source, c.rejects);
  c = run_child(dir);
  CHECK(c.hits == 1, "and good again: hits=%d", c.hits);
}

static void cache_file_format(const char *base) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/format-XXXXXX", base);
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  ds_error err = {0};
  const unsigned char bin[] = {1, 2, 3, 4, 5};
  unsigned char *got = NULL;
  size_t len = 0;
  CHECK(ds_program_cache_load(dir, "key one", &got, &len, &err) == DS_ERR_NOT_FOUND, "miss");
  CHECK_OK(ds_program_cache_store(dir, "key one", bin, sizeof bin, &err), &err);
  CHECK_OK(ds_program_cache_load(dir, "key one", &got, &len, &err), &err);
  CHECK(got && len == sizeof bin && memcmp(got, bin, len) == 0, "round trip");
  free(got);
  /* A file under the same name that holds another key is not a hit. */
  char p1[1200], p2[1200];
  ds_program_cache_path(dir, "key one", p1, sizeof p1);
  ds_program_cache_path(dir, "key two", p2, sizeof p2);
  CHECK(rename(p1, p2) == 0, "rename");
  CHECK(ds_program_cache_load(dir, "key two", &got, &len, &err) == DS_ERR_CORRUPT, "other key");
  CHECK_CONTAINS(err.msg, p2);
  ds_error_clear(&err);
}

static void build_errors(ds_runtime *rt) {
  ds_error err = {0};
  const char *broken = "kernel void broken(global float *x) { x[0] = undeclared_name + ; }\n";
  cl_program p = NULL;
  ds_status st = ds_program_build(rt, "tests/broken", broken, strlen(broken), NULL, &p, &err);
  CHECK(st == DS_ERR_BUILD, "syntax error gives DS_ERR_BUILD, got %s", ds_status_name(st));
  CHECK(p == NULL, "no program handed out");
  CHECK_CONTAINS(err.msg, "tests/broken");
  CHECK_CONTAINS(err.msg, rt->device.name);
  CHECK(strchr(err.msg, '\n') == NULL, "message is one line");
  CHECK(err.detail != NULL && strstr(err.detail, "undeclared_name") != NULL,
        "build log names the culprit: %s", err.detail ? err.detail : "(none)");
  ds_error_clear(&err);

  /* Build options reach the compiler: a program that only compiles with a
   * define. */
  const char *needs = "#ifndef WIDTH\n#error WIDTH not set\n#endif\n"
                      "kernel void k(global float *x) { x[0] = WIDTH; }\n";
  CHECK(ds_program_build(rt, "tests/needs", needs, strlen(needs), NULL, &p, &err) == DS_ERR_BUILD,
        "without -DWIDTH");
  ds_error_clear(&err);
  CHECK_OK(ds_program_build(rt, "tests/needs", needs, strlen(needs), "-DWIDTH=4", &p, &err), &err);
  if (p) clReleaseProgram(p);

  cl_kernel k;
  CHECK(ds_kernel_get(rt, "no/such/program", NULL, "k", &k, &err) == DS_ERR_NOT_FOUND,
        "unknown program");
  ds_error_clear(&err);
  CHECK(ds_kernel_get(rt, "core/vector", NULL, "no_such_kernel", &k, &err) == DS_ERR_OPENCL,
        "unknown kernel");
  CHECK_CONTAINS(err.msg, "no_such_kernel");
  ds_error_clear(&err);
  cl_kernel k1 = NULL, k2 = NULL;
  CHECK_OK(ds_kernel_get(rt, "core/vector", NULL, "fill_f32", &k1, &err), &err);
  CHECK_OK(ds_kernel_get(rt, "core/vector", NULL, "fill_f32", &k2, &err), &err);
  CHECK(k1 && k1 == k2, "kernels are created once per runtime");
}

static void buffer_errors(ds_runtime *rt) {
  ds_error err = {0};
  cl_mem m = NULL;
  size_t too_big = (size_t)rt->device.max_alloc_bytes + 4096;
  ds_status st = ds_buffer_create(rt, too_big, CL_MEM_READ_WRITE, "test weights", &m, &err);
  CHECK(st == DS_ERR_NO_MEMORY, "oversized buffer: %s", ds_status_name(st));
  CHECK(m == NULL, "no buffer");
  CHECK_CONTAINS(err.msg, "test weights");
  char bytes[64];
  snprintf(bytes, sizeof bytes, "%zu bytes", too_big);
  CHECK_CONTAINS(err.msg, bytes);
  CHECK_CONTAINS(err.msg, rt->device.name);
  ds_error_clear(&err);
  CHECK_OK(ds_buffer_create(rt, 0, CL_MEM_READ_WRITE, "empty", &m, &err), &err);
  CHECK(m != NULL, "zero bytes still give a buffer");
  ds_buffer_release(&m);
  CHECK(m == NULL, "release clears the handle");
  ds_buffer_release(&m);
}

static void kernel_dir_override(const char *base) {
  setenv("DSENGINE_KERNEL_DIR", base, 1); /* no core/vector.cl there */
  ds_error err = {0};
  ds_runtime *rt = NULL;
  CHECK_OK(ds_runtime_open(&rt, "auto", "--device", 0, &err), &err);
  cl_program p;
  if (rt) {
    CHECK(ds_program_get(rt, "core/vector", NULL, &p, &err) == DS_ERR_NOT_FOUND, "missing file");
    CHECK_CONTAINS(err.msg, "DSENGINE_KERNEL_DIR");
    ds_error_clear(&err);
  }
  ds_runtime_destroy(rt);
  unsetenv("DSENGINE_KERNEL_DIR");
}

int main(int argc, char **argv) {
  self = argv[0];
  if (argc == 3 && strcmp(argv[1], "--child") == 0) return child(argv[2]);
  if (argc != 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  const char *base = argv[1];
  char mk[1100];
  snprintf(mk, sizeof mk, "mkdir -p '%s'", base);
  if (system(mk) != 0) return 2;

  cache_across_processes(base);
  cache_file_format(base);

  char dir[1024];
  snprintf(dir, sizeof dir, "%s/inproc-XXXXXX", base);
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  setenv("DSENGINE_CACHE_DIR", dir, 1);
  ds_error err = {0};
  ds_runtime *rt = NULL;
  CHECK_OK(ds_runtime_open(&rt, "auto", "--device", 0, &err), &err);
  if (!rt) return check_summary("program_cache");
  build_errors(rt);
  buffer_errors(rt);
  ds_runtime_destroy(rt);
  kernel_dir_override(base);
  return check_summary("program_cache");
}
