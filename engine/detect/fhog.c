/* dlib 19.24's extract_fhog_features (dlib/image_transforms/fhog.h), the
 * cell_size > 1 path, reimplemented in C with dlib's float arithmetic.
 *
 * dlib (after Felzenszwalb et al., PAMI 2010, and the voc-release
 * features.cc) computes per pixel the gradient (central differences, the
 * 1-pixel image border excluded), snaps it to one of 18 signed orientations
 * by the largest dot product with 9 fixed unit vectors, and adds its
 * magnitude bilinearly into the 4 nearest cells of an 18-bin histogram.
 * Each cell is then normalised by the 4 blocks of 2x2 cells around it, every
 * value clipped at 0.2 (min(h, nn) * n with nn = 0.2 * sqrt(energy), n = 0.1
 * / nn), giving 18 signed + 9 unsigned orientation features and 4 texture
 * features (the clipped sums per block, scaled by 0.2357 * 2).
 *
 * dlib processes each row in SIMD blocks of 8 pixels and a scalar tail. The
 * two compute the bilinear weights in different orders (block: vy * (vx * v),
 * tail: (vy * vx) * v) and, for RGB, break ties between channels differently,
 * so this code follows the same split. */
#include "engine/detect/fhog.h"

#include <math.h>
#include <stdlib.h>

static const float direction[9][2] = {
    {1.0000f, 0.0000f},  {0.9397f, 0.3420f},  {0.7660f, 0.6428f},
    {0.500f, 0.8660f},   {0.1736f, 0.9848f},  {-0.1736f, 0.9848f},
    {-0.5000f, 0.8660f}, {-0.7660f, 0.6428f}, {-0.9397f, 0.3420f},
};

static void fhog_cells(int width, int height, int cell_size, int *cells_nr, int *cells_nc) {
  *cells_nr = (int)((float)height / (float)cell_size + 0.5);
  *cells_nc = (int)((float)width / (float)cell_size + 0.5);
}

void ds_fhog_size(int width, int height, int cell_size, int pad_rows, int pad_cols, int *rows,
                  int *cols) {
  int cells_nr, cells_nc;
  fhog_cells(width, height, cell_size, &cells_nr, &cells_nc);
  int hog_nr = cells_nr - 2 > 0 ? cells_nr - 2 : 0;
  int hog_nc = cells_nc - 2 > 0 ? cells_nc - 2 : 0;
  if (hog_nr == 0 || hog_nc == 0) {
    *rows = *cols = 0;
    return;
  }
  *rows = hog_nr + pad_rows - 1;
  *cols = hog_nc + pad_cols - 1;
}

/* The gradient at (x, y): grey, or the strongest of the three channels. In
 * dlib's SIMD blocks a tie between channels goes to the later channel
 * (select(rlen > glen, red, green)); in the scalar tail to the earlier one
 * (replace only when strictly larger). */
static void gradient(const uint8_t *img, int stride, int channels, int x, int y, int simd_block,
                     int *gx, int *gy, int *len) {
  const uint8_t *p = img + (size_t)y * stride + (size_t)x * channels;
  if (channels == 1) {
    *gx = p[1] - p[-1];
    *gy = p[stride] - p[-stride];
    *len = *gx * *gx + *gy * *gy;
    return;
  }
  int bx = 0, by = 0, blen = -1;
  for (int ch = 0; ch < 3; ch++) {
    int dx = p[channels + ch] - p[-channels + ch];
    int dy = p[stride + ch] - p[-stride + ch];
    int l = dx * dx + dy * dy;
    if (ch == 0 || (simd_block ? l >= blen : l > blen)) {
      bx = dx;
      by = dy;
      blen = l;
    }
  }
  *gx = bx;
  *gy = by;
  *len = blen;
}

