/* The convert mask (engine/convert/mask.h): the convex hull, the elliptical
 * element against cv2's, properties of the C reference (a rectangle's hull
 * fills the rectangle, erosion shrinks, dilation grows, blur keeps a
 * constant), and the kernels against the reference on random faces at odd
 * and edge ROI sizes, bit for bit.
 *
 * Checked by hand against cv2 4.6 (this test needs no Python): the
 * reference on random hulls of integer landmarks against
 * cv2.fillConvexPoly(cv2.convexHull), cv2.erode/dilate and cv2.blur; the
 * agreement is noted at ds_mask_build in engine/convert/mask.h.
 *
 * usage: test_mask [--small]   (--small: the ROI sizes Oclgrind can afford) */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "engine/convert/mask.h"
#include "host/buffer.h"
#include "host/runtime.h"

static unsigned rng = 7;
static float frand(void) { /* [0, 1) */
  rng = rng * 1664525u + 1013904223u;
  return (float)(rng >> 8) / 16777216.0f;
}

static void hull(void) {
  float pts[68][2], h[68][2];
  /* a rectangle's corners, points on its sides and inside, in any order */
  for (int i = 0; i < 68; i++) {
    pts[i][0] = 10 + (float)(i * 7 % 31);
    pts[i][1] = 20 + (float)(i * 11 % 17);
  }
  pts[3][0] = 10, pts[3][1] = 20;
  pts[9][0] = 40, pts[9][1] = 20;
  pts[30][0] = 40, pts[30][1] = 36;
  pts[50][0] = 10, pts[50][1] = 36;
  const int n = ds_convex_hull((const float(*)[2])pts, 68, h);
  const float want[4][2] = {{10, 20}, {40, 20}, {40, 36}, {10, 36}};
  CHECK(n == 4, "rectangle hull has %d vertices", n);
  for (int i = 0; i < 4 && n == 4; i++)
    CHECK(h[i][0] == want[i][0] && h[i][1] == want[i][1], "vertex %d (%g, %g)", i, (double)h[i][0],
          (double)h[i][1]);

  /* random clouds: every turn strictly left, every point inside or on */
  for (int t = 0; t < 50; t++) {
    const int m = 3 + t % 66;
    for (int i = 0; i < m; i++) {
      pts[i][0] = 100 * frand(), pts[i][1] = 100 * frand();
      if (t % 3 == 0) pts[i][0] = floorf(pts[i][0] / 10) * 10; /* duplicates, collinear runs */
    }
    const int k = ds_convex_hull((const float(*)[2])pts, m, h);
    int convex = k >= 3, covers = 1;
    for (int i = 0; i < k; i++) {
      const float *a = h[i], *b = h[(i + 1) % k], *c = h[(i + 2) % k];
      convex &= (double)(b[0] - a[0]) * (c[1] - b[1]) - (double)(b[1] - a[1]) * (c[0] - b[0]) > 0;
    }
    for (int p = 0; p < m; p++)
      for (int i = 0; i < k; i++) {
        const float *a = h[i], *b = h[(i + 1) % k];
        covers &= (double)(b[0] - a[0]) * (pts[p][1] - a[1]) -
                      (double)(b[1] - a[1]) * (pts[p][0] - a[0]) >=
                  0;
      }
    CHECK(convex && covers, "cloud %d: %d points, hull of %d convex %d covers %d", t, m, k, convex,
          covers);
  }
  for (int i = 0; i < 5; i++)
    pts[i][0] = 3, pts[i][1] = 4;
  CHECK(ds_convex_hull((const float(*)[2])pts, 5, h) == 1, "one repeated point");
  for (int i = 0; i < 5; i++)
    pts[i][0] = (float)i, pts[i][1] = 2.0f * (float)i;
  CHECK(ds_convex_hull((const float(*)[2])pts, 5, h) == 2, "points on a line");
  CHECK(ds_convex_hull((const float(*)[2])pts, 0, h) == 0, "no points");
}

