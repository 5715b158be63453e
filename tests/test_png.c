/* PNG reading and writing (engine/media/png.c) and image folder listing
 * (engine/media/image_dir.c). Files in formats the engine never writes are
 * made here with plain libpng calls; expected pixels come from the formulas
 * in the PNG specification, computed in double precision.
 * Usage: test_png SCRATCH_DIR */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "engine/media/image_dir.h"
#include "engine/media/png.h"

/* A call that must fail with code want and a one-line message holding needle. */
#define CHECK_FAILS(call, want, err, needle)                                                       \
  do {                                                                                             \
    ds_error_clear(err);                                                                           \
    ds_status fails_st_ = (call);                                                                  \
    CHECK(fails_st_ == (want), "%s returned %s: %s", #call, ds_status_name(fails_st_),             \
          (err)->msg);                                                                             \
    CHECK_CONTAINS((err)->msg, needle);                                                            \
    CHECK(strchr((err)->msg, '\n') == NULL, "message is not one line: %s", (err)->msg);            \
  } while (0)

static char scratch[1024];

/* Paths under the scratch folder fit in PATH_LEN; ones built from those, in
 * 2 * PATH_LEN. */
enum { PATH_LEN = 2048 };

static const char *in_scratch(char *buf, const char *name) {
  snprintf(buf, PATH_LEN, "%s/%s", scratch, name);
  return buf;
}

