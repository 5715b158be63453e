#include "engine/train/preview.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine/media/png.h"

/* ---- the font ---- */

/* Glyphs drawn for this engine, 5 x 9 each: '#' is ink. Rows 0-6 hold capitals
 * and digits, the baseline is under row 6, rows 7-8 take descenders. Each
 * sheet row lists its characters' rows left to right, one space apart, so a
 * sheet reads as the text it draws. */
typedef struct glyph_sheet {
  const char *chars;
  const char *rows[DS_FONT_HEIGHT];
} glyph_sheet;

// clang-format off
static const glyph_sheet sheets[] = {
    {"0123456789",
     {".###. ..#.. .###. ##### ...#. ##### ..##. ##### .###. .###.",
      "#...# .##.. #...# ...#. ..##. #.... .#... ....# #...# #...#",
      "#..## ..#.. ....# ..#.. .#.#. ####. #.... ...#. #...# #...#",
      "#.#.# ..#.. ...#. ...#. #..#. ....# ####. ..#.. .###. .####",
      "##..# ..#.. ..#.. ....# ##### ....# #...# .#... #...# ....#",
      "#...# ..#.. .#... #...# ...#. #...# #...# .#... #...# ...#.",
      ".###. .###. ##### .###. ...#. .###. .###. .#... .###. .##..",
      "..... ..... ..... ..... ..... ..... ..... ..... ..... .....",
      "..... ..... ..... ..... ..... ..... ..... ..... ..... ....."}},
    {"ABCDEFGHIJKLM",
     {".###. ####. .###. ###.. ##### ##### .###. #...# .###. ..### #...# #.... #...#",
      "#...# #...# #...# #..#. #.... #.... #...# #...# ..#.. ...#. #..#. #.... ##.##",
      "#...# #...# #.... #...# #.... #.... #.... #...# ..#.. ...#. #.#.. #.... #.#.#",
      "##### ####. #.... #...# ####. ####. #.### ##### ..#.. ...#. ##... #.... #.#.#",
      "#...# #...# #.... #...# #.... #.... #...# #...# ..#.. ...#. #.#.. #.... #...#",
      "#...# #...# #...# #..#. #.... #.... #...# #...# ..#.. #..#. #..#. #.... #...#",
      "#...# ####. .###. ###.. ##### #.... .#### #...# .###. .##.. #...# ##### #...#",
      "..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....",
      "..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ....."}},
    {"NOPQRSTUVWXYZ",
     {"#...# .###. ####. .###. ####. .#### ##### #...# #...# #...# #...# #...# #####",
      "#...# #...# #...# #...# #...# #.... ..#.. #...# #...# #...# #...# #...# ....#",
      "##..# #...# #...# #...# #...# #.... ..#.. #...# #...# #...# .#.#. .#.#. ...#.",
      "#.#.# #...# ####. #...# ####. .###. ..#.. #...# #...# #.#.# ..#.. ..#.. ..#..",
      "#..## #...# #.... #.#.# #.#.. ....# ..#.. #...# #...# #.#.# .#.#. ..#.. .#...",
      "#...# #...# #.... #..#. #..#. ....# ..#.. #...# .#.#. #.#.# #...# ..#.. #....",
      "#...# .###. #.... .##.# #...# ####. ..#.. .###. ..#.. .#.#. #...# ..#.. #####",
      "..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....",
      "..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ....."}},
    {"abcdefghijklm",
     {"..... #.... ..... ....# ..... ..##. ..... #.... ..#.. ...#. #.... .##.. .....",
      "..... #.... ..... ....# ..... .#..# ..... #.... ..... ..... #.... ..#.. .....",
      ".###. ####. .###. .#### .###. .#... .#### #.##. .##.. ..##. #..#. ..#.. ##.#.",
      "....# #...# #.... #...# #...# ###.. #...# ##..# ..#.. ...#. #.#.. ..#.. #.#.#",
      ".#### #...# #.... #...# ##### .#... #...# #...# ..#.. ...#. ##... ..#.. #.#.#",
      "#...# #...# #...# #...# #.... .#... #...# #...# ..#.. ...#. #.#.. ..#.. #.#.#",
      ".#### ####. .###. .#### .###. .#... .#### #...# .###. ...#. #..#. .###. #.#.#",
      "..... ..... ..... ..... ..... ..... ....# ..... ..... #..#. ..... ..... .....",
      "..... ..... ..... ..... ..... ..... .###. ..... ..... .##.. ..... ..... ....."}},
    {"nopqrstuvwxyz",
     {"..... ..... ..... ..... ..... ..... .#... ..... ..... ..... ..... ..... .....",
      "..... ..... ..... ..... ..... ..... .#... ..... ..... ..... ..... ..... .....",
      "#.##. .###. ####. .#### #.##. .#### ###.. #...# #...# #...# #...# #...# #####",
      "##..# #...# #...# #...# ##..# #.... .#... #...# #...# #...# .#.#. #...# ...#.",
      "#...# #...# #...# #...# #.... .###. .#... #...# #...# #.#.# ..#.. #...# ..#..",
      "#...# #...# #...# #...# #.... ....# .#..# #..## .#.#. #.#.# .#.#. #...# .#...",
      "#...# .###. ####. .#### #.... ####. ..##. .##.# ..#.. .#.#. #...# .#### #####",
      "..... ..... #.... ....# ..... ..... ..... ..... ..... ..... ..... ....# .....",
      "..... ..... #.... ....# ..... ..... ..... ..... ..... ..... ..... .###. ....."}},
    {" .,:>-_()/%=+",
     {"..... ..... ..... ..... .#... ..... ..... ...#. .#... ....# ##... ..... .....",
      "..... ..... ..... .##.. ..#.. ..... ..... ..#.. ..#.. ....# ##..# ..... ..#..",
      "..... ..... ..... .##.. ...#. ..... ..... .#... ...#. ...#. ...#. ##### ..#..",
      "..... ..... ..... ..... ....# ##### ..... .#... ...#. ..#.. ..#.. ..... #####",
      "..... ..... ..... .##.. ...#. ..... ..... .#... ...#. .#... .#... ##### ..#..",
      "..... .##.. .##.. .##.. ..#.. ..... ..... ..#.. ..#.. #.... #..## ..... ..#..",
      "..... .##.. .##.. ..... .#... ..... ..... ...#. .#... #.... ...## ..... .....",
      "..... ..... ..#.. ..... ..... ..... ##### ..... ..... ..... ..... ..... .....",
      "..... ..... .#... ..... ..... ..... ..... ..... ..... ..... ..... ..... ....."}},
};
// clang-format on

