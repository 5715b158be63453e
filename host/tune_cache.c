#include "host/tune_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/hash.h"
#include "host/kernel_sources.h"

uint32_t ds_tune_source_tag(const ds_runtime *rt, const char *const *programs, int count) {
  uint64_t h = DS_FNV64_INIT;
  for (int p = 0; p < count; p++) {
    h = ds_fnv64(h, programs[p], strlen(programs[p]) + 1);
    FILE *f = NULL;
    if (rt->kernel_dir[0]) {
      char path[DS_PATH_MAX + 160];
      snprintf(path, sizeof path, "%s/%s.cl", rt->kernel_dir, programs[p]);
      f = fopen(path, "rb");
    }
    if (f) { /* the file the build reads */
      char buf[4096];
      size_t got;
      while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        h = ds_fnv64(h, buf, got);
      fclose(f);
      continue;
    }
    for (int i = 0; i < ds_kernel_source_count; i++)
      if (!strcmp(ds_kernel_sources[i].name, programs[p]))
        h = ds_fnv64(h, ds_kernel_sources[i].text, ds_kernel_sources[i].length);
  }
  return (uint32_t)(h ^ (h >> 32));
}

void ds_tune_path(const ds_runtime *rt, char *path, size_t cap) {
  if (!rt->cache_dir[0]) {
    if (cap) path[0] = '\0';
    return;
  }
  uint64_t h = DS_FNV64_INIT;
  h = ds_fnv64(h, rt->device.name, strlen(rt->device.name));
  h = ds_fnv64(h, "|", 1);
  h = ds_fnv64(h, rt->device.driver_version, strlen(rt->device.driver_version));
  h = ds_fnv64(h, "|", 1);
  h = ds_fnv64(h, rt->device.platform_name, strlen(rt->device.platform_name));
  snprintf(path, cap, "%s/tune-%016llx.txt", rt->cache_dir, (unsigned long long)h);
}

static ds_tune_entry *find(ds_runtime *rt, const char *key) {
  for (int i = 0; i < rt->tune_count; i++)
    if (!strcmp(rt->tune_entries[i].key, key)) return &rt->tune_entries[i];
  return NULL;
}

static ds_tune_entry *add(ds_runtime *rt, const char *key) {
  ds_tune_entry *e = find(rt, key);
  if (e) return e;
  if (rt->tune_count == rt->tune_cap) {
    int cap = rt->tune_cap ? 2 * rt->tune_cap : 64;
    ds_tune_entry *grown = realloc(rt->tune_entries, (size_t)cap * sizeof *grown);
    if (!grown) return NULL;
    rt->tune_entries = grown;
    rt->tune_cap = cap;
  }
  e = &rt->tune_entries[rt->tune_count++];
  memset(e, 0, sizeof *e);
  snprintf(e->key, sizeof e->key, "%s", key);
  return e;
}

static void trim(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
    s[--n] = '\0';
}

/* Keys and values are printable ASCII; a line with anything else (a stray
 * carriage return, binary junk) is not an entry. A key holds no '=' and does
 * not start with a space, so "<key> = <value>" splits back into the same key
 * and value. */
static int printable(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0;
  return 1;
}

static void load(ds_runtime *rt) {
  rt->tune_loaded = 1;
  char path[DS_PATH_MAX + 64];
  ds_tune_path(rt, path, sizeof path);
  FILE *f = path[0] ? fopen(path, "r") : NULL;
  if (!f) return;
  char line[DS_TUNE_KEY_MAX + DS_TUNE_VALUE_MAX + 8];
  while (fgets(line, sizeof line, f)) {
    if (!strchr(line, '\n')) {
      /* too long, or cut short at the end: drop the rest of it too, so
       * that its tail is not read as a line of its own */
      int ch;
      while ((ch = fgetc(f)) != EOF && ch != '\n')
        ;
      continue;
    }
    if (line[0] == '#') continue;
    char *eq = strstr(line, " = ");
    if (!eq) continue;
    *eq = '\0';
    char *value = eq + 3;
    trim(line);
    trim(value);
    if (!line[0] || !value[0] || strlen(line) >= DS_TUNE_KEY_MAX ||
        strlen(value) >= DS_TUNE_VALUE_MAX || !printable(line) || !printable(value) ||
        strchr(line, '=') || line[0] == ' ')
      continue;
    ds_tune_entry *e = add(rt, line);
    if (e) snprintf(e->value, sizeof e->value, "%s", value);
  }
  fclose(f);
}

const char *ds_tune_get(ds_runtime *rt, const char *key) {
  if (!rt->tune_loaded) load(rt);
  ds_tune_entry *e = find(rt, key);
  if (!e || (rt->retune && !e->fresh)) return NULL;
  return e->value;
}

static int save(const ds_runtime *rt) {
  char path[DS_PATH_MAX + 64];
  ds_tune_path(rt, path, sizeof path);
  if (!path[0] || ds_make_dirs(rt->cache_dir, "tuning folder", NULL) != DS_OK) return 0;
  ds_atomic_file af;
  if (ds_atomic_open(&af, path, NULL) != DS_OK) return 0;
  fprintf(af.f, "# dsengine tuning: %s | %s\n", rt->device.name, rt->device.driver_version);
  for (int i = 0; i < rt->tune_count; i++)
    fprintf(af.f, "%s = %s\n", rt->tune_entries[i].key, rt->tune_entries[i].value);
  if (ferror(af.f)) {
    ds_atomic_abort(&af);
    return 0;
  }
  return ds_atomic_commit(&af, NULL) == DS_OK;
}

void ds_tune_put(ds_runtime *rt, const char *key, const char *value, int *written) {
  if (!rt->tune_loaded) load(rt);
  ds_tune_entry *e = add(rt, key);
  int ok = 0;
  if (e) {
    snprintf(e->value, sizeof e->value, "%s", value);
    e->fresh = 1;
    ok = save(rt);
  }
  if (written) *written = ok;
}

void ds_tune_release(ds_runtime *rt) {
  free(rt->tune_entries);
  rt->tune_entries = NULL;
  rt->tune_count = rt->tune_cap = 0;
  rt->tune_loaded = 0;
}