static int mkdir_p(const char *path) {
  char buf[PATH_LEN];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static uint32_t rng_state = 0x2545f491u;
static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static int file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* Counts names in the scratch folder that contain ".tmp": leftovers of a
 * write that did not clean up. */
static int temp_files_left(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return -1;
  for (struct dirent *e; (e = readdir(d));)
    n += strstr(e->d_name, ".tmp") != NULL;
  closedir(d);
  return n;
}

/* ---- files made with plain libpng ---- */

typedef struct raw_png {
  int width, height, depth, color, interlace;
  const uint8_t *rows; /* packed rows of (width * samples * depth + 7) / 8 bytes, big-endian */
  const png_color *palette;
  int npalette;
  const uint8_t *trns; /* palette alpha, or NULL */
  int ntrns;
  const char *end_key, *end_text; /* a tEXt chunk after the pixels, or NULL */
} raw_png;

static int samples_of(int color) {
  switch (color) {
  case PNG_COLOR_TYPE_GRAY: return 1;
  case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
  case PNG_COLOR_TYPE_RGB: return 3;
  case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
  default: return 1;
  }
}

static size_t raw_rowbytes(const raw_png *p) {
  return ((size_t)p->width * (size_t)samples_of(p->color) * (size_t)p->depth + 7) / 8;
}

static int write_raw_png(const char *path, const raw_png *p) {
  FILE *volatile fp = fopen(path, "wb");
  if (!fp) return -1;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fclose(fp);
    return -1;
  }
  png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_init_io(png, fp);
  png_set_IHDR(png, info, (png_uint_32)p->width, (png_uint_32)p->height, p->depth, p->color,
               p->interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (p->palette) png_set_PLTE(png, info, p->palette, p->npalette);
  if (p->trns) png_set_tRNS(png, info, p->trns, p->ntrns, NULL);
  png_write_info(png, info);
  int passes = png_set_interlace_handling(png);
  for (int pass = 0; pass < passes; pass++)
    for (int y = 0; y < p->height; y++)
      png_write_row(png, p->rows + (size_t)y * raw_rowbytes(p));
  png_text t = {.compression = PNG_TEXT_COMPRESSION_NONE};
  if (p->end_key) {
    t.key = (png_charp)p->end_key;
    t.text = (png_charp)p->end_text;
    png_set_text(png, info, &t, 1);
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return fclose(fp);
}

static uint8_t round8(double v) { return (uint8_t)floor(v + 0.5); }

/* Reads path and compares with want (width * height RGB); counts mismatches. */
static void check_reads_as(const char *what, const char *path, int w, int h, const uint8_t *want) {
  ds_error err = {0};
  ds_image img;
  CHECK_OK(ds_png_read_rgb(path, &img, &err), &err);
  CHECK(img.width == w && img.height == h && img.channels == 3, "%s: shape %dx%dx%d", what,
        img.width, img.height, img.channels);
  if (img.data && img.width == w && img.height == h) {
    int bad = 0, first = -1;
    for (int i = 0; i < w * h * 3; i++)
      if (img.data[i] != want[i] && bad++ == 0) first = i;
    CHECK(bad == 0, "%s: %d samples differ, first at %d: %d != %d", what, bad, first,
          first >= 0 ? img.data[first] : 0, first >= 0 ? want[first] : 0);
  }
  ds_image_free(&img);
}

/* ---- tests ---- */

static void test_round_trip(void) {
  char path[PATH_LEN];
  ds_error err = {0};
  ds_image img;
  int w = 37, h = 23;
  CHECK_OK(ds_image_alloc(&img, w, h, 3, &err), &err);
  for (int i = 0; i < w * h * 3; i++)
    img.data[i] = (uint8_t)rng();
  in_scratch(path, "rgb.png");
  CHECK_OK(ds_png_write_rgb(path, &img, NULL, &err), &err);
  check_reads_as("rgb round trip", path, w, h, img.data);
  CHECK(temp_files_left(scratch) == 0, "a temporary file is left in %s", scratch);
  /* overwriting an existing file goes through the same rename */
  img.data[0] ^= 0xff;
  CHECK_OK(ds_png_write_rgb(path, &img, NULL, &err), &err);
  check_reads_as("rgb overwrite", path, w, h, img.data);

  /* grey and RGBA written by the engine read back as RGB */
  ds_image grey, rgba;
  CHECK_OK(ds_image_alloc(&grey, 5, 3, 1, &err), &err);
  CHECK_OK(ds_image_alloc(&rgba, 5, 3, 4, &err), &err);
  uint8_t want_grey[5 * 3 * 3], want_rgba[5 * 3 * 3];
  for (int i = 0; i < 15; i++) {
    grey.data[i] = (uint8_t)rng();
    for (int c = 0; c < 4; c++)
      rgba.data[4 * i + c] = (uint8_t)rng();
    for (int c = 0; c < 3; c++) {
      want_grey[3 * i + c] = grey.data[i];
      want_rgba[3 * i + c] = round8(rgba.data[4 * i + c] * rgba.data[4 * i + 3] / 255.0);
    }
  }
  CHECK_OK(ds_png_write_rgb(in_scratch(path, "grey_out.png"), &grey, NULL, &err), &err);
  check_reads_as("grey written", path, 5, 3, want_grey);
  CHECK_OK(ds_png_write_rgb(in_scratch(path, "rgba_out.png"), &rgba, NULL, &err), &err);
  check_reads_as("rgba written", path, 5, 3, want_rgba);

  ds_image bad = grey;
  bad.channels = 2;
  CHECK_FAILS(ds_png_write_rgb(path, &bad, NULL, &err), DS_ERR_INVALID, &err, path);
  ds_image_free(&grey);
  ds_image_free(&rgba);
  ds_image_free(&img);
  CHECK(img.data == NULL && img.width == 0, "ds_image_free leaves the image zeroed");
  ds_image_free(&img);
  CHECK_FAILS(ds_image_alloc(&img, 0, 4, 3, &err), DS_ERR_INVALID, &err, "0x4x3");
}

static void test_text(void) {
  char path[PATH_LEN];
  ds_error err = {0};
  ds_image img;
  CHECK_OK(ds_image_alloc(&img, 4, 4, 3, &err), &err);
  memset(img.data, 7, 48);
  const char *text[] = {"frame", "42", "matrix", "0.5 0 10 0 0.5 -20.25", NULL};
  in_scratch(path, "text.png");
  CHECK_OK(ds_png_write_rgb(path, &img, text, &err), &err);
  char *value = NULL;
  CHECK_OK(ds_png_read_text(path, "frame", &value, &err), &err);
  CHECK(value && strcmp(value, "42") == 0, "frame = %s", value ? value : "(null)");
  free(value);
  CHECK_OK(ds_png_read_text(path, "matrix", &value, &err), &err);
  CHECK(value && strcmp(value, "0.5 0 10 0 0.5 -20.25") == 0, "matrix = %s",
        value ? value : "(null)");
  free(value);
  value = (char *)"stale";
  CHECK_OK(ds_png_read_text(path, "landmarks", &value, &err), &err);
  CHECK(value == NULL, "an absent key gives NULL");
  check_reads_as("text image", path, 4, 4, img.data);

  const char *odd[] = {"frame", NULL};
  CHECK_FAILS(ds_png_write_rgb(path, &img, odd, &err), DS_ERR_INVALID, &err, "frame");
  const char *empty_key[] = {"", "x", NULL};
  CHECK_FAILS(ds_png_write_rgb(path, &img, empty_key, &err), DS_ERR_INVALID, &err, path);
  char long_key[81];
  memset(long_key, 'k', 80);
  long_key[80] = '\0';
  const char *too_long[] = {long_key, "x", NULL};
  CHECK_FAILS(ds_png_write_rgb(path, &img, too_long, &err), DS_ERR_INVALID, &err, long_key);
  CHECK_OK(ds_png_read_text(path, "frame", &value, &err), &err);
  CHECK(value && strcmp(value, "42") == 0, "a refused write leaves the old file");
  free(value);

  /* text after the pixels, as some writers place it */
  uint8_t rows[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  raw_png p = {.width = 2,
               .height = 2,
               .depth = 8,
               .color = PNG_COLOR_TYPE_RGB,
               .interlace = PNG_INTERLACE_NONE,
               .rows = rows};
  p.end_key = "source";
  p.end_text = "clip.mp4";
  CHECK(write_raw_png(in_scratch(path, "text_end.png"), &p) == 0, "writing %s", path);
  CHECK_OK(ds_png_read_text(path, "source", &value, &err), &err);
  CHECK(value && strcmp(value, "clip.mp4") == 0, "source = %s", value ? value : "(null)");
  free(value);
  CHECK_FAILS(ds_png_read_text(in_scratch(path, "absent.png"), "frame", &value, &err),
              DS_ERR_NOT_FOUND, &err, path);
  ds_image_free(&img);
}

static void test_16_bit(void) {
  char path[PATH_LEN];
  /* values around each rounding edge of v / 257 */
  static const unsigned v16[] = {0,     1,     128,   129,   385,   386,   32767,
                                 32768, 32896, 65407, 65408, 65534, 65535, 12345};
  enum { N = sizeof v16 / sizeof v16[0] };
  int w = N, h = 1; /* N pixels, their 3N samples cycling through v16 */
  uint8_t rows[N * 3 * 2], want[N * 3];
  for (int i = 0; i < w * 3; i++) {
    unsigned v = v16[i % N];
    rows[2 * i] = (uint8_t)(v >> 8);
    rows[2 * i + 1] = (uint8_t)v;
    want[i] = round8(v / 257.0);
  }
  raw_png p = {.width = w,
               .height = h,
               .depth = 16,
               .color = PNG_COLOR_TYPE_RGB,
               .interlace = PNG_INTERLACE_NONE,
               .rows = rows};
  CHECK(write_raw_png(in_scratch(path, "rgb16.png"), &p) == 0, "writing %s", path);
  check_reads_as("16-bit RGB", path, w, h, want);

  /* 16-bit RGBA: composite at full precision, then reduce */
  uint8_t rows4[9 * 4 * 2], want4[9 * 3];
  for (int i = 0; i < 9; i++) {
    unsigned px[4];
    for (int c = 0; c < 4; c++) {
      px[c] = (i == 0 && c == 3) ? 65535 : rng() & 0xffff;
      rows4[8 * i + 2 * c] = (uint8_t)(px[c] >> 8);
      rows4[8 * i + 2 * c + 1] = (uint8_t)px[c];
    }
    for (int c = 0; c < 3; c++)
      want4[3 * i + c] = round8((double)px[c] * px[3] / 65535.0 / 257.0);
  }
  raw_png p4 = {.width = 3,
                .height = 3,
                .depth = 16,
                .color = PNG_COLOR_TYPE_RGB_ALPHA,
                .interlace = PNG_INTERLACE_NONE,
                .rows = rows4};
  CHECK(write_raw_png(in_scratch(path, "rgba16.png"), &p4) == 0, "writing %s", path);
  check_reads_as("16-bit RGBA", path, 3, 3, want4);
}

static void test_formats(void) {
  char path[PATH_LEN];
  enum { W = 13, H = 7 };
  uint8_t want[W * H * 3];

  uint8_t grey[W * H];
  for (int i = 0; i < W * H; i++) {
    grey[i] = (uint8_t)rng();
    memset(want + 3 * i, grey[i], 3);
  }
  raw_png p = {.width = W,
               .height = H,
               .depth = 8,
               .color = PNG_COLOR_TYPE_GRAY,
               .interlace = PNG_INTERLACE_NONE,
               .rows = grey};
  CHECK(write_raw_png(in_scratch(path, "grey8.png"), &p) == 0, "writing %s", path);
  check_reads_as("grey 8-bit", path, W, H, want);

  uint8_t ga[W * H * 2];
  for (int i = 0; i < W * H; i++) {
    ga[2 * i] = (uint8_t)rng();
    ga[2 * i + 1] = i == 0 ? 0 : i == 1 ? 255 : (uint8_t)rng();
    memset(want + 3 * i, round8(ga[2 * i] * ga[2 * i + 1] / 255.0), 3);
  }
  raw_png pga = {.width = W,
                 .height = H,
                 .depth = 8,
                 .color = PNG_COLOR_TYPE_GRAY_ALPHA,
                 .interlace = PNG_INTERLACE_NONE,
                 .rows = ga};
  CHECK(write_raw_png(in_scratch(path, "grey_alpha.png"), &pga) == 0, "writing %s", path);
  check_reads_as("grey+alpha", path, W, H, want);

  png_color pal[5] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {200, 100, 50}, {17, 34, 51}};
  uint8_t trns[3] = {0, 128, 255}; /* entries 3 and 4 are opaque: tRNS may be short */
  uint8_t idx[W * H];
  for (int i = 0; i < W * H; i++) {
    idx[i] = (uint8_t)(rng() % 5);
    double a = idx[i] < 3 ? trns[idx[i]] / 255.0 : 1.0;
    want[3 * i] = round8(pal[idx[i]].red * a);
    want[3 * i + 1] = round8(pal[idx[i]].green * a);
    want[3 * i + 2] = round8(pal[idx[i]].blue * a);
  }
  raw_png pp = {.width = W,
                .height = H,
                .depth = 8,
                .color = PNG_COLOR_TYPE_PALETTE,
                .interlace = PNG_INTERLACE_NONE,
                .rows = idx,
                .palette = pal,
                .npalette = 5,
                .trns = trns,
                .ntrns = 3};
  CHECK(write_raw_png(in_scratch(path, "palette.png"), &pp) == 0, "writing %s", path);
  check_reads_as("palette with tRNS", path, W, H, want);

  uint8_t rgba[W * H * 4];
  for (int i = 0; i < W * H; i++) {
    for (int c = 0; c < 4; c++)
      rgba[4 * i + c] = (uint8_t)rng();
    if (i < 2) rgba[4 * i + 3] = i ? 255 : 0;
    for (int c = 0; c < 3; c++)
      want[3 * i + c] = round8(rgba[4 * i + c] * rgba[4 * i + 3] / 255.0);
  }
  raw_png prgba = {.width = W,
                   .height = H,
                   .depth = 8,
                   .color = PNG_COLOR_TYPE_RGB_ALPHA,
                   .interlace = PNG_INTERLACE_NONE,
                   .rows = rgba};
  CHECK(write_raw_png(in_scratch(path, "rgba.png"), &prgba) == 0, "writing %s", path);
  check_reads_as("RGBA over black", path, W, H, want);

  /* 1-bit grey, 13 pixels a row: rows are 2 bytes, the last 3 bits padding */
  uint8_t bits[2 * H] = {0};
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int on = (int)(rng() & 1);
      if (on) bits[2 * y + x / 8] |= (uint8_t)(0x80 >> (x % 8));
      memset(want + 3 * (y * W + x), on ? 255 : 0, 3);
    }
  raw_png p1 = {.width = W,
                .height = H,
                .depth = 1,
                .color = PNG_COLOR_TYPE_GRAY,
                .interlace = PNG_INTERLACE_NONE,
                .rows = bits};
  CHECK(write_raw_png(in_scratch(path, "grey1.png"), &p1) == 0, "writing %s", path);
  check_reads_as("1-bit grey", path, W, H, want);

  /* 2-bit grey scales 0..3 to 0, 85, 170, 255 */
  uint8_t two[4 * H];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int v = (x + y) % 4;
      if (x % 4 == 0) two[4 * y + x / 4] = 0;
      two[4 * y + x / 4] |= (uint8_t)(v << (6 - 2 * (x % 4)));
      memset(want + 3 * (y * W + x), v * 85, 3);
    }
  raw_png p2 = {.width = W,
                .height = H,
                .depth = 2,
                .color = PNG_COLOR_TYPE_GRAY,
                .interlace = PNG_INTERLACE_NONE,
                .rows = two};
  CHECK(write_raw_png(in_scratch(path, "grey2.png"), &p2) == 0, "writing %s", path);
  check_reads_as("2-bit grey", path, W, H, want);

  /* Adam7, with sizes that leave some passes nearly empty */
  uint8_t rgb[19 * 11 * 3];
  for (int i = 0; i < 19 * 11 * 3; i++)
    rgb[i] = (uint8_t)rng();
  raw_png pi = {.width = 19,
                .height = 11,
                .depth = 8,
                .color = PNG_COLOR_TYPE_RGB,
                .interlace = PNG_INTERLACE_ADAM7,
                .rows = rgb};
  CHECK(write_raw_png(in_scratch(path, "interlaced.png"), &pi) == 0, "writing %s", path);
  check_reads_as("interlaced RGB", path, 19, 11, rgb);
  for (int i = 0; i < 19 * 11; i++)
    memset(want + 3 * i, rgb[3 * i], 3);
  raw_png pig = {.width = 19,
                 .height = 11,
                 .depth = 8,
                 .color = PNG_COLOR_TYPE_GRAY,
                 .interlace = PNG_INTERLACE_ADAM7,
                 .rows = rgb};
  uint8_t g[19 * 11];
  for (int i = 0; i < 19 * 11; i++)
    g[i] = rgb[3 * i];
  pig.rows = g;
  CHECK(write_raw_png(in_scratch(path, "interlaced_grey.png"), &pig) == 0, "writing %s", path);
  uint8_t want_ig[19 * 11 * 3];
  for (int i = 0; i < 19 * 11; i++)
    memset(want_ig + 3 * i, g[i], 3);
  check_reads_as("interlaced grey", path, 19, 11, want_ig);
}

