/* The training preview (engine/train/preview.c): the grid's geometry against
 * the layout documented in preview.h, face pixels, clamping and upscaling,
 * the bitmap font and its clipping, and the PNG round trip. Also writes
 * preview-example.png with synthetic faces, to look at.
 * Usage: test_preview SCRATCH_DIR */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"
#include "engine/media/png.h"
#include "engine/train/preview.h"

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

enum { PATH_LEN = 2048, ROWS = 3, COLS = 4 };

static char scratch[1024];

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

static const uint8_t *pixel(const ds_image *img, int x, int y) {
  return img->data + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
}

static int is_grey(const uint8_t *p, int v) { return p[0] == v && p[1] == v && p[2] == v; }

/* The layout as preview.h documents it, computed here independently. */
typedef struct layout {
  int t, pad, cell, label_w, title_h, width, height;
} layout;

static layout expected_layout(const ds_preview_row *rows, int row_count, int cols, int size,
                              int scale, const char *title) {
  layout g;
  g.t = size * scale / 64 < 1 ? 1 : size * scale / 64;
  g.pad = 4 * g.t;
  g.cell = size * scale;
  g.label_w = 0;
  for (int r = 0; r < row_count; r++) {
    const char *s = rows[r].label ? rows[r].label : "";
    int w = *s ? (int)strlen(s) * 6 * g.t - g.t : 0;
    if (w && w + 2 * g.pad > g.label_w) g.label_w = w + 2 * g.pad;
  }
  int has_title = title && *title;
  g.title_h = has_title ? 9 * g.t + 2 * g.pad : 0;
  g.width = g.label_w + 2 + cols * (g.cell + 2);
  int title_w = has_title ? (int)strlen(title) * 6 * g.t - g.t + 2 * g.pad : 0;
  if (title_w > g.width) g.width = title_w;
  g.height = g.title_h + 2 + row_count * (g.cell + 2);
  return g;
}

/* Face (r, c) of the constant grid: k / 255 per channel, so each rounds to k. */
static void face_colour(int r, int c, uint8_t rgb[3]) {
  rgb[0] = (uint8_t)(20 + 40 * r + 7 * c);
  rgb[1] = (uint8_t)(200 - 30 * c);
  rgb[2] = (uint8_t)(90 + 11 * r * c);
}

static float *constant_faces(int r, int size) {
  float *f = malloc((size_t)COLS * size * size * 3 * sizeof *f);
  for (int c = 0; c < COLS; c++) {
    uint8_t rgb[3];
    face_colour(r, c, rgb);
    for (int i = 0; i < size * size; i++)
      for (int k = 0; k < 3; k++)
        f[((size_t)c * size * size + i) * 3 + k] = rgb[k] / 255.0f;
  }
  return f;
}