/* cv2.getStructuringElement(MORPH_ELLIPSE, (e, e)), printed by cv2 4.6 */
static void ellipse(void) {
  static const char *cv[] = {
      "1",
      "01 11",
      "010 111 010",
      "0010 1111 1111 1111",
      "00100 11111 11111 11111 00100",
      "000100 011111 111111 111111 111111 011111",
      "0001000 0111110 1111111 1111111 1111111 0111110 0001000",
      "0000010000 0011111110 0111111111 1111111111 1111111111 1111111111 1111111111 1111111111 "
      "0111111111 0011111110",
      "000000010000000 000111111111000 001111111111100 011111111111110 011111111111110 "
      "111111111111111 111111111111111 111111111111111 111111111111111 111111111111111 "
      "011111111111110 011111111111110 001111111111100 000111111111000 000000010000000"};
  static const int sizes[] = {1, 2, 3, 4, 5, 6, 7, 10, 15};
  for (int s = 0; s < 9; s++) {
    const int e = sizes[s];
    int lo[15], hi[15], same = 1;
    ds_ellipse_runs(e, lo, hi);
    for (int i = 0; i < e; i++)
      for (int j = 0; j < e; j++) {
        const int ours = j - e / 2 >= lo[i] && j - e / 2 <= hi[i];
        same &= ours == (cv[s][i * (e + 1) + j] == '1');
      }
    CHECK(same, "ellipse %d differs from cv2's", e);
  }
}

static void names(void) {
  ds_mask_kind k;
  CHECK(ds_mask_kind_parse("hull-rect", &k) && k == DS_MASK_HULL_RECT, "parse hull-rect");
  CHECK(ds_mask_kind_parse("rect", &k) && k == DS_MASK_RECT, "parse rect");
  CHECK(!ds_mask_kind_parse("facehull", &k) && !ds_mask_kind_parse(NULL, &k), "bad names");
  for (int i = DS_MASK_HULL; i <= DS_MASK_HULL_BROWS; i++)
    CHECK(ds_mask_kind_parse(ds_mask_kind_name((ds_mask_kind)i), &k) && k == (ds_mask_kind)i,
          "round trip %d", i);
}

/* landmarks on the border of [xa, xb] x [ya, yb] (integers), the corners
 * among them */
static void rectangle_landmarks(float lm[68][2], int xa, int ya, int xb, int yb) {
  for (int i = 0; i < 68; i++) {
    const float t = (float)(i % 17) / 17.0f;
    switch (i / 17) {
    case 0: lm[i][0] = xa + t * (xb - xa), lm[i][1] = (float)ya; break;
    case 1: lm[i][0] = (float)xb, lm[i][1] = ya + t * (yb - ya); break;
    case 2: lm[i][0] = xb - t * (xb - xa), lm[i][1] = (float)yb; break;
    default: lm[i][0] = (float)xa, lm[i][1] = yb - t * (yb - ya); break;
    }
  }
}

static int in_box(int x, int y, int xa, int ya, int xb, int yb) {
  return x >= xa && x <= xb && y >= ya && y <= yb;
}

/* hull-brows: a box face whose brows (17-26) sit on its top edge and eyes
 * below them; the lifted hull covers rows above the box that hull does not,
 * and everything hull covers. */
static void brows(void) {
  enum { W = 60, H = 60, X0 = 0, Y0 = 0 };
  float lm[68][2], hull[W * H], lifted[W * H];
  const float everything[6] = {0, 0, 1, 0, 0, 1};
  rectangle_landmarks(lm, 10, 20, 50, 55);
  for (int i = 17; i < 27; i++) /* brows along the top edge */
    lm[i][0] = 14.0f + 3.5f * (float)(i - 17), lm[i][1] = 20.0f;
  for (int i = 36; i < 48; i++) /* eyes 8 px below */
    lm[i][0] = i < 42 ? 20.0f + (float)(i - 36) : 36.0f + (float)(i - 42), lm[i][1] = 28.0f;
  ds_mask_build_reference(DS_MASK_HULL, (const float(*)[2])lm, everything, 64, X0, Y0, W, H, 0, 0,
                          hull);
  ds_mask_build_reference(DS_MASK_HULL_BROWS, (const float(*)[2])lm, everything, 64, X0, Y0, W, H,
                          0, 0, lifted);
  int lost = 0;
  for (int i = 0; i < W * H; i++)
    lost += hull[i] > 0 && lifted[i] == 0;
  CHECK(lost == 0, "hull-brows drops %d pixels of the hull", lost);
  CHECK(hull[16 * W + 30] == 0 && lifted[16 * W + 30] == 1,
        "4 px above the brows: hull %g, hull-brows %g", (double)hull[16 * W + 30],
        (double)lifted[16 * W + 30]);
}

