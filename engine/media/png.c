#include "engine/media/png.h"

#include <errno.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
ds_status ds_image_alloc(ds_image *img, int width, int height, int channels, ds_error *err) {
  memset(img, 0, sizeof *img);
  if (width <= 0 || height <= 0 || channels < 1 || channels > 4)
    return ds_error_set(err, DS_ERR_INVALID,
                        "image %dx%dx%d: width, height must be positive and "
                        "channels 1 to 4",
                        width, height, channels);
  size_t bytes = (size_t)width * (size_t)height * (size_t)channels;
  if (bytes / (size_t)height / (size_t)channels != (size_t)width)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "image %dx%dx%d: size overflows; use smaller images",
                        width, height, channels);
  img->data = malloc(bytes);
  if (!img->data)
    return ds_error_set(err, DS_ERR_NO_MEMORY,
                        "image %dx%dx%d: cannot allocate %zu bytes; free memory or use smaller "
                        "images",
                        width, height, channels, bytes);
  img->width = width;
  img->height = height;
  img->channels = channels;
  return DS_OK;
}

void ds_image_free(ds_image *img) {
  if (!img) return;
  free(img->data);
  memset(img, 0, sizeof *img);
}

/* What libpng reported before it longjmp'd back. sys_errno is set when the
 * cause was the file system rather than the file's content. */
typedef struct png_failure {
  char msg[200];
  int sys_errno;
} png_failure;

/* libpng must never print or abort: errors are recorded and jump back to the
 * setjmp in the caller, warnings (including benign errors) are dropped. */