static void check_grid(int size, int scale, const char *title) {
  ds_error err = {0};
  static const char *const labels[ROWS] = {"A", "A>A", "A>B"};
  ds_preview_row rows[ROWS];
  for (int r = 0; r < ROWS; r++)
    rows[r] = (ds_preview_row){labels[r], constant_faces(r, size)};
  layout g = expected_layout(rows, ROWS, COLS, size, scale, title);
  ds_image img;
  CHECK_OK(ds_preview_render(rows, ROWS, COLS, size, scale, title, &img, &err), &err);
  CHECK(img.width == g.width && img.height == g.height && img.channels == 3,
        "size %d scale %d: %dx%dx%d, want %dx%dx3", size, scale, img.width, img.height,
        img.channels, g.width, g.height);
  if (img.width != g.width || img.height != g.height) goto done;
  CHECK(ds_preview_text_scale(size, scale) == g.t, "text scale %d", g.t);

  /* Every pixel right of the label column and below the title is either its
   * face's colour or the background. */
  int wrong = 0;
  for (int y = g.title_h; y < g.height; y++)
    for (int x = g.label_w; x < g.width; x++) {
      int gx = x - g.label_w - 2, gy = y - g.title_h - 2;
      int c = gx / (g.cell + 2), r = gy / (g.cell + 2);
      int in_cell = gx >= 0 && gy >= 0 && c < COLS && r < ROWS && gx % (g.cell + 2) < g.cell &&
                    gy % (g.cell + 2) < g.cell;
      uint8_t want[3] = {DS_PREVIEW_BACKGROUND_GREY, DS_PREVIEW_BACKGROUND_GREY,
                         DS_PREVIEW_BACKGROUND_GREY};
      if (in_cell) face_colour(r, c, want);
      if (memcmp(pixel(&img, x, y), want, 3) != 0 && wrong++ < 5)
        CHECK(0, "size %d scale %d: pixel (%d, %d) is %d,%d,%d, want %d,%d,%d", size, scale, x, y,
              pixel(&img, x, y)[0], pixel(&img, x, y)[1], pixel(&img, x, y)[2], want[0], want[1],
              want[2]);
    }
  CHECK(wrong == 0, "size %d scale %d: %d grid pixels wrong", size, scale, wrong);

  /* Centres and corners of each cell, and the gap just outside them. */
  for (int r = 0; r < ROWS; r++)
    for (int c = 0; c < COLS; c++) {
      int x0 = g.label_w + 2 + c * (g.cell + 2), y0 = g.title_h + 2 + r * (g.cell + 2);
      int x1 = x0 + g.cell - 1, y1 = y0 + g.cell - 1;
      uint8_t want[3];
      face_colour(r, c, want);
      int xs[5] = {x0 + g.cell / 2, x0, x1, x0, x1}, ys[5] = {y0 + g.cell / 2, y0, y0, y1, y1};
      for (int k = 0; k < 5; k++)
        CHECK(memcmp(pixel(&img, xs[k], ys[k]), want, 3) == 0, "cell %d,%d point %d", r, c, k);
      CHECK(is_grey(pixel(&img, x0 - 1, y0), DS_PREVIEW_BACKGROUND_GREY), "gap left of %d,%d", r,
            c);
      CHECK(is_grey(pixel(&img, x1 + 1, y1), DS_PREVIEW_BACKGROUND_GREY), "gap right of %d,%d", r,
            c);
      CHECK(is_grey(pixel(&img, x0, y0 - 1), DS_PREVIEW_BACKGROUND_GREY), "gap above %d,%d", r, c);
      CHECK(is_grey(pixel(&img, x1, y1 + 1), DS_PREVIEW_BACKGROUND_GREY), "gap below %d,%d", r, c);
    }

  /* The label column holds text in each row and nothing but text and
   * background; the title bar likewise. */
  for (int r = 0; r < ROWS; r++) {
    int y0 = g.title_h + 2 + r * (g.cell + 2), ink = 0, other = 0;
    for (int y = y0; y < y0 + g.cell; y++)
      for (int x = 0; x < g.label_w; x++) {
        const uint8_t *p = pixel(&img, x, y);
        ink += is_grey(p, DS_PREVIEW_TEXT_GREY);
        other += !is_grey(p, DS_PREVIEW_TEXT_GREY) && !is_grey(p, DS_PREVIEW_BACKGROUND_GREY);
      }
    CHECK(ink > 0, "size %d scale %d: no label drawn in row %d", size, scale, r);
    CHECK(other == 0, "size %d scale %d: %d stray pixels in label %d", size, scale, other, r);
  }
  if (title) {
    int ink = 0, other = 0;
    for (int y = 0; y < g.title_h; y++)
      for (int x = 0; x < g.width; x++) {
        const uint8_t *p = pixel(&img, x, y);
        ink += is_grey(p, DS_PREVIEW_TEXT_GREY);
        other += !is_grey(p, DS_PREVIEW_TEXT_GREY) && !is_grey(p, DS_PREVIEW_TITLE_GREY);
      }
    CHECK(ink > 0, "size %d scale %d: no title drawn", size, scale);
    CHECK(other == 0, "size %d scale %d: %d stray pixels in the title bar", size, scale, other);
    /* the text sits inside the padding */
    int edge = 0;
    for (int x = 0; x < g.width; x++)
      edge += !is_grey(pixel(&img, x, 0), DS_PREVIEW_TITLE_GREY);
    CHECK(edge == 0, "size %d scale %d: title ink on the top edge", size, scale);
  }
done:
  ds_image_free(&img);
  for (int r = 0; r < ROWS; r++)
    free((void *)rows[r].images);
}

