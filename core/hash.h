/* Checksums and hashes for cache keys and file integrity. */
#ifndef DS_CORE_HASH_H
#define DS_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32 (IEEE 802.3, reflected, as zlib and PNG use). Chain calls by passing
 * the previous result as crc; start with 0. */
uint32_t ds_crc32(uint32_t crc, const void *data, size_t n);

/* 64-bit FNV-1a. Chain calls by passing the previous result as h; start with
 * DS_FNV64_INIT. Not cryptographic: keys are verified in full after lookup. */
#define DS_FNV64_INIT 0xcbf29ce484222325ull
uint64_t ds_fnv64(uint64_t h, const void *data, size_t n);

#endif
