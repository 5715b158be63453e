// Convert: moving faces between the frame and the model, and the region of
// interest (ROI) around a face where mask, colour match and blending work.
// Frames are RGB8, ROI images float RGB 0..255, model tensors float RGB 0..1.
// Pixel centres sit at integer coordinates (cv2's convention), as the
// alignment matrices assume.

inline float3 frame_tap(global const uchar *f, const int w, const int h, const int x, const int y) {
  if (x < 0 || y < 0 || x >= w || y >= h) return (float3)(0.0f);
  global const uchar *p = f + ((size_t)y * w + x) * 3;
  return (float3)((float)p[0], (float)p[1], (float)p[2]);
}

// The model input of one face: out[y][x] = frame at inv * (x, y), bilinear,
// black outside the frame (cv2.warpAffine BORDER_CONSTANT), scaled to 0..1.
kernel void face_input(global float *restrict input, const uint off,
                       global const uchar *restrict frame, const int fw, const int fh, const int s, const float i0, const float i1,
                       const float i2, const float i3, const float i4, const float i5) {
  const int x = (int)get_global_id(0), y = (int)get_global_id(1);
  if (x >= s || y >= s) return;
  const float sx = fma(i0, (float)x, fma(i1, (float)y, i2));
  const float sy = fma(i3, (float)x, fma(i4, (float)y, i5));
  const float fx0 = floor(sx), fy0 = floor(sy);
  const int x0 = (int)fx0, y0 = (int)fy0;
  const float ax = sx - fx0, ay = sy - fy0;
  const float3 top = mix(frame_tap(frame, fw, fh, x0, y0), frame_tap(frame, fw, fh, x0 + 1, y0), ax);
  const float3 bot =
      mix(frame_tap(frame, fw, fh, x0, y0 + 1), frame_tap(frame, fw, fh, x0 + 1, y0 + 1), ax);
  vstore3(mix(top, bot, ay) * (1.0f / 255.0f), (size_t)y * s + x, input + off);
}

// The frame pixels of the ROI as floats.
kernel void roi_load(global float *restrict roi, global const uchar *restrict frame, const int fw,
                     const int x0, const int y0, const int w, const int h) {
  const int x = (int)get_global_id(0), y = (int)get_global_id(1);
  if (x >= w || y >= h) return;
  global const uchar *p = frame + ((size_t)(y0 + y) * fw + (x0 + x)) * 3;
  vstore3((float3)((float)p[0], (float)p[1], (float)p[2]), (size_t)y * w + x, roi);
}

inline float3 face_tap(global const float *f, const int s, const int x, const int y) {
  return vload3((size_t)clamp(y, 0, s - 1) * s + clamp(x, 0, s - 1), f);
}

// The generated face (s x s, 0..1) drawn into the ROI: ROI pixel (x, y) is
// frame pixel (x0 + x, y0 + y), which mat takes to face coordinates. Outside
// the face square (beyond half a pixel) the frame shows through, as the
// original's BORDER_TRANSPARENT re-projection.
kernel void face_unwarp(global float *restrict out, global const float *restrict faces,
                        const uint off, global const float *restrict old, const int s, const int x0, const int y0,
                        const int w, const int h, const float m0, const float m1, const float m2,
                        const float m3, const float m4, const float m5) {
  const int x = (int)get_global_id(0), y = (int)get_global_id(1);
  if (x >= w || y >= h) return;
  global const float *face = faces + off;
  const float fx = (float)(x0 + x), fy = (float)(y0 + y);
  const float u = fma(m0, fx, fma(m1, fy, m2)), v = fma(m3, fx, fma(m4, fy, m5));
  const size_t i = (size_t)y * w + x;
  const float lim = (float)s - 0.5f;
  if (!(u >= -0.5f && v >= -0.5f && u <= lim && v <= lim)) {
    vstore3(vload3(i, old), i, out);
    return;
  }
  const float u0f = floor(u), v0f = floor(v);
  const int u0 = (int)u0f, v0 = (int)v0f;
  const float au = u - u0f, av = v - v0f;
  const float3 top = mix(face_tap(face, s, u0, v0), face_tap(face, s, u0 + 1, v0), au);
  const float3 bot = mix(face_tap(face, s, u0, v0 + 1), face_tap(face, s, u0 + 1, v0 + 1), au);
  vstore3(clamp(mix(top, bot, av), 0.0f, 1.0f) * 255.0f, i, out);
}

// frame = mask * blended + (1 - mask) * old over the ROI, rounded.
kernel void roi_compose(global uchar *restrict frame, global const float *restrict blended,
                        global const float *restrict old, global const float *restrict mask,
                        const int fw, const int x0, const int y0, const int w, const int h) {
  const int x = (int)get_global_id(0), y = (int)get_global_id(1);
  if (x >= w || y >= h) return;
  const size_t i = (size_t)y * w + x;
  const float a = clamp(mask[i], 0.0f, 1.0f);
  const float3 v = mix(vload3(i, old), vload3(i, blended), a);
  const float3 r = clamp(floor(v + 0.5f), 0.0f, 255.0f);
  global uchar *p = frame + ((size_t)(y0 + y) * fw + (x0 + x)) * 3;
  p[0] = (uchar)r.x;
  p[1] = (uchar)r.y;
  p[2] = (uchar)r.z;
}
