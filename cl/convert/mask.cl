// The convert stage's blend mask (engine/convert/mask.h): the binary face
// mask (mask_build, or mask_learned with the model's own mask), then erosion or dilation with an elliptical element, then a box
// blur. After mask_build every value is 0 or 1, so erosion and blur work on
// per-row running sums (row_prefix), which are exact small integers in
// float: each element row and each blur row costs two reads, not a loop.
// The geometric tests repeat ds_mask_build_reference's float operations
// with the product fused explicitly, so the results agree bit for bit.

#pragma OPENCL FP_CONTRACT OFF

#define MASK_HULL_BIT 1
#define MASK_RECT_BIT 2
#define MASK_LANDMARKS 68
#define PREFIX_LOCAL 64

// host: hull_arg in engine/convert/mask.c; vertices x0 y0 x1 y1 ...
typedef struct hull_arg {
  float v[2 * MASK_LANDMARKS];
  int n;
} hull_arg;

// Inside or on the hull: (b - a) x (p - a) >= 0 for every edge a -> b.
inline int inside_hull(const hull_arg *hull, const float px, const float py) {
  const int n = hull->n;
  if (n < 3) return 0;
  for (int i = 0; i < n; i++) {
    const int j = i + 1 == n ? 0 : i + 1;
    const float ax = hull->v[2 * i], ay = hull->v[2 * i + 1];
    const float dx = hull->v[2 * j] - ax, dy = hull->v[2 * j + 1] - ay;
    if (fma(dx, py - ay, -(dy * (px - ax))) < 0.0f) return 0;
  }
  return 1;
}

kernel void mask_build(global float *restrict mask, const hull_arg hull, const float m0,
                       const float m1, const float m2, const float m3, const float m4,
                       const float m5, const int bits, const int square, const int x0, const int y0,
                       const int w, const int h) {
  const int x = (int)get_global_id(0), y = (int)get_global_id(1);
  if (x >= w || y >= h) return;
  const float px = (float)(x0 + x), py = (float)(y0 + y);
  int in = 1;
  if (bits & MASK_HULL_BIT) in = inside_hull(&hull, px, py);
  if (in && (bits & MASK_RECT_BIT)) {
    // model-input pixel of this frame pixel; inside [0, square) on both axes
    const float u = fma(m0, px, fma(m1, py, m2)), v = fma(m3, px, fma(m4, py, m5));
    const float s = (float)square;
    in = u >= 0.0f && u < s && v >= 0.0f && v < s;
  }
  mask[(size_t)y * w + x] = in ? 1.0f : 0.0f;
}

// The learned mask's bilinear tap: face_tap's clamp (cl/convert/face.cl).
inline float plane_tap(global const float *p, const int s, const int x, const int y) {
  return p[(size_t)clamp(y, 0, s - 1) * s + clamp(x, 0, s - 1)];
}

// a + t (b - a) in one rounding, as lerp in engine/convert/mask_learned.c
inline float lerp1(const float a, const float b, const float t) { return fma(b - a, t, a); }

// learned (engine/convert/mask.h): inside the hull, or inside the model
// square with the model's mask >= 0.5 there; then, when clip_square > 0,
// only where the clip matrix c maps into [0, clip_square) (the guide).
kernel void mask_learned(global float *restrict mask, const hull_arg hull, const float m0,
                         const float m1, const float m2, const float m3, const float m4,
                         const float m5, global const float *restrict planes, const uint off,
                         const int square, const float c0, const float c1, const float c2,
                         const float c3, const float c4, const float c5, const int clip_square,
                         const int x0, const int y0, const int w, const int h) {
  const int x = (int)get_global_id(0), y = (int)get_global_id(1);
  if (x >= w || y >= h) return;
  const float px = (float)(x0 + x), py = (float)(y0 + y);
  int in = inside_hull(&hull, px, py);
  if (!in) {
    const float u = fma(m0, px, fma(m1, py, m2)), v = fma(m3, px, fma(m4, py, m5));
    const float s = (float)square;
    if (u >= 0.0f && u < s && v >= 0.0f && v < s) {
      global const float *p = planes + off;
      const float u0f = floor(u), v0f = floor(v);
      const int u0 = (int)u0f, v0 = (int)v0f;
      const float au = u - u0f, av = v - v0f;
      const float top =
          lerp1(plane_tap(p, square, u0, v0), plane_tap(p, square, u0 + 1, v0), au);
      const float bot =
          lerp1(plane_tap(p, square, u0, v0 + 1), plane_tap(p, square, u0 + 1, v0 + 1), au);
      in = lerp1(top, bot, av) >= 0.5f;
    }
  }
  if (in && clip_square > 0) {
    const float u = fma(c0, px, fma(c1, py, c2)), v = fma(c3, px, fma(c4, py, c5));
    const float s = (float)clip_square;
    in = u >= 0.0f && u < s && v >= 0.0f && v < s;
  }
  mask[(size_t)y * w + x] = in ? 1.0f : 0.0f;
}

