// Affine warp of an RGB8 image with bilinear sampling, as cv2.warpAffine
// with INTER_LINEAR and BORDER_CONSTANT 0. inv maps destination pixels to
// source coordinates (pixel centres at integers). One work-item per
// destination pixel.

inline float tap(global const uchar *src, const int w, const int h, const int x, const int y,
                 const int c) {
  return (x >= 0 && y >= 0 && x < w && y < h) ? (float)src[((size_t)y * w + x) * 3 + c] : 0.0f;
}

kernel void warp_affine_rgb8(global uchar *restrict dst, global const uchar *restrict src,
                             const int w, const int h, const int dst_w, const int dst_h,
                             const float i0, const float i1, const float i2, const float i3,
                             const float i4, const float i5) {
  const int x = (int)get_global_id(0), y = (int)get_global_id(1);
  if (x >= dst_w || y >= dst_h) return;
  const float sx = fma(i0, (float)x, fma(i1, (float)y, i2));
  const float sy = fma(i3, (float)x, fma(i4, (float)y, i5));
  const float fx0 = floor(sx), fy0 = floor(sy);
  const int x0 = (int)fx0, y0 = (int)fy0;
  const float ax = sx - fx0, ay = sy - fy0;
  global uchar *out = dst + ((size_t)y * dst_w + x) * 3;
  for (int c = 0; c < 3; c++) {
    const float top = mix(tap(src, w, h, x0, y0, c), tap(src, w, h, x0 + 1, y0, c), ax);
    const float bot = mix(tap(src, w, h, x0, y0 + 1, c), tap(src, w, h, x0 + 1, y0 + 1, c), ax);
    const float v = mix(top, bot, ay);
    out[c] = (uchar)clamp(floor(v + 0.5f), 0.0f, 255.0f);
  }
}
