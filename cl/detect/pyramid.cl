// The detector's image pyramid on the device: dlib's bilinear resize_image
// as ds_hog_resize_bilinear (engine/detect/hog_detector.c) computes it.
// Images are rows *_pitch bytes apart from byte *_offset. Every position comes from tables the host
// fills by running the C code's position recurrences (engine/detect/
// pyramid_cl.c): for output row r, ti[row_at + 2r] / [+1] = top / bottom
// input row, tf[row_at + 2r] / [+1] = its float weight and one minus it,
// td[drow_at + r] its double weight; for output column c, ti[col_at + c] =
// left input column, tf[col_at + c] the float fraction, td[dcol_at + c]
// the double one. Columns below simd_cols take the C code's 4-wide float
// path, the rest its scalar path, which mixes in doubles; without
// cl_khr_fp64 that path runs in float and may round a pixel differently.
#pragma OPENCL FP_CONTRACT OFF
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double tail_t;
#else
typedef float tail_t;
#endif

// (uint8_t)(v + 0.5) with the sum in double, for 0 <= v <= 255, in float.
inline uchar round_grey(const float v) {
  const float f = floor(v);
  return (uchar)((int)f + (v - f >= 0.5f));
}

// One grey output pixel (c, r); the C code's paths by column.
inline uchar resize_grey_pixel(global const uchar *restrict row_t, global const uchar *restrict row_b,
                               global const int *restrict ti, global const float *restrict tf,
                               global const tail_t *restrict td, const int in_w, const int c,
                               const int r, const int simd_cols, const int row_at,
                               const int col_at, const int drow_at) {
  const int left = ti[col_at + c];
  const float lr = tf[col_at + c];
  if (c < simd_cols) {
    const float f_tb = tf[row_at + 2 * r], f_inv_tb = tf[row_at + 2 * r + 1];
    const float inv_lr = 1 - lr;
    const float v = f_inv_tb * inv_lr * (float)row_t[left] + f_inv_tb * lr * (float)row_t[left + 1] +
                    f_tb * inv_lr * (float)row_b[left] + f_tb * lr * (float)row_b[left + 1];
    return round_grey(v);
  }
  const int right = min(left + 1, in_w - 1);
#ifdef cl_khr_fp64
  const double tb = td[drow_at + r];
#else
  const float tb = tf[row_at + 2 * r];
#endif
  const float a = (1 - lr) * (float)row_t[left] + lr * (float)row_t[right];
  const float b = (1 - lr) * (float)row_b[left] + lr * (float)row_b[right];
  const float v = (float)((1 - tb) * (tail_t)a + tb * (tail_t)b);
  return v >= 255 ? 255 : v <= 0 ? 0 : (uchar)v;
}