static void on_png_error(png_structp png, png_const_charp msg) {
  png_failure *f = png_get_error_ptr(png);
  size_t i = 0;
  for (; msg && msg[i] && i + 1 < sizeof f->msg; i++)
    f->msg[i] = (msg[i] == '\n' || msg[i] == '\r') ? ' ' : msg[i];
  f->msg[i] = '\0';
  png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

/* ---- reading ---- */

/* Everything a read owns lives here, in the caller's frame, so that the
 * cleanup after a longjmp sees current values (C11 7.13.2.1: non-volatile
 * locals of the function that called setjmp are indeterminate). */
typedef struct png_reader {
  const char *path;
  FILE *fp;
  png_structp png;
  png_infop info;
  uint8_t *scratch;
  png_bytep *rows;
  ds_image img;
  png_failure fail;
  png_alloc_size_t alloc_max; /* largest allocation libpng may make */
} png_reader;

/* libpng reads an ancillary chunk (tEXt, iCCP, ...) into one allocation as
 * large as its header claims, and Debian's build sets no limit: a 137-byte
 * file that claims a 2 GB tEXt chunk took 2 GB (fuzz input regress/png/
 * huge-text-chunk.png). No chunk is longer than the file, and libpng's other
 * buffers (rows, inflate state, text inflated up to chunk_malloc_max) stay
 * far below 16 MiB, so larger requests are refused; libpng then skips the
 * chunk with a warning and meets the end of the file. */
enum { PNG_ALLOC_SLACK = 16 << 20 };

static png_voidp limited_malloc(png_structp png, png_alloc_size_t size) {
  const png_reader *r = png_get_mem_ptr(png);
  return size > r->alloc_max ? NULL : malloc(size);
}

static void plain_free(png_structp png, png_voidp p) {
  (void)png;
  free(p);
}

static void read_data(png_structp png, png_bytep data, size_t len) {
  png_reader *r = png_get_io_ptr(png);
  if (fread(data, 1, len, r->fp) == len) return;
  if (ferror(r->fp)) {
    r->fail.sys_errno = errno ? errno : EIO;
    png_error(png, "read failed");
  }
  png_error(png, "unexpected end of file (the file is truncated)");
}

static void reader_close(png_reader *r) {
  if (r->png) png_destroy_read_struct(&r->png, r->info ? &r->info : NULL, NULL);
  if (r->fp) fclose(r->fp);
  free(r->scratch);
  free(r->rows);
  ds_image_free(&r->img);
  memset(r, 0, sizeof *r);
}

static ds_status failure_status(const png_reader *r, ds_error *err) {
  if (r->fail.sys_errno)
    return ds_error_set(err, DS_ERR_IO, "%s: cannot read: %s", r->path,
                        strerror(r->fail.sys_errno));
  return ds_error_set(err, DS_ERR_CORRUPT, "%s: corrupt PNG: %s; replace or re-create the file",
                      r->path, r->fail.msg);
}

/* Opens path, checks the signature and sets up libpng to read the rest. */
static ds_status reader_open(png_reader *r, const char *path, ds_error *err) {
  memset(r, 0, sizeof *r);
  r->path = path;
  r->fp = fopen(path, "rb");
  if (!r->fp) {
    if (errno == ENOENT || errno == ENOTDIR)
      return ds_error_set(err, DS_ERR_NOT_FOUND, "%s: no such file; check the path", path);
    return ds_error_set(err, DS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  }
  png_byte sig[8];
  size_t n = fread(sig, 1, sizeof sig, r->fp);
  if (n < sizeof sig && ferror(r->fp))
    return ds_error_set(err, DS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
  if (n > 0 && png_sig_cmp(sig, 0, n) == 0 && n < sizeof sig)
    return ds_error_set(err, DS_ERR_CORRUPT,
                        "%s: corrupt PNG: ends inside the signature; replace or re-create the file",
                        path);
  if (n < sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0)
    return ds_error_set(err, DS_ERR_INVALID,
                        "%s: not a PNG file; convert it to PNG or remove it from the input", path);
  struct stat st;
  r->alloc_max = PNG_ALLOC_SLACK;
  if (fstat(fileno(r->fp), &st) == 0 && st.st_size > 0)
    r->alloc_max += (png_alloc_size_t)st.st_size;
  r->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &r->fail, on_png_error, on_png_warning,
                                    r, limited_malloc, plain_free);
  if (r->png) r->info = png_create_info_struct(r->png);
  if (!r->png || !r->info)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate the PNG decoder", path);
  png_set_read_fn(r->png, r, read_data);
  png_set_sig_bytes(r->png, sizeof sig);
  /* libpng's own limit (1e6) would surface as a corrupt file; ours gives the
   * clear message in check_size. */
  png_set_user_limits(r->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_set_chunk_malloc_max(r->png, PNG_ALLOC_SLACK / 2); /* zTXt, iTXt, iCCP inflated */
  return DS_OK;
}

static ds_status check_size(const png_reader *r, ds_error *err) {
  png_uint_32 w = png_get_image_width(r->png, r->info);
  png_uint_32 h = png_get_image_height(r->png, r->info);
  if (w > DS_PNG_MAX_SIDE || h > DS_PNG_MAX_SIDE)
    return ds_error_set(err, DS_ERR_INVALID,
                        "%s: image is %lux%lu, above the %d-pixel limit per side; downscale it",
                        r->path, (unsigned long)w, (unsigned long)h, DS_PNG_MAX_SIDE);
  return DS_OK;
}

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

/* Converts one row of 8- or 16-bit RGB or RGBA (big-endian, as libpng gives
 * it) to 8-bit RGB. Alpha composites over black, c * a, before the 16 -> 8
 * reduction so that 16-bit alpha keeps its precision; every division rounds
 * to nearest. */
static void row_to_rgb8(uint8_t *dst, const uint8_t *src, size_t width, int channels, int depth) {
  if (depth == 8 && channels == 3) {
    memcpy(dst, src, width * 3);
  } else if (depth == 8) {
    for (size_t x = 0; x < width; x++, src += 4, dst += 3) {
      unsigned a = src[3];
      for (int c = 0; c < 3; c++)
        dst[c] = (uint8_t)((src[c] * a + 127) / 255);
    }
  } else if (channels == 3) {
    for (size_t x = 0; x < width * 3; x++, src += 2)
      dst[x] = (uint8_t)((be16(src) + 128) / 257);
  } else {
    /* c * a / 65535 / 257, in one rounding */
    const uint64_t d = 65535u * 257u;
    for (size_t x = 0; x < width; x++, src += 8, dst += 3) {
      uint64_t a = be16(src + 6);
      for (int c = 0; c < 3; c++)
        dst[c] = (uint8_t)((be16(src + 2 * c) * a + d / 2) / d);
    }
  }
}

static ds_status decode_rgb(png_reader *r, ds_error *err) {
  if (setjmp(png_jmpbuf(r->png))) return failure_status(r, err);
  png_structp png = r->png;
  png_infop info = r->info;
  png_read_info(png, info);
  ds_status st = check_size(r, err);
  if (st != DS_OK) return st;

  int color = png_get_color_type(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (!(color & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
  int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);

  int channels = png_get_channels(png, info);
  int depth = png_get_bit_depth(png, info);
  if ((channels != 3 && channels != 4) || (depth != 8 && depth != 16))
    png_error(png, "unsupported pixel layout after expansion");
  size_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  size_t rowbytes = png_get_rowbytes(png, info);
  if (ds_image_alloc(&r->img, (int)w, (int)h, 3, NULL) != DS_OK)
    return ds_error_set(err, DS_ERR_NO_MEMORY,
                        "%s: cannot allocate a %zux%zu RGB image; free memory or downscale it",
                        r->path, w, h);
  /* 8-bit RGB decodes straight into the image; anything else goes through
   * one scratch row, or, when interlaced, a scratch image, since Adam7 passes
   * revisit every row. */
  int direct = channels == 3 && depth == 8;
  size_t scratch_rows = direct ? 0 : passes > 1 ? h : 1;
  if (scratch_rows) {
    r->scratch = malloc(scratch_rows * rowbytes);
    if (!r->scratch)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes to decode it",
                          r->path, scratch_rows * rowbytes);
  }
  uint8_t *pixels = r->img.data;
  if (passes == 1) {
    for (size_t y = 0; y < h; y++) {
      uint8_t *dst = pixels + y * w * 3;
      png_read_row(png, direct ? dst : r->scratch, NULL);
      if (!direct) row_to_rgb8(dst, r->scratch, w, channels, depth);
    }
  } else {
    r->rows = malloc(h * sizeof *r->rows);
    if (!r->rows)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate the row table", r->path);
    for (size_t y = 0; y < h; y++)
      r->rows[y] = direct ? pixels + y * w * 3 : r->scratch + y * rowbytes;
    png_read_image(png, r->rows);
    if (!direct)
      for (size_t y = 0; y < h; y++)
        row_to_rgb8(pixels + y * w * 3, r->rows[y], w, channels, depth);
  }
  /* Reads to IEND, so a file cut after its last pixel is still caught. */
  png_read_end(png, NULL);
  return DS_OK;
}

ds_status ds_png_read_rgb(const char *path, ds_image *out, ds_error *err) {
  memset(out, 0, sizeof *out);
  png_reader r;
  ds_status st = reader_open(&r, path, err);
  if (st == DS_OK) st = decode_rgb(&r, err);
  if (st == DS_OK) {
    *out = r.img;
    memset(&r.img, 0, sizeof r.img);
  }
  reader_close(&r);
  return st;
}

static const char *find_text(png_structp png, png_infop info, const char *key) {
  png_textp text;
  int n = png_get_text(png, info, &text, NULL);
  for (int i = 0; i < n; i++)
    if (strcmp(text[i].key, key) == 0) return text[i].text ? text[i].text : "";
  return NULL;
}

static ds_status decode_text(png_reader *r, const char *key, char **value, ds_error *err) {
  if (setjmp(png_jmpbuf(r->png))) return failure_status(r, err);
  png_structp png = r->png;
  png_infop info = r->info;
  png_read_info(png, info);
  const char *found = find_text(png, info, key);
  if (!found) {
    /* Text may also follow the pixels; reaching it means decoding them. */
    ds_status st = check_size(r, err);
    if (st != DS_OK) return st;
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t h = png_get_image_height(png, info);
    r->scratch = malloc(png_get_rowbytes(png, info));
    if (!r->scratch)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate a row to decode it", r->path);
    for (size_t i = 0; i < (size_t)passes * h; i++)
      png_read_row(png, r->scratch, NULL);
    png_read_end(png, info);
    found = find_text(png, info, key);
  }
  if (found) {
    *value = strdup(found);
    if (!*value)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot copy text \"%s\"", r->path, key);
  }
  return DS_OK;
}

ds_status ds_png_read_text(const char *path, const char *key, char **value, ds_error *err) {
  *value = NULL;
  png_reader r;
  ds_status st = reader_open(&r, path, err);
  if (st == DS_OK) st = decode_text(&r, key, value, err);
  reader_close(&r);
  return st;
}

/* ---- writing ---- */

typedef struct png_writer {
  const char *path;
  FILE *fp;
  png_structp png;
  png_infop info;
  png_text *text;
  png_failure fail;
} png_writer;

static void write_data(png_structp png, png_bytep data, size_t len) {
  png_writer *w = png_get_io_ptr(png);
  if (fwrite(data, 1, len, w->fp) == len) return;
  w->fail.sys_errno = errno ? errno : EIO;
  png_error(png, "write failed");
}

static void flush_data(png_structp png) {
  png_writer *w = png_get_io_ptr(png);
  if (fflush(w->fp) == 0) return;
  w->fail.sys_errno = errno ? errno : EIO;
  png_error(png, "flush failed");
}

/* tEXt keywords: 1 to 79 Latin-1 printable characters, no leading or
 * trailing space (PNG specification 11.3.4.3). libpng would drop or refuse a
 * bad one; we name it instead. */
static int valid_keyword(const char *key) {
  size_t n = strlen(key);
  if (n < 1 || n > 79 || key[0] == ' ' || key[n - 1] == ' ') return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)key[i];
    if (c < 32 || (c > 126 && c < 161)) return 0;
  }
  return 1;
}

static ds_status encode(png_writer *w, const ds_image *img, const char *const *text, int ntext,
                        ds_error *err) {
  if (setjmp(png_jmpbuf(w->png))) {
    if (w->fail.sys_errno)
      return ds_error_set(err, DS_ERR_IO, "%s: cannot write: %s; check the disk and the folder",
                          w->path, strerror(w->fail.sys_errno));
    return ds_error_set(err, DS_ERR_IO, "%s: cannot write PNG: %s", w->path, w->fail.msg);
  }
  png_structp png = w->png;
  png_infop info = w->info;
  static const int color_of[5] = {0, PNG_COLOR_TYPE_GRAY, 0, PNG_COLOR_TYPE_RGB,
                                  PNG_COLOR_TYPE_RGB_ALPHA};
  png_set_write_fn(png, w, write_data, flush_data);
  png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
               color_of[img->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (ntext > 0) {
    w->text = calloc((size_t)ntext, sizeof *w->text);
    if (!w->text)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate %d text chunks", w->path,
                          ntext);
    for (int i = 0; i < ntext; i++) {
      w->text[i].compression = PNG_TEXT_COMPRESSION_NONE;
      /* libpng copies both strings and never writes through these */
      w->text[i].key = (png_charp)text[2 * i];
      w->text[i].text = (png_charp)text[2 * i + 1];
      w->text[i].text_length = strlen(text[2 * i + 1]);
    }
    png_set_text(png, info, w->text, ntext);
  }
  png_write_info(png, info);
  size_t stride = (size_t)img->width * (size_t)img->channels;
  for (int y = 0; y < img->height; y++)
    png_write_row(png, img->data + (size_t)y * stride);
  png_write_end(png, NULL);
  return DS_OK;
}

static ds_status check_image(const char *path, const ds_image *img, const char *const *text,
                             int *ntext, ds_error *err) {
  if (!img || !img->data || img->width <= 0 || img->height <= 0 ||
      (img->channels != 1 && img->channels != 3 && img->channels != 4))
    return ds_error_set(err, DS_ERR_INVALID,
                        "%s: cannot write a %dx%dx%d image; PNG output needs pixels and 1, 3 or "
                        "4 channels",
                        path, img ? img->width : 0, img ? img->height : 0, img ? img->channels : 0);
  if (img->width > DS_PNG_MAX_SIDE || img->height > DS_PNG_MAX_SIDE)
    return ds_error_set(err, DS_ERR_INVALID,
                        "%s: image is %dx%d, above the %d-pixel limit per side; downscale it", path,
                        img->width, img->height, DS_PNG_MAX_SIDE);
  int n = 0;
  for (; text && text[n]; n += 2) {
    if (!text[n + 1])
      return ds_error_set(err, DS_ERR_INVALID, "%s: text key \"%s\" has no value", path, text[n]);
    if (!valid_keyword(text[n]))
      return ds_error_set(err, DS_ERR_INVALID,
                          "%s: text key \"%s\" is not a PNG keyword (1-79 printable characters, "
                          "no leading or trailing space)",
                          path, text[n]);
  }
  *ntext = n / 2;
  return DS_OK;
}

ds_status ds_png_write_rgb(const char *path, const ds_image *img, const char *const *text,
                           ds_error *err) {
  int ntext = 0;
  ds_status st = check_image(path, img, text, &ntext, err);
  if (st != DS_OK) return st;
  ds_atomic_file af;
  st = ds_atomic_open(&af, path, err);
  if (st != DS_OK) return st;
  png_writer w = {.path = path, .fp = af.f};
  w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w.fail, on_png_error, on_png_warning);
  if (w.png) w.info = png_create_info_struct(w.png);
  if (!w.png || !w.info)
    st = ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate the PNG encoder", path);
  if (st == DS_OK) st = encode(&w, img, text, ntext, err);
  if (w.png) png_destroy_write_struct(&w.png, w.info ? &w.info : NULL);
  free(w.text);

  /* the data is on disk before the rename makes it visible (ds_atomic_commit) */
  if (st == DS_OK) return ds_atomic_commit(&af, err);
  ds_atomic_abort(&af);
  return st;
}
