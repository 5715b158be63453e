/* loss.png: the loss of every identity against iterations, drawn from the
 * training feed with our own line and text drawing (loss_plot.h). */
#include "engine/monitor/loss_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/media/png.h"
#include "engine/train/preview.h"

enum { WIDTH = 960, HEIGHT = 420, LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 40, MAX_POINTS = 2000 };

/* one colour per identity, readable on the dark background */
static const uint8_t palette[8][3] = {{255, 140, 60},  {80, 170, 255}, {120, 220, 120},
                                      {240, 100, 200}, {250, 220, 80}, {160, 130, 255},
                                      {80, 220, 220},  {230, 230, 230}};

typedef struct canvas {
  uint8_t *rgb;
  int w, h;
} canvas;

static void dot(canvas *c, int x, int y, const uint8_t col[3], int alpha) {
  if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
  uint8_t *p = c->rgb + ((size_t)y * c->w + x) * 3;
  for (int k = 0; k < 3; k++)
    p[k] = (uint8_t)((p[k] * (255 - alpha) + col[k] * alpha) / 255);
}

static void fill(canvas *c, int x0, int y0, int x1, int y1, const uint8_t col[3]) {
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      dot(c, x, y, col, 255);
}

/* Bresenham; dash > 0 draws dash pixels on, dash off */
static void line(canvas *c, int x0, int y0, int x1, int y1, const uint8_t col[3], int alpha,
                 int dash) {
  int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int e = dx + dy, k = 0;
  for (;;) {
    if (!dash || (k++ / dash) % 2 == 0) dot(c, x0, y0, col, alpha);
    if (x0 == x1 && y0 == y1) break;
    int e2 = 2 * e;
    if (e2 >= dy) {
      e += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      e += dx;
      y0 += sy;
    }
  }
}