static void test_layouts(void) {
  check_grid(16, 1, "iteration 12");
  check_grid(16, 2, "iteration 12  loss A 0.0612  B 0.0598 (a title wider than the grid)");
  check_grid(16, 3, NULL);
  check_grid(64, 2, "dsengine  iteration 300");
  check_grid(7, 1, "odd");

  /* No labels at all: no label column. */
  ds_error err = {0};
  float face[2 * 2 * 3] = {0};
  ds_preview_row bare[2] = {{NULL, face}, {"", face}};
  ds_image img;
  CHECK_OK(ds_preview_render(bare, 2, 1, 2, 1, NULL, &img, &err), &err);
  CHECK(img.width == 6 && img.height == 10, "unlabelled: %dx%d, want 6x10", img.width, img.height);
  ds_image_free(&img);
}

/* Clamping to [0, 1], rounding to 8 bits and the nearest-neighbour upscale. */
static void test_values(void) {
  ds_error err = {0};
  const float in[10] = {-0.5f,        1.7f, NAN,  0.5f,      100.4f / 255,
                        100.6f / 255, 1.0f, 0.0f, -INFINITY, INFINITY};
  const uint8_t want[10] = {0, 255, 0, 128, 100, 101, 255, 0, 0, 255};
  enum { SIZE = 5, SCALE = 3 };
  float face[SIZE * SIZE * 3];
  uint8_t face_u8[SIZE * SIZE * 3];
  for (int i = 0; i < SIZE * SIZE * 3; i++) {
    face[i] = i < 10 ? in[i] : (float)(i * 3) / 255.0f;
    face_u8[i] = i < 10 ? want[i] : (uint8_t)(i * 3);
  }
  ds_preview_row row = {NULL, face};
  ds_image img;
  CHECK_OK(ds_preview_render(&row, 1, 1, SIZE, SCALE, NULL, &img, &err), &err);
  int bad = 0;
  for (int y = 0; y < SIZE * SCALE; y++)
    for (int x = 0; x < SIZE * SCALE; x++)
      bad +=
          memcmp(pixel(&img, 2 + x, 2 + y), face_u8 + (y / SCALE * SIZE + x / SCALE) * 3, 3) != 0;
  CHECK(bad == 0, "%d upscaled pixels differ from the clamped, rounded source", bad);
  ds_image_free(&img);
}

/* Draws text on a w x h canvas of zeros and counts the lit pixels. */
static int draw_count(uint8_t *canvas, int w, int h, int x, int y, const char *text, int scale) {
  static const uint8_t white[3] = {255, 255, 255};
  memset(canvas, 0, (size_t)w * h * 3);
  ds_text_draw(canvas, w, h, x, y, text, scale, white);
  int n = 0;
  for (int i = 0; i < w * h * 3; i += 3)
    n += canvas[i] == 255;
  return n;
}