/* Drawn for every byte the sheets lack: an outline of the capital box. */
static const char *const box_rows[DS_FONT_HEIGHT] = {"#####", "#...#", "#...#", "#...#", "#...#",
                                                     "#...#", "#####", ".....", "....."};

/* Points *rows at the glyph's first row and returns the column of its left
 * edge within them. */
static int find_glyph(unsigned char c, const char *const **rows) {
  for (size_t s = 0; c && s < sizeof sheets / sizeof sheets[0]; s++) {
    const char *hit = strchr(sheets[s].chars, c);
    if (hit) {
      *rows = sheets[s].rows;
      return (int)(hit - sheets[s].chars) * DS_FONT_ADVANCE;
    }
  }
  *rows = box_rows;
  return 0;
}

int ds_text_width(const char *text, int scale) {
  if (!text || !text[0] || scale < 1) return 0;
  long long w = (long long)strlen(text) * DS_FONT_ADVANCE * scale - scale;
  return w > INT_MAX ? INT_MAX : (int)w;
}

/* Fills the part of a square at (x, y), side `side`, that lies in the image. */
static void fill_square(uint8_t *rgb, int width, int height, long long x, long long y, int side,
                        const uint8_t color[3]) {
  long long x0 = x < 0 ? 0 : x, x1 = x + side > width ? width : x + side;
  long long y0 = y < 0 ? 0 : y, y1 = y + side > height ? height : y + side;
  for (long long py = y0; py < y1; py++) {
    uint8_t *p = rgb + ((size_t)py * (size_t)width + (size_t)x0) * 3;
    for (long long px = x0; px < x1; px++, p += 3)
      memcpy(p, color, 3);
  }
}

void ds_text_draw(uint8_t *rgb, int width, int height, int x, int y, const char *text, int scale,
                  const uint8_t color[3]) {
  assert(rgb && color && scale >= 1);
  if (!text || width <= 0 || height <= 0) return;
  /* long long: a glyph far off the image must not overflow int on its way */
  long long step = (long long)DS_FONT_ADVANCE * scale;
  long long gx = x;
  if (y >= height || (long long)y + (long long)DS_FONT_HEIGHT * scale <= 0) return;
  for (const unsigned char *c = (const unsigned char *)text; *c && gx < width; c++, gx += step) {
    if (gx + (long long)DS_FONT_WIDTH * scale <= 0) continue;
    const char *const *rows;
    int col = find_glyph(*c, &rows);
    for (int r = 0; r < DS_FONT_HEIGHT; r++)
      for (int k = 0; k < DS_FONT_WIDTH; k++)
        if (rows[r][col + k] == '#')
          fill_square(rgb, width, height, gx + (long long)k * scale,
                      (long long)y + (long long)r * scale, scale, color);
  }
}

/* ---- the preview ---- */

int ds_preview_text_scale(int size, int scale) {
  long long t = (long long)size * scale / 64;
  /* past 256 the preview is far over the PNG size limit anyway */
  return t < 1 ? 1 : t > 256 ? 256 : (int)t;
}

static uint8_t to_u8(float v) {
  if (!(v > 0.0f)) return 0; /* also NaN */
  if (v >= 1.0f) return 255;
  return (uint8_t)(v * 255.0f + 0.5f);
}

/* Copies one size x size face into img at (x, y), each pixel a scale x scale
 * square: one output line per source line, then repeated. */