/* A round step (1, 2 or 5 x 10^k) giving about `count` ticks over span. */
static double nice_step(double span, int count) {
  double raw = span / count, p = pow(10, floor(log10(raw))), m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

typedef struct plot_map {
  double x0, x1, ly0, ly1; /* iterations, log10 of the loss */
} plot_map;

static int px(const plot_map *m, double it) {
  return LEFT + (int)lround((it - m->x0) / (m->x1 - m->x0) * (WIDTH - LEFT - RIGHT - 1));
}
static int py(const plot_map *m, double loss) {
  double t = (log10(loss) - m->ly0) / (m->ly1 - m->ly0);
  return HEIGHT - BOTTOM - 1 - (int)lround(t * (HEIGHT - TOP - BOTTOM - 1));
}

static void axes(canvas *c, const plot_map *m) {
  static const uint8_t grid[3] = {60, 60, 60}, text_col[3] = {200, 200, 200};
  char label[32];
  /* y: 1, 2, 5 x 10^k within the range (log scale), every digit when it spans
   * little more than a decade */
  static const double coarse[] = {1, 2, 5}, fine[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int few = m->ly1 - m->ly0 > 1.5;
  const double *mant = few ? coarse : fine;
  const int mant_count = few ? 3 : 9;
  for (int e = (int)floor(m->ly0); e <= (int)ceil(m->ly1); e++)
    for (int k = 0; k < mant_count; k++) {
      double v = mant[k] * pow(10, e), lv = log10(v);
      if (lv < m->ly0 || lv > m->ly1) continue;
      int y = py(m, v);
      line(c, LEFT, y, WIDTH - RIGHT - 1, y, grid, 255, k ? 3 : 0);
      snprintf(label, sizeof label, "%g", v);
      ds_text_draw(c->rgb, c->w, c->h, LEFT - 6 - ds_text_width(label, 1), y - 4, label, 1,
                   text_col);
    }
  const double step = nice_step(m->x1 - m->x0, 6);
  for (double v = ceil(m->x0 / step) * step; v <= m->x1; v += step) {
    int x = px(m, v);
    line(c, x, TOP, x, HEIGHT - BOTTOM - 1, grid, 255, 3);
    snprintf(label, sizeof label, "%.0f", v);
    ds_text_draw(c->rgb, c->w, c->h, x - ds_text_width(label, 1) / 2, HEIGHT - BOTTOM + 6, label, 1,
                 text_col);
  }
  line(c, LEFT, TOP, LEFT, HEIGHT - BOTTOM - 1, text_col, 255, 0);
  line(c, LEFT, HEIGHT - BOTTOM - 1, WIDTH - RIGHT - 1, HEIGHT - BOTTOM - 1, text_col, 255, 0);
  ds_text_draw(c->rgb, c->w, c->h, WIDTH - RIGHT - ds_text_width("iteration", 1),
               HEIGHT - BOTTOM + 20, "iteration", 1, text_col);
}

/* The series of identity i: raw points faint, an exponential moving average
 * (span ~ 1/30 of the points, reset at each run start) on top. */
static void series(canvas *c, const plot_map *m, const ds_feed_row *rows, long long n, int i,
                   const long long *starts, int run_count) {
  const uint8_t *col = palette[i % 8];
  const double alpha = 2.0 / (1.0 + fmax(1.0, (double)n / 30.0));
  double ema = NAN;
  int prev_x = 0, prev_y = 0, have_prev = 0, run = 0;
  for (long long r = 0; r < n; r++) {
    const double v = rows[r].loss[i];
    while (run < run_count && rows[r].iteration > starts[run]) {
      run++;
      ema = NAN;
      have_prev = 0;
    }
    if (!(v > 0) || !isfinite(v)) continue;
    const int x = px(m, (double)rows[r].iteration);
    dot(c, x, py(m, v), col, 110);
    ema = isnan(ema) ? v : alpha * v + (1 - alpha) * ema;
    const int y = py(m, ema);
    if (have_prev) {
      line(c, prev_x, prev_y, x, y, col, 255, 0);
      line(c, prev_x, prev_y + 1, x, y + 1, col, 255, 0);
    }
    prev_x = x;
    prev_y = y;
    have_prev = 1;
  }
}

ds_status ds_loss_plot_render(ds_train_feed *f, ds_image *out, ds_error *err) {
  ds_feed_row *rows = NULL;
  int ids = 0, run_count = 0;
  char names[DS_MAX_IDENTITIES][32];
  long long starts[DS_FEED_MAX_RUN_MARKS];
  long long n = ds_train_feed_copy_rows(f, MAX_POINTS, &rows, &ids, names, starts, &run_count);
  if (n < 0) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory drawing loss.png");
  ds_status st = ds_image_alloc(out, WIDTH, HEIGHT, 3, err);
  if (st != DS_OK) {
    free(rows);
    return st;
  }
  canvas c = {out->data, WIDTH, HEIGHT};
  static const uint8_t bg[3] = {32, 32, 32}, title_bg[3] = {20, 20, 20},
                       text_col[3] = {230, 230, 230}, run_col[3] = {150, 150, 150};
  fill(&c, 0, 0, WIDTH, HEIGHT, bg);
  fill(&c, 0, 0, WIDTH, TOP - 12, title_bg);

  plot_map m = {0, 1, -2, 0};
  double lo = INFINITY, hi = -INFINITY;
  for (long long r = 0; r < n; r++)
    for (int i = 0; i < ids; i++)
      if (rows[r].loss[i] > 0 && isfinite(rows[r].loss[i])) {
        lo = fmin(lo, rows[r].loss[i]);
        hi = fmax(hi, rows[r].loss[i]);
      }
  if (n > 0) {
    m.x0 = run_count > 0 && starts[0] < rows[0].iteration ? (double)starts[0] : 0.0;
    m.x1 = fmax((double)rows[n - 1].iteration, m.x0 + 1);
  }
  if (lo <= hi) {
    m.ly0 = log10(lo) - 0.05;
    m.ly1 = fmax(log10(hi) + 0.05, m.ly0 + 0.3);
  }
  axes(&c, &m);
  char label[64];
  for (int k = 1; k < run_count; k++) {
    const int x = px(&m, (double)starts[k]);
    line(&c, x, TOP, x, HEIGHT - BOTTOM - 1, run_col, 255, 2);
    snprintf(label, sizeof label, "run %d", k + 1);
    ds_text_draw(c.rgb, c.w, c.h, x + 3, TOP + 2, label, 1, run_col);
  }
  for (int i = 0; i < ids; i++)
    series(&c, &m, rows, n, i, starts, run_count);

  int x = 8;
  ds_text_draw(c.rgb, c.w, c.h, x, 8, "loss (log scale)", 2, text_col);
  x += ds_text_width("loss (log scale)", 2) + 24;
  for (int i = 0; i < ids && x < WIDTH - 60; i++) {
    fill(&c, x, 12, x + 18, 20, palette[i % 8]);
    snprintf(label, sizeof label, "%s %.4f", names[i], n > 0 ? rows[n - 1].loss[i] : 0.0);
    ds_text_draw(c.rgb, c.w, c.h, x + 24, 8, label, 2, text_col);
    x += 24 + ds_text_width(label, 2) + 24;
  }
  if (n == 0)
    ds_text_draw(c.rgb, c.w, c.h, LEFT + 20, HEIGHT / 2, "no iterations yet", 2, text_col);
  free(rows);
  return DS_OK;
}

ds_status ds_loss_plot_write(const char *path, ds_train_feed *f, ds_error *err) {
  ds_image img;
  ds_status st = ds_loss_plot_render(f, &img, err);
  if (st != DS_OK) return st;
  static const char *const text[] = {"Software", "dsengine", "Title", "training loss", NULL};
  st = ds_png_write_rgb(path, &img, text, err);
  ds_image_free(&img);
  return st;
}
