/* PNG files through libpng. Every PNG the standard allows reads as 8-bit RGB;
 * writes are atomic (temporary name, fsync, rename). libpng's messages go
 * into the ds_error, never to stderr. */
#ifndef DS_ENGINE_MEDIA_PNG_H
#define DS_ENGINE_MEDIA_PNG_H

#include "engine/media/image.h"
#include "core/error.h"

/* Larger images are refused before any pixel is allocated: a few kilobytes of
 * deflate can claim gigabytes of pixels. */
enum { DS_PNG_MAX_SIDE = 32768 };

/* Reads any PNG (1 to 16 bits, grey, grey+alpha, palette with or without
 * tRNS, RGB, RGBA, interlaced or not) as 8-bit RGB into out, which the caller
 * frees with ds_image_free. Alpha is composited over black; 16-bit samples
 * round to the nearest 8-bit value (v / 257). Errors: DS_ERR_NOT_FOUND (no
 * such file), DS_ERR_INVALID (not a PNG, or too large), DS_ERR_CORRUPT
 * (truncated or damaged), DS_ERR_IO, DS_ERR_NO_MEMORY. out is zeroed on
 * failure. */
ds_status ds_png_read_rgb(const char *path, ds_image *out, ds_error *err);

/* Writes img (8-bit, 1 = grey, 3 = RGB or 4 = RGBA channels) to path. text is
 * NULL or a NULL-terminated list "key", "value", "key", "value", ... written
 * as tEXt chunks before the pixels (keys: 1 to 79 printable Latin-1
 * characters, no leading or trailing space). The file is written to
 * "<path>.tmp<pid>", flushed, fsynced and renamed over path; on failure the
 * temporary file is removed and path is untouched. */
ds_status ds_png_write_rgb(const char *path, const ds_image *img, const char *const *text,
                           ds_error *err);

/* Looks up a tEXt, zTXt or iTXt chunk by key. *value is a malloc'd copy of its
 * text, or NULL (with DS_OK) when the file has no such key. */
ds_status ds_png_read_text(const char *path, const char *key, char **value, ds_error *err);

#endif
