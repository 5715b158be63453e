/* The training preview: one PNG that shows, for each identity, its input
 * faces, their reconstruction through its own decoder and their swap through
 * every other identity's decoder (the faceswap preview's original,
 * reconstruction, swap), and a small bitmap font to label it.
 *
 * Layout, all in pixels, with cell = size * scale, t = ds_preview_text_scale
 * (size, scale), p = 4 * t and g = DS_PREVIEW_GAP:
 *
 *   title bar   T = DS_FONT_HEIGHT * t + 2 * p, or 0 when title is NULL or ""
 *   label col.  L = max over rows of ds_text_width(label, t) + 2 * p,
 *                   or 0 when no row has a label
 *   width       max(L + g + cols * (cell + g), ds_text_width(title, t) + 2 * p)
 *   height      T + g + rows * (cell + g)
 *   face (r, c) top-left at x = L + g + c * (cell + g), y = T + g + r * (cell + g)
 *
 * The title is drawn at (p, p) on DS_PREVIEW_TITLE_GREY, each label at x = p,
 * centred vertically on its row, on DS_PREVIEW_BACKGROUND_GREY, which also
 * fills the gaps. */
#ifndef DS_ENGINE_TRAIN_PREVIEW_H
#define DS_ENGINE_TRAIN_PREVIEW_H

#include <stdint.h>

#include "engine/media/image.h"
#include "core/error.h"

enum {
  DS_PREVIEW_GAP = 2,              /* between faces and around the grid */
  DS_PREVIEW_BACKGROUND_GREY = 48, /* R = G = B of the gaps and label column */
  DS_PREVIEW_TITLE_GREY = 24,      /* R = G = B of the title bar */
  DS_PREVIEW_TEXT_GREY = 230,      /* R = G = B of the title and labels */
  DS_FONT_WIDTH = 5,               /* glyph box at text scale 1 */
  DS_FONT_HEIGHT = 9,              /* 7 rows above the baseline, 2 for descenders */
  DS_FONT_ADVANCE = DS_FONT_WIDTH + 1,
};

typedef struct ds_preview_row {
  const char *label;   /* e.g. "A", "A>A", "A>B"; NULL or "" for none */
  const float *images; /* [cols][size][size][3], RGB in [0, 1] */
} ds_preview_row;

/* Text scale of the labels and title: size * scale / 64, at least 1, so that
 * 64-pixel faces get 5x9 glyphs and faces shown at 128 pixels get 10x18. */
int ds_preview_text_scale(int size, int scale);

/* Renders the grid described above into out (3-channel RGB, freed by the
 * caller with ds_image_free). Face values are clamped to [0, 1] (NaN reads as
 * 0), rounded to 8 bits and upscaled nearest-neighbour by scale. Errors:
 * DS_ERR_INVALID (a count or size below 1, a row without images, an image
 * above DS_PNG_MAX_SIDE per side), DS_ERR_NO_MEMORY. out is zeroed on
 * failure. */
ds_status ds_preview_render(const ds_preview_row *rows, int row_count, int cols, int size,
                            int scale, const char *title, ds_image *out, ds_error *err);

/* Renders as ds_preview_render and writes path atomically through
 * ds_png_write_rgb, with tEXt chunks Software = "dsengine" and, when title is
 * given, Title = title. The writer's errors pass through and name the path. */
ds_status ds_preview_write(const char *path, const ds_preview_row *rows, int row_count, int cols,
                           int size, int scale, const char *title, ds_error *err);

/* Width in pixels of text at an integer scale: DS_FONT_ADVANCE * scale per
 * character, less the trailing 1 * scale of spacing; 0 for "" or NULL. The
 * height of a line is DS_FONT_HEIGHT * scale. */
int ds_text_width(const char *text, int scale);

/* Draws text with its top-left corner at (x, y) into an RGB image of
 * width x height pixels (stride width * 3), each glyph pixel a scale x scale
 * square of color; background pixels are left alone. Covers digits, A-Z,
 * a-z, space and . , : > - _ ( ) / % = +; any other byte (each byte of a
 * UTF-8 sequence included) is drawn as a box. Whatever falls outside the
 * image, on any side, is clipped. rgb and color must not be NULL and scale
 * must be at least 1 (asserted). */
void ds_text_draw(uint8_t *rgb, int width, int height, int x, int y, const char *text, int scale,
                  const uint8_t color[3]);

#endif