static int orientation(float gx, float gy) {
  float best_dot = 0;
  int best_o = 0;
  for (int o = 0; o < 9; o++) {
    float dot = direction[o][0] * gx + direction[o][1] * gy;
    if (dot > best_dot) {
      best_dot = dot;
      best_o = o;
    } else if (-dot > best_dot) {
      best_dot = -dot;
      best_o = o + 9;
    }
  }
  return best_o;
}

/* dlib's sum(simd4f) with SSE2: (a0 + a2) + (a1 + a3). */
static float sum4(const float a[4]) { return (a[0] + a[2]) + (a[1] + a[3]); }

ds_status ds_fhog_reference(const uint8_t *pixels, int width, int height, int channels,
                            int cell_size, int pad_rows, int pad_cols, float *hog, ds_error *err) {
  if (width < 0 || height < 0 || (channels != 1 && channels != 3) || cell_size < 2 ||
      pad_rows < 1 || pad_cols < 1)
    return ds_error_set(err, DS_ERR_INVALID,
                        "fhog: invalid shape %dx%d, %d channels, cell %d, padding %dx%d", width,
                        height, channels, cell_size, pad_rows, pad_cols);
  int rows, cols, cells_nr, cells_nc;
  ds_fhog_size(width, height, cell_size, pad_rows, pad_cols, &rows, &cols);
  if (rows == 0) return DS_OK;
  fhog_cells(width, height, cell_size, &cells_nr, &cells_nc);
  const int hog_nr = cells_nr - 2, hog_nc = cells_nc - 2;
  const int hist_nc = cells_nc + 2;
  /* One cell of padding all round the histograms, as in dlib. */
  float *hist = calloc((size_t)(cells_nr + 2) * hist_nc * 18, sizeof *hist);
  float *norm = calloc((size_t)cells_nr * cells_nc, sizeof *norm);
  if (!hist || !norm) {
    free(hist);
    free(norm);
    return ds_error_set(err, DS_ERR_NO_MEMORY,
                        "fhog: cannot allocate the histograms for a %dx%d image", width, height);
  }
  const int stride = width * channels;
  const int visible_nr = (cells_nr * cell_size < height ? cells_nr * cell_size : height) - 1;
  const int visible_nc = (cells_nc * cell_size < width ? cells_nc * cell_size : width) - 1;
#define HIST(r, c, o) hist[((size_t)(r)*hist_nc + (c)) * 18 + (o)]
  for (int y = 1; y < visible_nr; y++) {
    const float yp = (float)(((float)y + 0.5) / (float)cell_size - 0.5);
    const int iyp = (int)floorf(yp);
    const float vy0 = yp - iyp;
    const float vy1 = (float)(1.0 - vy0);
    /* dlib's SIMD loop: for (x = 1; x < visible_nc - 7; x += 8) covers
     * x .. x + 7; the scalar tail takes the rest. */
    int simd_end = 1;
    while (simd_end < visible_nc - 7)
      simd_end += 8;
    int x = 1;
    for (; x < simd_end; x++) {
      int gx, gy, len;
      gradient(pixels, stride, channels, x, y, 1, &gx, &gy, &len);
      const float xp = ((float)x + 0.5f) / (float)cell_size + 0.5f;
      const int ixp = (int)xp;
      const float vx0 = xp - (float)ixp;
      const float vx1 = 1.0f - vx0;
      const float v = sqrtf((float)len);
      const int o = orientation((float)gx, (float)gy);
      const float wx1 = vx1 * v, wx0 = vx0 * v;
      HIST(iyp + 1, ixp, o) += vy1 * wx1;
      HIST(iyp + 2, ixp, o) += vy0 * wx1;
      HIST(iyp + 1, ixp + 1, o) += vy1 * wx0;
      HIST(iyp + 2, ixp + 1, o) += vy0 * wx0;
    }
    for (; x < visible_nc; x++) { /* dlib's scalar tail */
      int gx, gy, len;
      gradient(pixels, stride, channels, x, y, 0, &gx, &gy, &len);
      const int o = orientation((float)gx, (float)gy);
      const float v = sqrtf((float)len);
      const float xp = (float)(((double)x + 0.5) / (double)cell_size - 0.5);
      const int ixp = (int)floorf(xp);
      const float vx0 = xp - ixp;
      const float vx1 = (float)(1.0 - vx0);
      HIST(iyp + 1, ixp + 1, o) += vy1 * vx1 * v;
      HIST(iyp + 2, ixp + 1, o) += vy0 * vx1 * v;
      HIST(iyp + 1, ixp + 2, o) += vy1 * vx0 * v;
      HIST(iyp + 2, ixp + 2, o) += vy0 * vx0 * v;
    }
  }

  for (int r = 0; r < cells_nr; r++)
    for (int c = 0; c < cells_nc; c++) {
      float e = 0;
      for (int o = 0; o < 9; o++) {
        float s = HIST(r + 1, c + 1, o) + HIST(r + 1, c + 1, o + 9);
        e += s * s;
      }
      norm[(size_t)r * cells_nc + c] = e;
    }

  for (size_t i = 0; i < (size_t)DS_FHOG_PLANES * rows * cols; i++)
    hog[i] = 0;
  const float eps = 0.0001f;
  const int row_off = (pad_rows - 1) / 2, col_off = (pad_cols - 1) / 2;
#define NORM(r, c) norm[(size_t)(r)*cells_nc + (c)]
#define OUT(o) hog[((size_t)(o)*rows + yy) * cols + xx]
  for (int y = 0; y < hog_nr; y++) {
    const int yy = y + row_off;
    for (int x = 0; x < hog_nc; x++) {
      const int xx = x + col_off;
      /* The 4 blocks around cell (y+1, x+1), lane by lane as dlib's z1..z4. */
      const float z1[4] = {NORM(y + 1, x + 1), NORM(y, x + 1), NORM(y + 1, x), NORM(y, x)};
      const float z2[4] = {NORM(y + 1, x + 2), NORM(y, x + 2), NORM(y + 1, x + 1), NORM(y, x + 1)};
      const float z3[4] = {NORM(y + 2, x + 1), NORM(y + 1, x + 1), NORM(y + 2, x), NORM(y + 1, x)};
      const float z4[4] = {NORM(y + 2, x + 2), NORM(y + 1, x + 2), NORM(y + 2, x + 1),
                           NORM(y + 1, x + 1)};
      float nn[4], n[4], t[4] = {0, 0, 0, 0};
      for (int k = 0; k < 4; k++) {
        nn[k] = 0.2f * sqrtf(z1[k] + z2[k] + z3[k] + z4[k] + eps);
        n[k] = 0.1f / nn[k];
      }
      const float *h = &HIST(y + 2, x + 2, 0);
      for (int o = 0; o < 18; o += 3) {
        float h0[4], h1[4], h2[4];
        for (int k = 0; k < 4; k++) {
          h0[k] = (h[o] < nn[k] ? h[o] : nn[k]) * n[k];
          h1[k] = (h[o + 1] < nn[k] ? h[o + 1] : nn[k]) * n[k];
          h2[k] = (h[o + 2] < nn[k] ? h[o + 2] : nn[k]) * n[k];
          t[k] += h0[k] + h1[k] + h2[k];
        }
        OUT(o) = sum4(h0);
        OUT(o + 1) = sum4(h1);
        OUT(o + 2) = sum4(h2);
      }
      for (int k = 0; k < 4; k++)
        t[k] *= (float)(2 * 0.2357);
      for (int o = 0; o < 9; o++) {
        const float s = h[o] + h[o + 9];
        float q[4];
        for (int k = 0; k < 4; k++)
          q[k] = (s < nn[k] ? s : nn[k]) * n[k];
        OUT(o + 18) = sum4(q);
      }
      for (int k = 0; k < 4; k++)
        OUT(27 + k) = t[k];
    }
  }
#undef OUT
#undef NORM
#undef HIST
  free(hist);
  free(norm);
  return DS_OK;
}
