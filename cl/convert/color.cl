// Colour matching of the generated face to the frame (engine/convert/color.h).
// face and frame: n pixels, RGB interleaved, 0..255; mask: n floats, a
// pixel counts when mask > 0.5. Reductions: color_stats (means and squared
// deviations, in RGB or L*a*b*) and color_hist_count (256-level histograms);
// the host merges the work-groups' partials. Adjustments: color_shift,
// color_lab_transfer, color_hist_apply.

#define STATS_LOCAL 64
#define STATS_VALUES 13 // count, 6 means, 6 sums of squared deviations
#define HIST_LOCAL 64
#define HIST_BINS 1536 // 6 x 256: face R G B, frame R G B

// Colours travel as float4 with w unused: Oclgrind 21.10's uninitialised-
// value check crashes on float3.
inline float4 load_rgb(global const float *p, const int i) {
  return (float4)(p[3 * i], p[3 * i + 1], p[3 * i + 2], 0.0f);
}

// Powers as exp2(y log2(x)), x > 0: with PoCL 3.1's pow and cbrt the
// Reinhard path took 3.5x as long on the CPU (74 against 21 ms for a
// 256 x 256 ROI, bench/convert_kernels, shared machine). exp2 and log2 are
// within 3 ulp each, which keeps the colours within 0.01 of 255 of the
// reference.
inline float power(const float x, const float y) { return exp2(y * log2(x)); }

// sRGB 0..255 -> L*a*b* (L 0..100), OpenCV's documented float conversion.
inline float srgb_expand(const float c) {
  return c > 0.04045f ? power((c + 0.055f) / 1.055f, 2.4f) : c / 12.92f;
}

inline float lab_f(const float t) {
  return t > 0.008856f ? power(t, 1.0f / 3.0f) : 7.787f * t + 16.0f / 116.0f;
}

inline float4 rgb_to_lab(const float4 rgb) {
  const float r = srgb_expand(rgb.x / 255.0f), g = srgb_expand(rgb.y / 255.0f),
              b = srgb_expand(rgb.z / 255.0f);
  const float x = (0.412453f * r + 0.357580f * g + 0.180423f * b) / 0.950456f;
  const float y = 0.212671f * r + 0.715160f * g + 0.072169f * b;
  const float z = (0.019334f * r + 0.119193f * g + 0.950227f * b) / 1.088754f;
  const float fy = lab_f(y);
  const float l = y > 0.008856f ? 116.0f * fy - 16.0f : 903.3f * y;
  return (float4)(l, 500.0f * (lab_f(x) - fy), 200.0f * (fy - lab_f(z)), 0.0f);
}

inline float lab_f_inv(const float t) {
  return t > 0.206893f ? t * t * t : (t - 16.0f / 116.0f) / 7.787f;
}

inline float srgb_compress(const float v) {
  return v <= 0.0031308f ? 12.92f * v : 1.055f * power(v, 1.0f / 2.4f) - 0.055f;
}

// L*a*b* -> sRGB 0..255, unclipped.
inline float4 lab_to_rgb(const float4 lab) {
  float y, fy;
  if (lab.x <= 0.008856f * 903.3f) {
    y = lab.x / 903.3f;
    fy = 7.787f * y + 16.0f / 116.0f;
  } else {
    fy = (lab.x + 16.0f) / 116.0f;
    y = fy * fy * fy;
  }
  const float x = lab_f_inv(lab.y / 500.0f + fy) * 0.950456f;
  const float z = lab_f_inv(fy - lab.z / 200.0f) * 1.088754f;
  const float r = 3.240479f * x - 1.53715f * y - 0.498535f * z;
  const float g = -0.969256f * x + 1.875991f * y + 0.041556f * z;
  const float b = 0.055648f * x - 0.204043f * y + 1.057311f * z;
  return 255.0f * (float4)(srgb_compress(r), srgb_compress(g), srgb_compress(b), 0.0f);
}