static void test_font(void) {
  CHECK(ds_text_width("", 3) == 0 && ds_text_width(NULL, 1) == 0, "empty text has width");
  CHECK(ds_text_width("A", 1) == 5 && ds_text_width("AB", 1) == 11 && ds_text_width("AB", 2) == 22,
        "widths %d %d %d", ds_text_width("A", 1), ds_text_width("AB", 1), ds_text_width("AB", 2));

  /* Each covered glyph is distinct from every other and from the box drawn
   * for unknown bytes, and stays within its 5 x 9 box. */
  static const char covered[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                " .,:>-_()/%=+";
  enum { N = sizeof covered - 1, W = 7, H = 11 };
  static uint8_t glyphs[N + 1][W * H * 3];
  char one[2] = {0, 0};
  for (int i = 0; i < N; i++) {
    one[0] = covered[i];
    int lit = draw_count(glyphs[i], W, H, 1, 1, one, 1);
    CHECK(covered[i] == ' ' ? lit == 0 : lit > 0, "glyph '%c' has %d pixels", covered[i], lit);
    int outside = 0;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        if (x == 0 || y == 0 || x == W - 1 || y == H - 1) outside += glyphs[i][(y * W + x) * 3];
    CHECK(outside == 0, "glyph '%c' leaves its box", covered[i]);
  }
  draw_count(glyphs[N], W, H, 1, 1, "\x01", 1);
  int equal = 0;
  for (int i = 0; i < N; i++)
    for (int j = i + 1; j <= N; j++)
      if (memcmp(glyphs[i], glyphs[j], sizeof glyphs[i]) == 0 && equal++ < 5)
        CHECK(0, "glyphs '%c' and '%c' are equal", covered[i], j < N ? covered[j] : '?');
  CHECK(equal == 0, "%d pairs of glyphs are equal", equal);
  static const char *const unknown[] = {"~", "\t", "\xc3", "\x7f", "[", "#"};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    uint8_t canvas[W * H * 3];
    draw_count(canvas, W, H, 1, 1, unknown[i], 1);
    CHECK(memcmp(canvas, glyphs[N], sizeof canvas) == 0, "byte 0x%02x is not drawn as a box",
          (unsigned char)unknown[i][0]);
  }

  /* At scale 3 every glyph pixel becomes a 3 x 3 square. */
  static uint8_t big[3 * W * 3 * H * 3];
  int bad = 0;
  for (int i = 0; i < N; i++) {
    one[0] = covered[i];
    draw_count(big, 3 * W, 3 * H, 3, 3, one, 3);
    for (int y = 0; y < 3 * H; y++)
      for (int x = 0; x < 3 * W; x++)
        bad += big[(y * 3 * W + x) * 3] != glyphs[i][(y / 3 * W + x / 3) * 3];
  }
  CHECK(bad == 0, "%d pixels differ between scale 3 and scale 1 upscaled", bad);
}

/* Text drawn partly or wholly outside the image lights exactly the pixels an
 * unclipped drawing on a larger canvas lights there, and touches nothing
 * outside the image (guard bytes on both sides). */
static void test_clipping(void) {
  enum { W = 23, H = 17, M = 120, GUARD = 4096 };
  static uint8_t guarded[GUARD + W * H * 3 + GUARD];
  static uint8_t large[(W + 2 * M) * (H + 2 * M) * 3];
  uint8_t *canvas = guarded + GUARD;
  static const char *const texts[] = {"Ag_,(%", "dsengine 0.0612", "\xc3\xa9#"};
  int bad = 0, cases = 0;
  memset(guarded, 0xa5, sizeof guarded);
  for (size_t ti = 0; ti < 3; ti++)
    for (int scale = 1; scale <= 3; scale++)
      for (int y = -30; y <= H + 2; y += 3)
        for (int x = -90; x <= W + 2; x += 5) {
          draw_count(canvas, W, H, x, y, texts[ti], scale);
          draw_count(large, W + 2 * M, H + 2 * M, x + M, y + M, texts[ti], scale);
          for (int py = 0; py < H; py++)
            bad += memcmp(canvas + py * W * 3, large + ((py + M) * (W + 2 * M) + M) * 3,
                          (size_t)W * 3) != 0;
          cases++;
        }
  CHECK(bad == 0, "%d clipped rows differ from the unclipped drawing (%d cases)", bad, cases);
  static const uint8_t white[3] = {255, 255, 255};
  memset(canvas, 0, W * H * 3);
  ds_text_draw(canvas, W, H, INT_MIN, INT_MIN, "far away", 5, white);
  ds_text_draw(canvas, W, H, INT_MAX, INT_MAX, "far away", 5, white);
  ds_text_draw(canvas, W, H, INT_MAX - 3, 0, "far away", 5, white);
  ds_text_draw(canvas, W, H, 0, INT_MAX - 3, "far away", 5, white);
  ds_text_draw(canvas, W, H, INT_MIN + 3, 0, "far away", 5, white);
  int lit = 0;
  for (int i = 0; i < W * H * 3; i++)
    lit += canvas[i] != 0;
  CHECK(lit == 0, "text far outside lit %d bytes", lit);
  int guards = 0;
  for (int i = 0; i < GUARD; i++)
    guards += (guarded[i] != 0xa5) + (guarded[GUARD + W * H * 3 + i] != 0xa5);
  CHECK(guards == 0, "%d guard bytes overwritten", guards);
}