// sums[y][x] = src[y][0] + ... + src[y][x]. One work-group per row; item i
// takes columns [i chunk, (i + 1) chunk), adds the totals of the items
// before it and writes its running sum.
kernel __attribute__((reqd_work_group_size(PREFIX_LOCAL, 1, 1))) void
row_prefix(global float *restrict sums, global const float *restrict src, const int w, const int h,
           const int chunk) {
  local float part[PREFIX_LOCAL];
  const int i = (int)get_local_id(0), y = (int)get_group_id(1);
  const int a = min(i * chunk, w), b = min(a + chunk, w);
  global const float *row = src + (size_t)y * w;
  float s = 0.0f;
  for (int x = a; x < b; x++)
    s += row[x];
  part[i] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  float run = 0.0f;
  for (int j = 0; j < i; j++)
    run += part[j];
  global float *out = sums + (size_t)y * w;
  for (int x = a; x < b; x++) {
    run += row[x];
    out[x] = run;
  }
}

// round(sqrt(n)), n >= 0, exactly (ds_ellipse_runs explains why it is
// cv2's rounding): the float estimate is off by one at most, and k is the
// answer when k(k-1) < n <= k(k+1). Branches, not loops: PoCL vectorises it.
inline int round_sqrt(const int n) {
  const int k = (int)(sqrt((float)n) + 0.5f);
  return k > 0 && k * (k - 1) >= n ? k - 1 : (k + 1) * k < n ? k + 1 : k;
}

// The ones in columns a..b (inclusive, inside the row) of a row's sums.
inline float run_count(global const float *sums, const int a, const int b) {
  return sums[b] - (a > 0 ? sums[a - 1] : 0.0f);
}

// min (erosion) or max (dilation) over cv2's MORPH_ELLIPSE element of
// diameter e, anchored at (e/2, e/2); pixels outside the ROI count as 0.
kernel void mask_erode(global float *restrict dst, global const float *restrict sums, const int w,
                       const int h, const int e, const int dilate) {
  const int x = (int)get_global_id(0), y = (int)get_global_id(1);
  if (x >= w || y >= h) return;
  const int r = e / 2;
  float v = dilate ? 0.0f : 1.0f;
  for (int i = 0; i < e; i++) {
    const int dy = i - r, yy = y + dy, dx = round_sqrt(r * r - dy * dy);
    const int lo = x - min(dx, r), hi = x + min(dx, e - 1 - r);
    if (yy < 0 || yy >= h) {
      if (dilate) continue;
      v = 0.0f;
      break;
    }
    const int a = max(lo, 0), b = min(hi, w - 1);
    const float ones = run_count(sums + (size_t)yy * w, a, b);
    if (dilate) {
      if (ones > 0.0f) {
        v = 1.0f;
        break;
      }
    } else if (a != lo || b != hi || ones < (float)(hi - lo + 1)) {
      v = 0.0f;
      break;
    }
  }
  dst[(size_t)y * w + x] = v;
}

// The mean of the b x b window with top-left (x - b/2, y - b/2), the ROI's
// edge replicated: per row, the window's columns left of 0 repeat column 0
// and those right of w - 1 repeat column w - 1.
kernel void mask_blur(global float *restrict dst, global const float *restrict sums, const int w,
                      const int h, const int b, const float scale) {
  const int x = (int)get_global_id(0), y = (int)get_global_id(1);
  if (x >= w || y >= h) return;
  const int a = b / 2, xa = x - a, xb = xa + b - 1;
  const float left = (float)max(0, -xa), right = (float)max(0, xb - (w - 1));
  const int ca = max(xa, 0), cb = min(xb, w - 1);
  float total = 0.0f;
  for (int i = 0; i < b; i++) {
    const int yy = clamp(y - a + i, 0, h - 1);
    global const float *row = sums + (size_t)yy * w;
    const float first = row[0], last = run_count(row, w - 1, w - 1);
    total += run_count(row, ca, cb) + left * first + right * last;
  }
  dst[(size_t)y * w + x] = total * scale;
}