static int write_bytes(const char *path, const uint8_t *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t done = fwrite(data, 1, n, f);
  return fclose(f) != 0 || done != n ? -1 : 0;
}

static void test_bad_files(void) {
  char path[PATH_LEN], bad[PATH_LEN];
  ds_error err = {0};
  ds_image img, out;
  CHECK_OK(ds_image_alloc(&img, 64, 64, 3, &err), &err);
  for (int i = 0; i < 64 * 64 * 3; i++)
    img.data[i] = (uint8_t)rng();
  CHECK_OK(ds_png_write_rgb(in_scratch(path, "good.png"), &img, NULL, &err), &err);
  ds_image_free(&img);
  static uint8_t bytes[64 * 64 * 4];
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(bytes, 1, sizeof bytes, f) : 0;
  if (f) fclose(f);
  CHECK(n > 1000 && n < sizeof bytes, "good.png is %zu bytes", n);

  CHECK(write_bytes(in_scratch(bad, "half.png"), bytes, n / 2) == 0, "writing %s", bad);
  CHECK_FAILS(ds_png_read_rgb(bad, &out, &err), DS_ERR_CORRUPT, &err, bad);
  CHECK_CONTAINS(err.msg, "corrupt PNG");
  CHECK(out.data == NULL, "a failed read leaves no image");
  /* cut between the pixels and IEND */
  CHECK(write_bytes(in_scratch(bad, "no_iend.png"), bytes, n - 12) == 0, "writing %s", bad);
  CHECK_FAILS(ds_png_read_rgb(bad, &out, &err), DS_ERR_CORRUPT, &err, bad);
  /* cut inside the signature */
  CHECK(write_bytes(in_scratch(bad, "sig.png"), bytes, 5) == 0, "writing %s", bad);
  CHECK_FAILS(ds_png_read_rgb(bad, &out, &err), DS_ERR_CORRUPT, &err, bad);
  /* one flipped bit inside IDAT fails its CRC */
  bytes[n / 2] ^= 0x10;
  CHECK(write_bytes(in_scratch(bad, "flipped.png"), bytes, n) == 0, "writing %s", bad);
  CHECK_FAILS(ds_png_read_rgb(bad, &out, &err), DS_ERR_CORRUPT, &err, bad);

  for (size_t i = 0; i < 4096; i++)
    bytes[i] = (uint8_t)rng();
  CHECK(write_bytes(in_scratch(bad, "random.png"), bytes, 4096) == 0, "writing %s", bad);
  CHECK_FAILS(ds_png_read_rgb(bad, &out, &err), DS_ERR_INVALID, &err, "not a PNG file");
  CHECK_CONTAINS(err.msg, bad);
  char *value = NULL;
  CHECK_FAILS(ds_png_read_text(bad, "frame", &value, &err), DS_ERR_INVALID, &err, bad);
  CHECK(write_bytes(in_scratch(bad, "empty.png"), bytes, 0) == 0, "writing %s", bad);
  CHECK_FAILS(ds_png_read_rgb(bad, &out, &err), DS_ERR_INVALID, &err, bad);

  CHECK_FAILS(ds_png_read_rgb(in_scratch(bad, "missing.png"), &out, &err), DS_ERR_NOT_FOUND, &err,
              bad);
  CHECK_CONTAINS(err.msg, "no such file");
  CHECK_FAILS(ds_png_read_rgb(scratch, &out, &err), DS_ERR_IO, &err, scratch);

  /* sizes past the limit are refused before any pixel is allocated */
  static uint8_t zeros[2000000 / 8];
  raw_png wide = {.width = 40000,
                  .height = 1,
                  .depth = 1,
                  .color = PNG_COLOR_TYPE_GRAY,
                  .interlace = PNG_INTERLACE_NONE,
                  .rows = zeros};
  CHECK(write_raw_png(in_scratch(bad, "wide.png"), &wide) == 0, "writing %s", bad);
  CHECK_FAILS(ds_png_read_rgb(bad, &out, &err), DS_ERR_INVALID, &err, "32768");
  CHECK_CONTAINS(err.msg, bad);
  raw_png wider = {.width = 2000000,
                   .height = 1,
                   .depth = 1,
                   .color = PNG_COLOR_TYPE_GRAY,
                   .interlace = PNG_INTERLACE_NONE,
                   .rows = zeros};
  CHECK(write_raw_png(in_scratch(bad, "wider.png"), &wider) == 0, "writing %s", bad);
  CHECK_FAILS(ds_png_read_rgb(bad, &out, &err), DS_ERR_INVALID, &err, "32768");
}

