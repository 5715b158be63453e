/* The on-disk cache of built program binaries.
 *
 * One file per (device, driver, build options, source): <dir>/<hash>.clbin,
 * laid out as
 *   "DSCLBIN\0"  magic, 8 bytes
 *   u32 format version, u32 key length, u64 binary length   (little endian)
 *   u32 CRC-32 of key and binary
 *   key bytes, binary bytes
 * The key is the full text the hash was made from and is compared on load,
 * so a hash collision or a stale file is a miss, never a wrong binary. Files
 * are written to a temporary name and renamed, so readers never see half. */
#ifndef DS_HOST_PROGRAM_CACHE_H
#define DS_HOST_PROGRAM_CACHE_H

#include <stddef.h>

#include "core/error.h"

/* Fills dir from DSENGINE_CACHE_DIR, $XDG_CACHE_HOME/dsengine or
 * ~/.cache/dsengine; empty when caching is off or no home is known. */
void ds_program_cache_default_dir(char *dir, size_t cap);

/* The file for key: <dir>/<16 hex digits>.clbin. */
void ds_program_cache_path(const char *dir, const char *key, char *path, size_t cap);

/* DS_OK with *bin (malloc'd, caller frees) on a hit; DS_ERR_NOT_FOUND when no
 * file exists; DS_ERR_CORRUPT (message names the file) when one exists but is
 * truncated, fails its CRC or holds another key. */
ds_status ds_program_cache_load(const char *dir, const char *key, unsigned char **bin, size_t *len,
                                ds_error *err);

/* Creates dir as needed and writes atomically. */
ds_status ds_program_cache_store(const char *dir, const char *key, const unsigned char *bin,
                                 size_t len, ds_error *err);

#endif