static void properties(void) {
  enum { W = 40, H = 30, X0 = 100, Y0 = 50 };
  float lm[68][2], m[W * H], e[W * H], d[W * H];
  const float everything[6] = {0, 0, 1, 0, 0, 1}; /* every pixel -> (1, 1) */
  rectangle_landmarks(lm, X0 + 8, Y0 + 5, X0 + 30, Y0 + 21);
  ds_mask_build_reference(DS_MASK_HULL, lm, everything, 64, X0, Y0, W, H, 0, 0, m);
  int bad = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      bad += m[y * W + x] != (in_box(x, y, 8, 5, 30, 21) ? 1.0f : 0.0f);
  CHECK(bad == 0, "a rectangle's hull misses %d pixels of the rectangle", bad);

  /* the 5 px element is a plus of 3 full rows and two single pixels:
   * erosion takes 2 px off each side; dilation adds 2 and cuts 2 pixels
   * from each corner of the grown box */
  ds_mask_build_reference(DS_MASK_HULL, lm, everything, 64, X0, Y0, W, H, 5, 0, e);
  ds_mask_build_reference(DS_MASK_HULL, lm, everything, 64, X0, Y0, W, H, -5, 0, d);
  int shrunk = 0, grew = 0, inside = 1, outside = 1;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const int i = y * W + x;
      shrunk += e[i] != (in_box(x, y, 10, 7, 28, 19) ? 1.0f : 0.0f);
      inside &= e[i] <= m[i];
      outside &= d[i] >= m[i];
      grew += d[i] != 0;
    }
  CHECK(shrunk == 0 && inside, "erosion: %d pixels off the inset rectangle", shrunk);
  const int box = (30 - 8 + 5) * (21 - 5 + 5), corners = 4 * 2;
  CHECK(outside && grew == box - corners, "dilation: %d pixels, want %d", grew, box - corners);

  /* a mask touching the ROI's edge is eroded from it */
  rectangle_landmarks(lm, X0 - 10, Y0 - 10, X0 + 20, Y0 + 15);
  ds_mask_build_reference(DS_MASK_HULL, lm, everything, 64, X0, Y0, W, H, 3, 0, e);
  CHECK(e[0] == 0 && e[W + 1] == 1 && e[15 * W + 20] == 0 && e[14 * W + 19] == 1,
        "erosion at the ROI's edge");

  /* blur keeps a constant (to the rounding of 1/b^2) and the mean of a
   * step is its average */
  ds_mask_build_reference(DS_MASK_RECT, lm, everything, 64, X0, Y0, W, H, 0, 7, m);
  float worst = 0;
  for (int i = 0; i < W * H; i++)
    worst = fmaxf(worst, fabsf(m[i] - 1.0f));
  CHECK(worst <= 1e-6f, "blur of a constant off by %g", (double)worst);
  rectangle_landmarks(lm, X0 - 10, Y0 - 10, X0 + 19, Y0 + 100);
  ds_mask_build_reference(DS_MASK_HULL, lm, everything, 64, X0, Y0, W, H, 0, 4, m);
  /* windows of 4 columns, x - 2 .. x + 1: three of x = 19's are inside, two
   * of x = 20's */
  CHECK(fabsf(m[10 * W + 19] - 0.75f) < 1e-6f && fabsf(m[10 * W + 20] - 0.5f) < 1e-6f &&
            m[10 * W + 0] == 1.0f && m[10 * W + 39] == 0.0f,
        "blur of a step: %g %g", (double)m[10 * W + 19], (double)m[10 * W + 20]);

  /* rect: frame pixels that a shift of (-X0 - 5, -Y0 - 3) takes into [0, 16) */
  const float shift[6] = {1, 0, -(X0 + 5), 0, 1, -(Y0 + 3)};
  ds_mask_build_reference(DS_MASK_RECT, lm, shift, 16, X0, Y0, W, H, 0, 0, m);
  bad = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      bad += m[y * W + x] != (in_box(x, y, 5, 3, 20, 18) ? 1.0f : 0.0f);
  CHECK(bad == 0, "rect of a shift: %d pixels off", bad);
}

/* A face-like cloud of landmarks around (cx, cy), radius about r, and the
 * similarity that maps its box into the model square with some margin. */
static void random_face(float lm[68][2], float mat[6], int square, float cx, float cy, float r) {
  for (int i = 0; i < 68; i++) {
    const float a = 6.2831853f * frand(), d = r * sqrtf(frand());
    lm[i][0] = cx + d * cosf(a), lm[i][1] = cy + 1.2f * d * sinf(a);
  }
  const float angle = 0.6f * (frand() - 0.5f), s = (float)square / (2.2f * r);
  mat[0] = s * cosf(angle), mat[1] = -s * sinf(angle);
  mat[3] = s * sinf(angle), mat[4] = s * cosf(angle);
  mat[2] = 0.5f * (float)square - (mat[0] * cx + mat[1] * cy);
  mat[5] = 0.5f * (float)square - (mat[3] * cx + mat[4] * cy);
}