static void test_file(void) {
  ds_error err = {0};
  char path[PATH_LEN];
  const char *title = "dsengine  iteration 300  loss A 0.0612  B 0.0598";
  ds_preview_row rows[ROWS] = {{"A", NULL}, {"A>A", NULL}, {"A>B", NULL}};
  for (int r = 0; r < ROWS; r++)
    rows[r].images = constant_faces(r, 12);

  snprintf(path, sizeof path, "%s/grid.png", scratch);
  ds_image want, got;
  CHECK_OK(ds_preview_render(rows, ROWS, COLS, 12, 2, title, &want, &err), &err);
  CHECK_OK(ds_preview_write(path, rows, ROWS, COLS, 12, 2, title, &err), &err);
  CHECK_OK(ds_png_read_rgb(path, &got, &err), &err);
  CHECK(got.width == want.width && got.height == want.height &&
            memcmp(got.data, want.data, (size_t)want.width * want.height * 3) == 0,
        "%s reads back %dx%d, differently from the render", path, got.width, got.height);
  char *value = NULL;
  CHECK_OK(ds_png_read_text(path, "Software", &value, &err), &err);
  CHECK(value && strcmp(value, "dsengine") == 0, "Software = %s", value ? value : "(none)");
  free(value);
  value = NULL;
  CHECK_OK(ds_png_read_text(path, "Title", &value, &err), &err);
  CHECK(value && strcmp(value, title) == 0, "Title = %s", value ? value : "(none)");
  free(value);
  ds_image_free(&want);
  ds_image_free(&got);

  /* Without a title: no title bar, no Title chunk. */
  value = NULL;
  CHECK_OK(ds_preview_write(path, rows, ROWS, COLS, 12, 1, NULL, &err), &err);
  CHECK_OK(ds_png_read_text(path, "Title", &value, &err), &err);
  CHECK(value == NULL, "untitled preview has Title = %s", value);
  free(value);

  snprintf(path, sizeof path, "%s/no-such-folder/preview.png", scratch);
  ds_error_clear(&err);
  ds_status st = ds_preview_write(path, rows, ROWS, COLS, 12, 2, title, &err);
  CHECK(st != DS_OK, "writing into a missing folder succeeded");
  CHECK_CONTAINS(err.msg, path);
  CHECK(strchr(err.msg, '\n') == NULL, "message is not one line: %s", err.msg);

  /* Bad arguments name the preview, and the path when writing. */
  ds_image img = {0};
  CHECK_FAILS(ds_preview_render(rows, ROWS, 0, 12, 2, title, &img, &err), DS_ERR_INVALID, &err,
              "training preview");
  CHECK(img.data == NULL, "failed render left pixels");
  CHECK_FAILS(ds_preview_render(rows, ROWS, COLS, 12, 0, title, &img, &err), DS_ERR_INVALID, &err,
              "scale 0");
  CHECK_FAILS(ds_preview_write(path, rows, 0, COLS, 12, 2, title, &err), DS_ERR_INVALID, &err,
              path);
  CHECK_FAILS(ds_preview_render(rows, ROWS, COLS, 20000, 2, title, &img, &err), DS_ERR_INVALID,
              &err, "limit");
  const float *keep = rows[2].images;
  rows[2].images = NULL;
  CHECK_FAILS(ds_preview_render(rows, ROWS, COLS, 12, 2, title, &img, &err), DS_ERR_INVALID, &err,
              "A>B");
  rows[2].images = keep;
  for (int r = 0; r < ROWS; r++)
    free((void *)rows[r].images);
  ds_error_clear(&err);
}

