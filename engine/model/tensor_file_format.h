/* The DSTENSOR file layout (engine/model/MODEL.md), shared by the reader
 * (tensor_file_read.c) and the writer (tensor_file_write.c) of
 * engine/model/tensor_file.h; nothing else includes this. */
#ifndef DS_ENGINE_MODEL_TENSOR_FILE_FORMAT_H
#define DS_ENGINE_MODEL_TENSOR_FILE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* The file is little endian and the data section is copied to and from
 * memory as it is; every host and OpenCL device dsengine targets is little
 * endian. A big-endian port needs byte swaps in the data loops below. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error                                                                                             \
    "tensor_file_read.c and tensor_file_write.c copy float32 data as little endian: add byte swaps for this host"
#endif

/* the first 8 bytes of every file (no NUL) */
#define DS_TENSOR_MAGIC "DSTENSOR"
enum { FILE_VERSION = 1, HEADER_BYTES = 24, ENTRY_BYTES = 112, CRC_BYTES = 4 };

/* Reads, writes and CRC updates go in slices this big, so a multi-GB set
 * streams without a second copy and each fread/fwrite stays modest. */
#define IO_CHUNK ((size_t)64 << 20)

static inline uint64_t ds_tensor_round_up(uint64_t n, uint64_t to) {
  return (n + to - 1) / to * to;
}

/* Printable ASCII keeps names safe to put in one-line messages. */
static inline int ds_tensor_name_ok(const char *name, size_t len) {
  if (len == 0 || len >= DS_TENSOR_NAME_MAX) return 0;
  for (size_t i = 0; i < len; i++)
    if (name[i] < 0x20 || name[i] > 0x7e) return 0;
  return 1;
}

#endif