static void draw_face(ds_image *img, int x, int y, const float *face, int size, int scale) {
  size_t stride = (size_t)img->width * 3, line = (size_t)size * (size_t)scale * 3;
  for (int sy = 0; sy < size; sy++) {
    uint8_t *dst = img->data + (size_t)(y + sy * scale) * stride + (size_t)x * 3;
    const float *src = face + (size_t)sy * (size_t)size * 3;
    uint8_t *p = dst;
    for (int sx = 0; sx < size; sx++) {
      uint8_t px[3] = {to_u8(src[sx * 3]), to_u8(src[sx * 3 + 1]), to_u8(src[sx * 3 + 2])};
      for (int k = 0; k < scale; k++, p += 3)
        memcpy(p, px, 3);
    }
    for (int k = 1; k < scale; k++)
      memcpy(dst + (size_t)k * stride, dst, line);
  }
}

ds_status ds_preview_render(const ds_preview_row *rows, int row_count, int cols, int size,
                            int scale, const char *title, ds_image *out, ds_error *err) {
  memset(out, 0, sizeof *out);
  if (!rows || row_count < 1 || cols < 1 || size < 1 || scale < 1)
    return ds_error_set(err, DS_ERR_INVALID,
                        "training preview: %d rows of %d faces, %d pixels, scale %d: each must "
                        "be at least 1",
                        rows ? row_count : 0, cols, size, scale);
  for (int r = 0; r < row_count; r++)
    if (!rows[r].images)
      return ds_error_set(err, DS_ERR_INVALID,
                          "training preview: row %d (\"%s\") has no images; pass %d faces "
                          "for every row",
                          r, rows[r].label ? rows[r].label : "", cols);

  int t = ds_preview_text_scale(size, scale), pad = 4 * t, gap = DS_PREVIEW_GAP;
  long long cell = (long long)size * scale, label_w = 0;
  for (int r = 0; r < row_count; r++) {
    long long w = ds_text_width(rows[r].label, t);
    if (w > 0 && w + 2 * pad > label_w) label_w = w + 2 * pad;
  }
  int has_title = title && title[0];
  long long title_h = has_title ? (long long)DS_FONT_HEIGHT * t + 2 * pad : 0;
  long long width = label_w + gap + cols * (cell + gap);
  long long title_w = has_title ? (long long)ds_text_width(title, t) + 2 * pad : 0;
  if (title_w > width) width = title_w;
  long long height = title_h + gap + row_count * (cell + gap);
  if (width > DS_PNG_MAX_SIDE || height > DS_PNG_MAX_SIDE)
    return ds_error_set(err, DS_ERR_INVALID,
                        "training preview: %lldx%lld pixels is above the %d-pixel limit per "
                        "side; show fewer faces or use a smaller scale",
                        width, height, DS_PNG_MAX_SIDE);

  ds_status st = ds_image_alloc(out, (int)width, (int)height, 3, err);
  if (st != DS_OK) return st;
  size_t stride = (size_t)width * 3;
  memset(out->data, DS_PREVIEW_TITLE_GREY, (size_t)title_h * stride);
  memset(out->data + (size_t)title_h * stride, DS_PREVIEW_BACKGROUND_GREY,
         (size_t)(height - title_h) * stride);

  const uint8_t ink[3] = {DS_PREVIEW_TEXT_GREY, DS_PREVIEW_TEXT_GREY, DS_PREVIEW_TEXT_GREY};
  if (has_title) ds_text_draw(out->data, (int)width, (int)height, pad, pad, title, t, ink);
  size_t face_floats = (size_t)size * (size_t)size * 3;
  for (int r = 0; r < row_count; r++) {
    long long y = title_h + gap + r * (cell + gap);
    long long text_y = y + (cell - (long long)DS_FONT_HEIGHT * t) / 2;
    if (rows[r].label)
      ds_text_draw(out->data, (int)width, (int)height, pad, (int)text_y, rows[r].label, t, ink);
    for (int c = 0; c < cols; c++)
      draw_face(out, (int)(label_w + gap + c * (cell + gap)), (int)y,
                rows[r].images + (size_t)c * face_floats, size, scale);
  }
  return DS_OK;
}

ds_status ds_preview_write(const char *path, const ds_preview_row *rows, int row_count, int cols,
                           int size, int scale, const char *title, ds_error *err) {
  ds_image img;
  ds_status st = ds_preview_render(rows, row_count, cols, size, scale, title, &img, err);
  if (st != DS_OK) {
    if (err) {
      char why[DS_ERROR_MSG_MAX];
      memcpy(why, err->msg, sizeof why);
      ds_error_set(err, st, "%s: %s", path, why);
    }
    return st;
  }
  const char *text[] = {"Software", "dsengine", "Title", title, NULL};
  if (!title || !title[0]) text[2] = NULL;
  st = ds_png_write_rgb(path, &img, text, err);
  ds_image_free(&img);
  return st;
}