/* A cartoon face for the example: identity sets skin and hair, j the pose and
 * the backdrop. */
static void cartoon_face(float *f, int size, int identity, int j) {
  static const float skin[2][3] = {{0.93f, 0.76f, 0.62f}, {0.60f, 0.42f, 0.30f}};
  static const float hair[2][3] = {{0.45f, 0.28f, 0.12f}, {0.08f, 0.07f, 0.07f}};
  float cx = 0.5f + 0.06f * sinf((float)j * 1.3f), cy = 0.55f;
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++) {
      float u = (x + 0.5f) / size, v = (y + 0.5f) / size, *p = f + (y * size + x) * 3;
      p[0] = 0.15f + 0.5f * u;
      p[1] = 0.25f + 0.35f * v + 0.05f * (float)j / 6;
      p[2] = 0.55f - 0.3f * u;
      float dx = (u - cx) / 0.30f, dy = (v - cy) / 0.38f;
      if (dx * dx + dy * dy < 1.0f) memcpy(p, v < cy - 0.22f ? hair[identity] : skin[identity], 12);
      for (int side = -1; side <= 1; side += 2) {
        float ex = u - (cx + 0.12f * side), ey = v - (cy - 0.06f);
        if (ex * ex + ey * ey < 0.0016f) p[0] = p[1] = p[2] = 0.1f;
      }
      float mx = (u - cx) / 0.12f, my = (v - cy - 0.17f) / 0.035f;
      if (mx * mx + my * my < 1.0f) p[0] = 0.7f, p[1] = p[2] = 0.2f;
    }
}

static void write_example(void) {
  enum { SIZE = 64, N = 6 };
  ds_error err = {0};
  static float faces[6][N][SIZE * SIZE * 3];
  static const char *const labels[6] = {"A", "A>A", "A>B", "B", "B>B", "B>A"};
  ds_preview_row rows[6];
  for (int r = 0; r < 6; r++) {
    int who = r / 3, decoder = r % 3 == 2 ? 1 - who : who;
    for (int j = 0; j < N; j++) {
      /* inputs and reconstructions show the own identity in its poses (the
       * reconstruction a little washed out); swaps the other identity in them */
      cartoon_face(faces[r][j], SIZE, decoder, j + 7 * who);
      if (r % 3 == 1)
        for (int i = 0; i < SIZE * SIZE * 3; i++)
          faces[r][j][i] = 0.85f * faces[r][j][i] + 0.07f;
    }
    rows[r] = (ds_preview_row){labels[r], &faces[r][0][0]};
  }
  char path[PATH_LEN];
  snprintf(path, sizeof path, "%s/preview-example.png", scratch);
  CHECK_OK(ds_preview_write(path, rows, 6, N, SIZE, 2,
                            "dsengine  iteration 300  loss A 0.0612  B 0.0598", &err),
           &err);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_preview SCRATCH_DIR\n");
    return 2;
  }
  snprintf(scratch, sizeof scratch, "%s", argv[1]);
  if (mkdir_p(scratch) != 0) {
    fprintf(stderr, "test_preview: cannot create %s\n", scratch);
    return 1;
  }
  test_layouts();
  test_values();
  test_font();
  test_clipping();
  test_file();
  write_example();
  return check_summary("preview");
}