// Count, means and sums of squared deviations of face's and frame's three
// channels over the masked pixels, one set per work-group in partial
// (STATS_VALUES floats each). Each work-item runs Welford's update over its
// pixels; the work-group merges pairs with Chan et al.'s formula.
kernel __attribute__((reqd_work_group_size(STATS_LOCAL, 1, 1))) void
color_stats(global float *restrict partial, global const float *restrict face,
            global const float *restrict frame, global const float *restrict mask, const int n,
            const int lab) {
  local float acc[STATS_VALUES][STATS_LOCAL];
  const int lid = (int)get_local_id(0);
  float count = 0.0f, mean[6] = {0, 0, 0, 0, 0, 0}, m2[6] = {0, 0, 0, 0, 0, 0};
  for (int i = (int)get_global_id(0); i < n; i += (int)get_global_size(0)) {
    if (!(mask[i] > 0.5f)) continue;
    float4 a = load_rgb(face, i), b = load_rgb(frame, i);
    if (lab) {
      a = rgb_to_lab(a);
      b = rgb_to_lab(b);
    }
    const float v[6] = {a.x, a.y, a.z, b.x, b.y, b.z};
    count += 1.0f;
    const float inv = 1.0f / count;
    for (int c = 0; c < 6; c++) {
      const float d = v[c] - mean[c];
      mean[c] += d * inv;
      m2[c] += d * (v[c] - mean[c]);
    }
  }
  acc[0][lid] = count;
  for (int c = 0; c < 6; c++) {
    acc[1 + c][lid] = mean[c];
    acc[7 + c][lid] = m2[c];
  }
  for (int span = STATS_LOCAL / 2; span > 0; span >>= 1) {
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < span) {
      const float na = acc[0][lid], nb = acc[0][lid + span], nab = na + nb;
      if (nb > 0.0f) {
        const float f = nb / nab;
        for (int c = 0; c < 6; c++) {
          const float d = acc[1 + c][lid + span] - acc[1 + c][lid];
          acc[1 + c][lid] += d * f;
          acc[7 + c][lid] += acc[7 + c][lid + span] + d * d * na * f;
        }
        acc[0][lid] = nab;
      }
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid < STATS_VALUES) partial[get_group_id(0) * STATS_VALUES + lid] = acc[lid][0];
}

kernel void zero_u32(global uint *restrict x, const int n) {
  const int i = (int)get_global_id(0);
  if (i < n) x[i] = 0u;
}

inline int level(const float v) { return clamp((int)floor(v + 0.5f), 0, 255); }

// hist (zeroed, HIST_BINS) += the histograms of the masked pixels: each
// work-group counts into local memory, then adds its non-zero bins.
kernel __attribute__((reqd_work_group_size(HIST_LOCAL, 1, 1))) void
color_hist_count(global uint *restrict hist, global const float *restrict face,
                 global const float *restrict frame, global const float *restrict mask,
                 const int n) {
  local uint bins[HIST_BINS];
  const int lid = (int)get_local_id(0);
  for (int j = lid; j < HIST_BINS; j += HIST_LOCAL)
    bins[j] = 0u;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int i = (int)get_global_id(0); i < n; i += (int)get_global_size(0)) {
    if (!(mask[i] > 0.5f)) continue;
    for (int c = 0; c < 3; c++) {
      atomic_inc(&bins[c * 256 + level(face[3 * i + c])]);
      atomic_inc(&bins[(3 + c) * 256 + level(frame[3 * i + c])]);
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int j = lid; j < HIST_BINS; j += HIST_LOCAL)
    if (bins[j]) atomic_add(&hist[j], bins[j]);
}

kernel void color_shift(global float *restrict face, const int n, const float s0, const float s1,
                        const float s2) {
  const int i = (int)get_global_id(0);
  if (i >= n) return;
  face[3 * i] += s0;
  face[3 * i + 1] += s1;
  face[3 * i + 2] += s2;
}

// l' = (l - mean_face) scale + mean_frame per L*a*b* channel, back to RGB,
// clipped to 0..255.
kernel void color_lab_transfer(global float *restrict face, const int n, const float mf0,
                               const float mf1, const float mf2, const float k0, const float k1,
                               const float k2, const float mt0, const float mt1, const float mt2) {
  const int i = (int)get_global_id(0);
  if (i >= n) return;
  const float4 lab = rgb_to_lab(load_rgb(face, i));
  const float4 out = (lab - (float4)(mf0, mf1, mf2, 0.0f)) * (float4)(k0, k1, k2, 0.0f) +
                     (float4)(mt0, mt1, mt2, 0.0f);
  const float4 rgb = clamp(lab_to_rgb(out), 0.0f, 255.0f);
  face[3 * i] = rgb.x;
  face[3 * i + 1] = rgb.y;
  face[3 * i + 2] = rgb.z;
}

// v' = v + lut[channel][level(v)], clipped to 0..255.
kernel void color_hist_apply(global float *restrict face, global const float *restrict lut,
                             const int n) {
  const int i = (int)get_global_id(0);
  if (i >= n) return;
  for (int c = 0; c < 3; c++) {
    const float v = face[3 * i + c];
    face[3 * i + c] = clamp(v + lut[c * 256 + level(v)], 0.0f, 255.0f);
  }
}