static void device(int small) {
  ds_error err = {0};
  ds_runtime *rt = NULL;
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (!rt) return;
  static const int sizes[][2] = {{1, 1}, {7, 5}, {33, 65}, {200, 180}};
  static const int erodes[] = {0, 1, 2, 3, 4, 7, -1, -2, -5, -8, 12, 25};
  static const int blurs[] = {0, 1, 2, 3, 4, 5, 9, 16};
  const int nsizes = small ? 3 : 4;
  const size_t most = (size_t)sizes[nsizes - 1][0] * sizes[nsizes - 1][1];
  float *ref = malloc(most * sizeof *ref), *got = malloc(most * sizeof *got);
  /* one pair of buffers for every case: Oclgrind 21.10 misreports reads of
   * buffers created after others were released */
  cl_mem tmp = NULL, mask = NULL;
  CHECK_OK(ds_buffer_create(rt, most * sizeof(float), CL_MEM_READ_WRITE, "tmp", &tmp, &err), &err);
  CHECK_OK(ds_buffer_create(rt, most * sizeof(float), CL_MEM_READ_WRITE, "mask", &mask, &err),
           &err);
  int cases = 0, differing_cases = 0;
  for (int s = 0; s < nsizes && tmp && mask; s++) {
    const int w = sizes[s][0], h = sizes[s][1];
    const int tries = small ? 6 : 12;
    for (int t = 0; t < tries; t++) {
      const ds_mask_kind kind = (ds_mask_kind)(t % 4);
      const int erode = erodes[(t * 5 + s) % 12], blur = blurs[(t * 3 + s) % 8];
      const int square = t % 2 ? 64 : 128, x0 = 37 + t, y0 = 211 - t;
      float lm[68][2], mat[6];
      /* faces inside the ROI, cut by its edge, and covering it */
      const float r = (t % 4 == 3) ? 2.0f * (float)(w + h) : 0.35f * (float)(w < h ? w : h) + 1;
      const float cx = (float)x0 + (t % 4 == 1 ? 0.0f : 0.5f * w) + frand();
      const float cy = (float)y0 + (t % 4 == 2 ? (float)h : 0.5f * h) + frand();
      random_face(lm, mat, square, cx, cy, r);
      ds_mask_build_reference(kind, (const float(*)[2])lm, mat, square, x0, y0, w, h, erode, blur,
                              ref);
      CHECK_OK(ds_mask_build(rt, kind, (const float(*)[2])lm, mat, square, x0, y0, w, h, erode,
                             blur, tmp, mask, &err),
               &err);
      CHECK_OK(ds_buffer_read(rt, mask, 0, (size_t)w * h * sizeof(float), got, &err), &err);
      int diff = 0;
      double on = 0;
      for (int i = 0; i < w * h; i++) {
        diff += got[i] != ref[i];
        on += ref[i];
      }
      cases++;
      differing_cases += diff != 0;
      CHECK(diff == 0, "%dx%d %s erode %d blur %d: %d of %d pixels differ", w, h,
            ds_mask_kind_name(kind), erode, blur, diff, w * h);
      if (getenv("TEST_MASK_VERBOSE") || t == 0 || diff)
        printf("%3dx%-3d %-9s erode %3d blur %2d: %5.1f%% on, %d pixels differ\n", w, h,
               ds_mask_kind_name(kind), erode, blur, 100.0 * on / (w * h), diff);
    }
  }
  printf("device vs reference: %d cases, %d with any differing pixel\n", cases, differing_cases);

  float lm[68][2], mat[6];
  random_face(lm, mat, 64, 50, 50, 10);
  CHECK(ds_mask_build(rt, DS_MASK_HULL, (const float(*)[2])lm, mat, 64, 0, 0, 0, 5, 0, 0, tmp, mask,
                      &err) == DS_ERR_INVALID,
        "empty ROI refused");
  CHECK(ds_mask_build(rt, DS_MASK_HULL, (const float(*)[2])lm, mat, 64, 0, 0, 5, 5, 0, -3, tmp,
                      mask, &err) == DS_ERR_INVALID,
        "negative blur refused");
  ds_error_clear(&err);
  ds_buffer_release(&tmp);
  ds_buffer_release(&mask);
  ds_runtime_destroy(rt);
  free(ref), free(got);
}

int main(int argc, char **argv) {
  const int small = argc > 1 && strcmp(argv[1], "--small") == 0;
  hull();
  ellipse();
  names();
  properties();
  brows();
  device(small);
  return check_summary("mask");
}
