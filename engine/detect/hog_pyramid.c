/* dlib's image pyramid for the HOG detector: its grey conversion, the
 * sizes of pyramid_down<6> and pyramid_up<2> levels, the number of levels,
 * and the bilinear resize (image_pyramid.h, interpolation.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/detect/hog_detector.h"
#include "engine/detect/hog_detector_internal.h"

/* ---- images: dlib's grey conversion and bilinear resize */

void ds_hog_rgb_to_gray(const uint8_t *rgb, int width, int height, uint8_t *gray) {
  for (size_t i = 0; i < (size_t)width * height; i++)
    gray[i] = (uint8_t)(((unsigned)rgb[3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2]) / 3);
}

void ds_hog_pyramid_down6_size(int width, int height, int *out_width, int *out_height) {
  *out_width = (int)((5L * width) / 6);
  *out_height = (int)((5L * height) / 6);
}

/* pyramid_down<2>::point_up is (p + (1.25, 0.75)) * 2; pyramid_up sizes the
 * output to the bottom-right corner of the mapped image rectangle, plus 1. */
void ds_hog_pyramid_up2_size(int width, int height, int *out_width, int *out_height) {
  *out_width = (int)ds_hog_round_half_up(((double)(width - 1) + 1.25) * 2) + 1;
  *out_height = (int)ds_hog_round_half_up(((double)(height - 1) + 0.75) * 2) + 1;
}

/* dlib's resize_image with bilinear interpolation (interpolation.h), its
 * specialisations for grey -> grey and rgb_pixel -> rgb_pixel images. Rows
 * advance in double. Columns advance in float in blocks of 4 (the SIMD loop)
 * until a block would read past the right edge: grey rounds the float result
 * (value + 0.5), RGB truncates it (_mm_cvttps_epi32). The remaining columns
 * take double positions; grey computes in double, stores to float and
 * truncates; RGB computes and truncates in double. */
void ds_hog_resize_bilinear(const uint8_t *in, int in_width, int in_height, int channels,
                            uint8_t *out, int out_width, int out_height) {
  if (out_width <= 0 || out_height <= 0 || in_width <= 0 || in_height <= 0) return;
  const int ch = channels == 3 ? 3 : 1;
  const double x_scale = (in_width - 1) / (double)(out_width - 1 > 1 ? out_width - 1 : 1);
  const double y_scale = (in_height - 1) / (double)(out_height - 1 > 1 ? out_height - 1 : 1);
  double y = -y_scale;
  for (int r = 0; r < out_height; r++) {
    y += y_scale;
    const long top = (long)floor(y);
    const long bottom = top + 1 < in_height - 1 ? top + 1 : in_height - 1;
    const double tb_frac = y - top;
    const uint8_t *row_t = in + (size_t)top * in_width * ch;
    const uint8_t *row_b = in + (size_t)bottom * in_width * ch;
    uint8_t *o = out + (size_t)r * out_width * ch;
    const double x0 = -4 * x_scale;
    const float f_tb = (float)tb_frac, f_inv_tb = (float)(1 - tb_frac);
    const float f_step = (float)(4 * x_scale);
    float xs[4] = {(float)x0, (float)(x0 + x_scale), (float)(x0 + 2 * x_scale),
                   (float)(x0 + 3 * x_scale)};
    long c = 0;
    for (;; c += 4) {
      int left[4];
      float lr[4];
      for (int k = 0; k < 4; k++) {
        xs[k] += f_step;
        left[k] = (int)xs[k]; /* truncation, as _mm_cvttps_epi32 */
        lr[k] = xs[k] - (float)left[k];
      }
      if (left[3] + 1 >= in_width) break;
      for (int k = 0; k < 4; k++) {
        const float inv_lr = 1 - lr[k];
        const float tlf = f_inv_tb * inv_lr, trf = f_inv_tb * lr[k];
        const float blf = f_tb * inv_lr, brf = f_tb * lr[k];
        const size_t l = (size_t)left[k] * ch, rr = l + ch;
        for (int e = 0; e < ch; e++) {
          const float v =
              tlf * row_t[l + e] + trf * row_t[rr + e] + blf * row_b[l + e] + brf * row_b[rr + e];
          o[(c + k) * ch + e] = ch == 1 ? (uint8_t)(v + 0.5) : (uint8_t)(int)v;
        }
      }
    }
    double x = -x_scale + c * x_scale;
    for (; c < out_width; c++) {
      x += x_scale;
      const long left = (long)floor(x);
      const long right = left + 1 < in_width - 1 ? left + 1 : in_width - 1;
      for (int e = 0; e < ch; e++) {
        const uint8_t tl = row_t[left * ch + e], tr = row_t[right * ch + e];
        const uint8_t bl = row_b[left * ch + e], br = row_b[right * ch + e];
        if (ch == 1) {
          const float lr_frac = (float)(x - left);
          const float v = (float)((1 - tb_frac) * ((1 - lr_frac) * tl + lr_frac * tr) +
                                  tb_frac * ((1 - lr_frac) * bl + lr_frac * br));
          o[c] = v >= 255 ? 255 : v <= 0 ? 0 : (uint8_t)v;
        } else {
          const double lr_frac = x - left;
          const double v = (1 - tb_frac) * ((1 - lr_frac) * tl + lr_frac * tr) +
                           tb_frac * ((1 - lr_frac) * bl + lr_frac * br);
          o[c * 3 + e] = (uint8_t)v;
        }
      }
    }
  }
}

long ds_hog_pyramid_levels(const ds_hog_detector *d, int width, int height) {
  /* create_fhog_pyramid: levels until the mapped image rectangle (rect_down,
   * (p - 0.3) * 5 / 6, rounded) is narrower or shorter than the minimum. */
  long levels = 0;
  double rl = 0, rt = 0, rr = width - 1, rb = height - 1;
  for (;;) {
    rl = (double)ds_hog_round_half_up((rl - 0.3) * (5 / 6.0));
    rt = (double)ds_hog_round_half_up((rt - 0.3) * (5 / 6.0));
    rr = (double)ds_hog_round_half_up((rr - 0.3) * (5 / 6.0));
    rb = (double)ds_hog_round_half_up((rb - 0.3) * (5 / 6.0));
    levels++;
    if (!(rr - rl + 1 >= d->min_level_width && rb - rt + 1 >= d->min_level_height &&
          levels < d->max_levels))
      return levels;
  }
}