// Grey: one work-item per RESIZE_SPAN x 16 output pixels of a row (PoCL's
// cost per work-group would dominate 16); the arithmetic of 16 pixels of the
// float path on vectors (their samples gathered by scalar loads: a shuffle2
// with a run-time mask is slower on PoCL).
#define RESIZE_SPAN 8
kernel void pyramid_resize_grey(global uchar *restrict out, global const uchar *restrict in,
                                global const int *restrict ti, global const float *restrict tf,
                                global const tail_t *restrict td, const ulong in_offset,
                                const int in_pitch, const ulong out_offset, const int out_pitch,
                                const int in_w, const int out_w, const int out_h,
                                const int simd_cols,
                                const int row_at, const int col_at, const int drow_at) {
  const int r = (int)get_global_id(1);
  if (r >= out_h) return;
  global const uchar *row_t = in + in_offset + (size_t)ti[row_at + 2 * r] * in_pitch;
  global const uchar *row_b = in + in_offset + (size_t)ti[row_at + 2 * r + 1] * in_pitch;
  const float f_tb = tf[row_at + 2 * r], f_inv_tb = tf[row_at + 2 * r + 1];
  for (int span = 0; span < RESIZE_SPAN; span++) {
    const int c0 = 16 * ((int)get_global_id(0) * RESIZE_SPAN + span);
    if (c0 >= out_w) return;
    global uchar *o = out + out_offset + (size_t)r * out_pitch + c0;
    if (c0 + 16 <= simd_cols) { // the float path: left + 1 < in_w throughout
      const int16 L = vload16(0, ti + col_at + c0);
      // 16 gathered samples (built lane by lane: a private array read back
      // as a vector crashes Oclgrind 21.10)
#define GATHER(row, k)                                                                          \
  convert_float16((uchar16)(row[L.s0 + k], row[L.s1 + k], row[L.s2 + k], row[L.s3 + k],          \
                            row[L.s4 + k], row[L.s5 + k], row[L.s6 + k], row[L.s7 + k],          \
                            row[L.s8 + k], row[L.s9 + k], row[L.sa + k], row[L.sb + k],          \
                            row[L.sc + k], row[L.sd + k], row[L.se + k], row[L.sf + k]))
      const float16 tl = GATHER(row_t, 0), tr = GATHER(row_t, 1);
      const float16 bl = GATHER(row_b, 0), br = GATHER(row_b, 1);
#undef GATHER
      const float16 lr = vload16(0, tf + col_at + c0), inv_lr = (float16)(1.0f) - lr;
      const float16 v = (float16)(f_inv_tb) * inv_lr * tl + (float16)(f_inv_tb) * lr * tr +
                        (float16)(f_tb) * inv_lr * bl + (float16)(f_tb) * lr * br;
      const float16 f = floor(v);
      const int16 up = select((int16)(0), (int16)(1), (v - f) >= (float16)(0.5f));
      vstore16(convert_uchar16(convert_int16(f) + up), 0, o);
      continue;
    }
    for (int i = 0; i < 16 && c0 + i < out_w; i++)
      o[i] = resize_grey_pixel(row_t, row_b, ti, tf, td, in_w, c0 + i, r, simd_cols, row_at,
                               col_at, drow_at);
  }
}

// RGB (3 channels): one work-item per output pixel.
kernel void pyramid_resize_rgb(global uchar *restrict out, global const uchar *restrict in,
                               global const int *restrict ti, global const float *restrict tf,
                               global const tail_t *restrict td, const ulong in_offset,
                               const int in_pitch, const ulong out_offset, const int out_pitch,
                               const int in_w, const int out_w, const int out_h,
                               const int simd_cols, const int row_at, const int col_at,
                               const int drow_at, const int dcol_at) {
  const int c = (int)get_global_id(0), r = (int)get_global_id(1);
  if (c >= out_w || r >= out_h) return;
  const int top = ti[row_at + 2 * r], bottom = ti[row_at + 2 * r + 1];
  const int left = ti[col_at + c];
  global const uchar *row_t = in + in_offset + (size_t)top * in_pitch;
  global const uchar *row_b = in + in_offset + (size_t)bottom * in_pitch;
  global uchar *o = out + out_offset + (size_t)r * out_pitch + (size_t)c * 3;
  if (c < simd_cols) { // the float path; values truncated
    const float f_tb = tf[row_at + 2 * r], f_inv_tb = tf[row_at + 2 * r + 1];
    const float lr = tf[col_at + c], inv_lr = 1 - lr;
    const float tlf = f_inv_tb * inv_lr, trf = f_inv_tb * lr;
    const float blf = f_tb * inv_lr, brf = f_tb * lr;
    const size_t l = (size_t)left * 3, rr = l + 3;
    for (int e = 0; e < 3; e++) {
      const float v = tlf * (float)row_t[l + e] + trf * (float)row_t[rr + e] +
                      blf * (float)row_b[l + e] + brf * (float)row_b[rr + e];
      o[e] = (uchar)(int)v;
    }
    return;
  }
  const int right = min(left + 1, in_w - 1); // the scalar tail, all in double
#ifdef cl_khr_fp64
  const double tb = td[drow_at + r], lr = td[dcol_at + c];
#else
  const float tb = tf[row_at + 2 * r], lr = tf[col_at + c];
#endif
  for (int e = 0; e < 3; e++) {
    const tail_t tl = row_t[left * 3 + e], tr = row_t[right * 3 + e];
    const tail_t bl = row_b[left * 3 + e], br = row_b[right * 3 + e];
    const tail_t v = (1 - tb) * ((1 - lr) * tl + lr * tr) + tb * ((1 - lr) * bl + lr * br);
    o[e] = (uchar)v;
  }
}