static void test_write_failures(void) {
  char path[PATH_LEN], tmp[2 * PATH_LEN];
  ds_error err = {0};
  ds_image img;
  CHECK_OK(ds_image_alloc(&img, 8, 8, 3, &err), &err);
  memset(img.data, 1, 8 * 8 * 3);
  in_scratch(path, "no_such_folder/face.png");
  CHECK_FAILS(ds_png_write_rgb(path, &img, NULL, &err), DS_ERR_IO, &err, path);
  CHECK_CONTAINS(err.msg, strerror(ENOENT));
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
  CHECK(!file_exists(tmp) && !file_exists(path), "nothing is left of %s", path);

  /* a folder in the way: the temporary file is written, the rename fails */
  in_scratch(path, "a_folder.png");
  CHECK(mkdir_p(path) == 0, "mkdir %s", path);
  CHECK_FAILS(ds_png_write_rgb(path, &img, NULL, &err), DS_ERR_IO, &err, path);
  CHECK(temp_files_left(scratch) == 0, "the temporary file is removed after a failed rename");
  ds_image_free(&img);
}

static void touch(const char *dir, const char *name) {
  char path[2 * PATH_LEN];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL, "creating %s", path);
  if (f) fclose(f);
}

static void test_image_dir(void) {
  char dir[PATH_LEN], sub[2 * PATH_LEN];
  ds_error err = {0};
  in_scratch(dir, "listing");
  CHECK(mkdir_p(dir) == 0, "mkdir %s", dir);
  static const char *names[] = {"b.png",       "a10.png",    "a2.png", "A1.PNG",
                                ".hidden.png", "notes.txt",  "c.jpg",  "face_10.png",
                                "d.JPEG",      "face_2.png", "png",    "x.png.bak"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    touch(dir, names[i]);
  snprintf(sub, sizeof sub, "%s/folder.png", dir);
  CHECK(mkdir_p(sub) == 0, "mkdir %s", sub);

  char **paths = NULL;
  int count = -1;
  CHECK_OK(ds_image_dir_list(dir, &paths, &count, &err), &err);
  static const char *want[] = {"A1.PNG", "a2.png", "a10.png",    "b.png",
                               "c.jpg",  "d.JPEG", "face_2.png", "face_10.png"};
  int nwant = (int)(sizeof want / sizeof want[0]);
  CHECK(count == nwant, "listed %d files, want %d", count, nwant);
  for (int i = 0; i < count && i < nwant; i++) {
    char full[2 * PATH_LEN];
    snprintf(full, sizeof full, "%s/%s", dir, want[i]);
    CHECK(strcmp(paths[i], full) == 0, "entry %d is %s, want %s", i, paths[i], full);
  }
  ds_image_dir_free(paths, count);

  /* a trailing slash does not double */
  char slashed[2 * PATH_LEN];
  snprintf(slashed, sizeof slashed, "%s/", dir);
  CHECK_OK(ds_image_dir_list(slashed, &paths, &count, &err), &err);
  CHECK(count > 0 && strstr(paths[0], "//") == NULL, "path %s", count > 0 ? paths[0] : "");
  ds_image_dir_free(paths, count);

  in_scratch(sub, "empty_listing");
  CHECK(mkdir_p(sub) == 0, "mkdir %s", sub);
  CHECK_OK(ds_image_dir_list(sub, &paths, &count, &err), &err);
  CHECK(count == 0 && paths == NULL, "an empty folder lists nothing");

  in_scratch(sub, "no_such_listing");
  CHECK_FAILS(ds_image_dir_list(sub, &paths, &count, &err), DS_ERR_NOT_FOUND, &err, sub);
  snprintf(sub, sizeof sub, "%s/b.png", dir);
  CHECK_FAILS(ds_image_dir_list(sub, &paths, &count, &err), DS_ERR_NOT_FOUND, &err, sub);
  CHECK(paths == NULL && count == 0, "a failed listing returns nothing");

  CHECK(ds_natural_compare("face_2.png", "face_10.png") < 0, "2 before 10");
  CHECK(ds_natural_compare("face_10.png", "face_2.png") > 0, "10 after 2");
  CHECK(ds_natural_compare("x", "x1") < 0, "a prefix first");
  CHECK(ds_natural_compare("f99999999999999999999999", "f100000000000000000000000") < 0,
        "digit runs of any length");
  int d1 = ds_natural_compare("a01", "a1"), d2 = ds_natural_compare("a1", "a01");
  CHECK(d1 != 0 && (d1 < 0) == (d2 > 0), "equal values still order one way");
  CHECK(ds_natural_compare("a1b", "a1b") == 0, "equal names");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  snprintf(scratch, sizeof scratch, "%s", argv[1]);
  if (mkdir_p(scratch) != 0) {
    fprintf(stderr, "%s: cannot create: %s\n", scratch, strerror(errno));
    return 2;
  }
  test_round_trip();
  test_text();
  test_16_bit();
  test_formats();
  test_bad_files();
  test_write_failures();
  test_image_dir();
  return check_summary("png");
}
