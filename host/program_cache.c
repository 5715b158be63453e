#include "host/program_cache.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/bytes.h"
#include "core/hash.h"

static const char magic[8] = {'D', 'S', 'C', 'L', 'B', 'I', 'N', '\0'};
enum { FORMAT_VERSION = 1, HEADER_BYTES = 8 + 4 + 4 + 8 + 4 };

void ds_program_cache_default_dir(char *dir, size_t cap) {
  const char *env = getenv("DSENGINE_CACHE_DIR");
  dir[0] = '\0';
  if (env && *env) {
    if (strcmp(env, "off") != 0) snprintf(dir, cap, "%s", env);
    return;
  }
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  if (xdg && *xdg)
    snprintf(dir, cap, "%s/dsengine", xdg);
  else if (home && *home)
    snprintf(dir, cap, "%s/.cache/dsengine", home);
}

void ds_program_cache_path(const char *dir, const char *key, char *path, size_t cap) {
  uint64_t h = ds_fnv64(DS_FNV64_INIT, key, strlen(key));
  snprintf(path, cap, "%s/%016llx.clbin", dir, (unsigned long long)h);
}

ds_status ds_program_cache_load(const char *dir, const char *key, unsigned char **bin, size_t *len,
                                ds_error *err) {
  *bin = NULL;
  *len = 0;
  char path[1280];
  ds_program_cache_path(dir, key, path, sizeof path);
  FILE *f = fopen(path, "rb");
  if (!f) return ds_error_set(err, DS_ERR_NOT_FOUND, "no cached program at %s", path);

  ds_status st = DS_ERR_CORRUPT;
  unsigned char hdr[HEADER_BYTES];
  unsigned char *keybuf = NULL, *data = NULL;
  size_t keylen = strlen(key);
  if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr || memcmp(hdr, magic, 8) != 0) goto bad;
  if (ds_get_le32(hdr + 8) != FORMAT_VERSION || ds_get_le32(hdr + 12) != keylen) goto bad;
  uint64_t binlen = ds_get_le64(hdr + 16);
  struct stat sb;
  /* compared without adding binlen, which may be anything up to 2^64 - 1 */
  if (fstat(fileno(f), &sb) != 0 || (uint64_t)sb.st_size < HEADER_BYTES + keylen ||
      binlen != (uint64_t)sb.st_size - HEADER_BYTES - keylen)
    goto bad;
  keybuf = malloc(keylen + 1);
  data = malloc(binlen ? binlen : 1);
  if (!keybuf || !data) {
    st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory reading %s", path);
    goto out;
  }
  if (fread(keybuf, 1, keylen, f) != keylen || fread(data, 1, binlen, f) != binlen) goto bad;
  if (memcmp(keybuf, key, keylen) != 0) goto bad;
  uint32_t crc = ds_crc32(ds_crc32(0, keybuf, keylen), data, binlen);
  if (crc != ds_get_le32(hdr + 24)) goto bad;
  *bin = data;
  *len = binlen;
  data = NULL;
  st = DS_OK;
  goto out;
bad:
  st = ds_error_set(err, DS_ERR_CORRUPT, "cached program %s is truncated or corrupt", path);
out:
  free(keybuf);
  free(data);
  fclose(f);
  return st;
}

ds_status ds_program_cache_store(const char *dir, const char *key, const unsigned char *bin,
                                 size_t len, ds_error *err) {
  ds_status made = ds_make_dirs(dir, "program cache folder", err);
  if (made != DS_OK) return made;
  char path[1280];
  ds_program_cache_path(dir, key, path, sizeof path);
  size_t keylen = strlen(key);
  unsigned char hdr[HEADER_BYTES];
  memcpy(hdr, magic, 8);
  ds_put_le32(hdr + 8, FORMAT_VERSION);
  ds_put_le32(hdr + 12, (uint32_t)keylen);
  ds_put_le64(hdr + 16, len);
  ds_put_le32(hdr + 24, ds_crc32(ds_crc32(0, key, keylen), bin, len));

  ds_atomic_file af;
  ds_status st = ds_atomic_open(&af, path, err);
  if (st != DS_OK) return st;
  if (fwrite(hdr, 1, sizeof hdr, af.f) != sizeof hdr || fwrite(key, 1, keylen, af.f) != keylen ||
      fwrite(bin, 1, len, af.f) != len) {
    int e = errno;
    ds_atomic_abort(&af);
    return ds_atomic_write_failed(path, e, err);
  }
  return ds_atomic_commit(&af, err);
}
