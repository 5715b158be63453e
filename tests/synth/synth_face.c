/* Synthetic faces: see synth_face.h.
 *
 * The face is described in "face units", fractions of the image side with
 * the nominal pose (x right, y down), as a stack of shapes painted back to
 * front. Every shape is a signed distance (negative inside); a pixel's
 * coverage is the box-filtered distance, clamp(0.5 - d / pixel_width), which
 * anti-aliases each edge analytically. The pose maps image points back into
 * face units, so landmarks and pixels share one geometry. */
#include "synth/synth_face.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

typedef struct rgb {
  float r, g, b;
} rgb;

/* One identity's fixed looks. Distances are face units. */
typedef struct look {
  float face_cy, face_rx, face_ry_top, face_ry_bottom; /* outline: a split ellipse */
  rgb skin;
  float blush; /* opacity of the cheek blush */
  rgb hair;
  float hair_side, hair_top;    /* how far the hair stands out of the outline */
  float hairline_y, hairline_k; /* fringe edge: y = hairline_y + k (x - 0.5)^2 */
  float hair_wave;              /* amplitude of the wavy fringe edge */
  float eye_dx, eye_a, eye_b;   /* eye centres at 0.5 -+ eye_dx; half width, half height */
  int almond;                   /* 0: elliptic eyes, 1: almond (parabolic lids) */
  float iris_r;
  rgb iris;
  float brow_y, brow_half, brow_thick, brow_arch, brow_tilt;
  rgb brow;
  float nose_tip_y, nose_half_width;
  float mouth_half_width, lip_upper, lip_lower;
  rgb lip;
  float beard; /* opacity of the beard over the jaw; 0 for none */
  rgb beard_col;
  float neck_half_width;
  rgb shirt;
} look;

static const look looks[DS_SYNTH_IDENTITIES] = {
    {
        .face_cy = 0.535f,
        .face_rx = 0.295f,
        .face_ry_top = 0.32f,
        .face_ry_bottom = 0.33f,
        .skin = {0.93f, 0.72f, 0.57f},
        .blush = 0.22f,
        .hair = {0.17f, 0.10f, 0.07f},
        .hair_side = 0.035f,
        .hair_top = 0.05f,
        .hairline_y = 0.285f,
        .hairline_k = 1.1f,
        .hair_wave = 0.006f,
        .eye_dx = 0.105f,
        .eye_a = 0.036f,
        .eye_b = 0.028f,
        .almond = 0,
        .iris_r = 0.021f,
        .iris = {0.42f, 0.25f, 0.12f},
        .brow_y = 0.338f,
        .brow_half = 0.052f,
        .brow_thick = 0.008f,
        .brow_arch = 0.018f,
        .brow_tilt = 0.004f,
        .brow = {0.20f, 0.12f, 0.08f},
        .nose_tip_y = 0.585f,
        .nose_half_width = 0.032f,
        .mouth_half_width = 0.085f,
        .lip_upper = 0.016f,
        .lip_lower = 0.021f,
        .lip = {0.80f, 0.36f, 0.37f},
        .beard = 0.0f,
        .beard_col = {0, 0, 0},
        .neck_half_width = 0.115f,
        .shirt = {0.24f, 0.40f, 0.63f},
    },
    {
        .face_cy = 0.53f,
        .face_rx = 0.235f,
        .face_ry_top = 0.33f,
        .face_ry_bottom = 0.385f,
        .skin = {0.72f, 0.62f, 0.45f},
        .blush = 0.0f,
        .hair = {0.40f, 0.33f, 0.25f},
        .hair_side = 0.018f,
        .hair_top = 0.035f,
        .hairline_y = 0.235f,
        .hairline_k = 2.4f,
        .hair_wave = 0.0f,
        .eye_dx = 0.095f,
        .eye_a = 0.047f,
        .eye_b = 0.017f,
        .almond = 1,
        .iris_r = 0.0155f,
        .iris = {0.22f, 0.48f, 0.38f},
        .brow_y = 0.347f,
        .brow_half = 0.058f,
        .brow_thick = 0.019f,
        .brow_arch = 0.004f,
        .brow_tilt = -0.006f,
        .brow = {0.33f, 0.25f, 0.15f},
        .nose_tip_y = 0.605f,
        .nose_half_width = 0.026f,
        .mouth_half_width = 0.072f,
        .lip_upper = 0.010f,
        .lip_lower = 0.014f,
        .lip = {0.62f, 0.40f, 0.40f},
        .beard = 0.4f,
        .beard_col = {0.26f, 0.21f, 0.13f},
        .neck_half_width = 0.10f,
        .shirt = {0.55f, 0.22f, 0.24f},
    },
};

static const rgb background = {0.80f, 0.82f, 0.85f};
static const float eye_y = 0.40f, mouth_y = 0.72f;
/* Sub-samples per pixel side. Analytic coverage alone is exact for one
 * straight edge but not where edges meet or a shape is thinner than a pixel
 * (lash lines, a closed mouth at 64 px); 2 x 2 samples, each with its own
 * coverage, bring the error to within a few levels of 4 x 4 at a quarter of
 * its cost. */
enum { SUPERSAMPLE = 2 };

/* The parts of the geometry that depend on the expression. */
typedef struct geom {
  const look *lk;
  float face_ry_bottom; /* the chin drops as the mouth opens */
  float mouth_half_width, inner_half_width;
  float inner_up, inner_down; /* mouth opening above and below mouth_y */
  float teeth;                /* height of the visible upper teeth */
} geom;

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

static void geom_init(const ds_synth_params *p, geom *g) {
  assert(p->identity >= 0 && p->identity < DS_SYNTH_IDENTITIES);
  float o = clampf(p->mouth_open, 0.0f, 1.0f);
  const look *lk = &looks[p->identity];
  g->lk = lk;
  g->face_ry_bottom = lk->face_ry_bottom + 0.03f * o;
  /* a wide-open mouth is rounder: its corners draw in */
  g->mouth_half_width = lk->mouth_half_width * (1.0f - 0.12f * o);
  g->inner_half_width = lk->mouth_half_width * (0.80f - 0.12f * o);
  g->inner_up = 0.0025f + 0.012f * o;
  g->inner_down = 0.0025f + 0.075f * o;
  g->teeth = 0.3f * fmaxf(0.0f, g->inner_up + g->inner_down - 0.012f);
}

/* ---- signed distances (face units, negative inside) ---- */

/* Split ellipse centred at (cx, cy): ry_top above cy, ry_bottom below. The
 * first-order distance (f - 1) / |grad f| is exact on the edge, which is all
 * the coverage needs. */
static float sd_ellipse(float x, float y, float cx, float cy, float rx, float ry_top,
                        float ry_bottom) {
  float dx = x - cx, dy = y - cy;
  float ry = dy < 0 ? ry_top : ry_bottom;
  float u = dx / rx, v = dy / ry;
  float k = sqrtf(u * u + v * v);
  float gx = u / rx, gy = v / ry;
  float gl = sqrtf(gx * gx + gy * gy);
  if (gl < 1e-9f) return -fminf(rx, ry);
  return (k - 1.0f) * k / gl;
}

static float sd_circle(float x, float y, float cx, float cy, float r) {
  return hypotf(x - cx, y - cy) - r;
}

static float sd_box(float x, float y, float cx, float cy, float hw, float hh, float radius) {
  float qx = fabsf(x - cx) - hw + radius, qy = fabsf(y - cy) - hh + radius;
  float ox = fmaxf(qx, 0.0f), oy = fmaxf(qy, 0.0f);
  return hypotf(ox, oy) + fminf(fmaxf(qx, qy), 0.0f) - radius;
}

/* A band of half thickness t(x) around the curve y = f(x) over |x - cx| <= half,
 * with f(x) = cy + arch u^2 + tilt u, u = (x - cx) / half; the distance is the
 * vertical one divided by the slope factor. */
static float sd_brow(float x, float y, float cx, float cy, float half, float thick, float arch,
                     float tilt) {
  float u = (x - cx) / half;
  float uc = clampf(u, -1.0f, 1.0f);
  float f = cy + arch * uc * uc + tilt * uc;
  float slope = (2.0f * arch * uc + tilt) / half;
  float t = 0.5f * thick * (1.0f - 0.45f * uc * uc);
  float d = (fabsf(y - f) - t) / sqrtf(1.0f + slope * slope);
  return fmaxf(d, fabsf(x - cx) - half);
}

/* Almond eye: lids y = cy -+ b (1 - u^2), u = (x - cx) / a. */
static float sd_almond(float x, float y, float cx, float cy, float a, float b) {
  float u = (x - cx) / a;
  float slope = 2.0f * b * u / a;
  float d = (fabsf(y - cy) - b * (1.0f - u * u)) / sqrtf(1.0f + slope * slope);
  return fmaxf(d, fabsf(x - cx) - a);
}

static float sd_eye(const look *lk, float x, float y, float cx) {
  return lk->almond ? sd_almond(x, y, cx, eye_y, lk->eye_a, lk->eye_b)
                    : sd_ellipse(x, y, cx, eye_y, lk->eye_a, lk->eye_b, lk->eye_b);
}

/* ---- painting ---- */

typedef struct pen {
  rgb c;
  float pw; /* one pixel in face units */
} pen;

/* Paints colour c where d < 0 at opacity alpha; feather widens the edge for
 * soft shapes (shadows, blush), never below one pixel. */
static void paint(pen *pn, float d, rgb c, float alpha, float feather) {
  float w = fmaxf(feather, pn->pw);
  float a = clampf(0.5f - d / w, 0.0f, 1.0f) * alpha;
  if (a <= 0.0f) return;
  pn->c.r += (c.r - pn->c.r) * a;
  pn->c.g += (c.g - pn->c.g) * a;
  pn->c.b += (c.b - pn->c.b) * a;
}

static rgb shade(rgb c, float f) { return (rgb){c.r * f, c.g * f, c.b * f}; }

static float sd_face(const geom *g, float x, float y) {
  const look *lk = g->lk;
  return sd_ellipse(x, y, 0.5f, lk->face_cy, lk->face_rx, lk->face_ry_top, g->face_ry_bottom);
}

static float hairline(const look *lk, float x) {
  float dx = x - 0.5f;
  return lk->hairline_y + lk->hairline_k * dx * dx + lk->hair_wave * sinf(dx * 70.0f);
}

static void paint_head(pen *pn, const geom *g, float x, float y) {
  const look *lk = g->lk;
  float chin = lk->face_cy + g->face_ry_bottom;

  /* the neck is darker just below the chin, where the head shades it */
  float neck_shade = 0.80f + 0.08f * clampf((y - chin + 0.02f) / 0.08f, 0.0f, 1.0f);
  paint(pn, sd_box(x, y, 0.5f, 0.85f, lk->neck_half_width, 0.2f, 0.02f),
        shade(lk->skin, neck_shade), 1.0f, 0);
  float collar = sd_ellipse(x, y, 0.5f, 0.93f, 1.15f * lk->neck_half_width, 0.04f, 0.04f);
  paint(pn, fmaxf(sd_ellipse(x, y, 0.5f, 1.08f, 0.56f, 0.15f, 0.15f), -collar), lk->shirt, 1.0f, 0);

  float back = sd_ellipse(x, y, 0.5f, lk->face_cy, lk->face_rx + lk->hair_side,
                          lk->face_ry_top + lk->hair_top, 0.16f);
  paint(pn, back, lk->hair, 1.0f, 0);

  for (int side = -1; side <= 1; side += 2) {
    float ex = 0.5f + side * (lk->face_rx - 0.004f);
    paint(pn, sd_ellipse(x, y, ex, 0.455f, 0.030f, 0.052f, 0.052f), shade(lk->skin, 0.93f), 1.0f,
          0);
    paint(pn, sd_ellipse(x, y, ex + side * 0.006f, 0.458f, 0.014f, 0.032f, 0.032f),
          shade(lk->skin, 0.78f), 0.6f, 0.01f);
  }

  float face = sd_face(g, x, y);
  /* rounded shading: darker towards the outline, lit from the upper left */
  float u = (x - 0.5f) / lk->face_rx;
  float v = (y - lk->face_cy) / (y < lk->face_cy ? lk->face_ry_top : g->face_ry_bottom);
  float lit = 1.04f - 0.14f * (u * u + v * v) - 0.04f * u - 0.02f * v;
  paint(pn, face, shade(lk->skin, lit), 1.0f, 0);
  if (face > pn->pw) return;

  if (lk->blush > 0) {
    rgb blush = {0.95f, 0.50f, 0.50f};
    for (int side = -1; side <= 1; side += 2)
      paint(pn, sd_ellipse(x, y, 0.5f + side * 0.15f, 0.58f, 0.045f, 0.03f, 0.03f), blush,
            lk->blush, 0.04f);
  }
  if (lk->beard > 0) {
    float dx = x - 0.5f;
    /* up the jaw to the ears as sideburns, just clear of the lower lip */
    float edge = 0.765f - 4.0f * dx * dx - y;
    paint(pn, fmaxf(face, edge), lk->beard_col, lk->beard, 0.02f);
  }
  /* fringe: the hair over the forehead, clipped to the face */
  paint(pn, fmaxf(face - 0.002f, y - hairline(lk, x)), lk->hair, 1.0f, 0);
}

static void paint_eyes(pen *pn, const geom *g, float x, float y) {
  const look *lk = g->lk;
  rgb lid = {0.16f, 0.10f, 0.08f};
  rgb sclera = {0.96f, 0.95f, 0.92f};
  for (int side = -1; side <= 1; side += 2) {
    float ex = 0.5f + side * lk->eye_dx;
    if (fabsf(x - ex) > 0.09f || fabsf(y - eye_y) > 0.09f) continue;
    paint(
        pn,
        sd_ellipse(x, y, ex, eye_y - 0.004f, lk->eye_a * 1.25f, lk->eye_b * 1.7f, lk->eye_b * 1.4f),
        shade(lk->skin, 0.8f), 0.25f, 0.02f);
    float eye = sd_eye(lk, x, y, ex);
    paint(pn, eye, sclera, 1.0f, 0);
    float iy = eye_y + 0.1f * lk->eye_b;
    float iris = sd_circle(x, y, ex, iy, lk->iris_r);
    /* the iris darkens towards its rim */
    float rim = clampf(hypotf(x - ex, y - iy) / lk->iris_r, 0.0f, 1.0f);
    paint(pn, fmaxf(iris, eye), shade(lk->iris, 1.15f - 0.4f * rim * rim), 1.0f, 0);
    paint(pn, fmaxf(sd_circle(x, y, ex, iy, 0.45f * lk->iris_r), eye), (rgb){0.05f, 0.04f, 0.04f},
          1.0f, 0);
    paint(
        pn,
        fmaxf(sd_circle(x, y, ex - 0.3f * lk->iris_r, iy - 0.35f * lk->iris_r, 0.22f * lk->iris_r),
              eye),
        (rgb){1, 1, 1}, 0.9f, 0);
    /* lash line: heavier on the upper lid */
    float lw = y < eye_y ? 0.0032f : 0.0012f;
    paint(pn, fabsf(eye) - lw, lid, 0.9f, 0);

    float bx = ex + side * 0.006f;
    paint(pn,
          sd_brow(x, y, bx, lk->brow_y, lk->brow_half, lk->brow_thick, lk->brow_arch,
                  side * lk->brow_tilt),
          lk->brow, 1.0f, 0);
  }
}

static void paint_nose(pen *pn, const geom *g, float x, float y) {
  const look *lk = g->lk;
  rgb dark = shade(lk->skin, 0.62f);
  float tip = lk->nose_tip_y;
  if (fabsf(x - 0.5f) > 0.07f || y < eye_y || y > tip + 0.05f) return;
  /* shadow along the right side of the bridge, fading in towards the tip */
  float t = clampf((y - eye_y - 0.03f) / (tip - eye_y - 0.03f), 0.0f, 1.0f);
  paint(pn,
        sd_box(x, y, 0.5f + 0.012f + 0.008f * t, 0.5f * (eye_y + 0.03f + tip), 0.004f,
               0.5f * (tip - eye_y - 0.03f), 0.004f),
        dark, 0.35f * t, 0.012f);
  paint(pn, sd_ellipse(x, y, 0.5f, tip - 0.008f, lk->nose_half_width, 0.022f, 0.018f),
        shade(lk->skin, 0.86f), 0.45f, 0.01f);
  paint(pn, sd_ellipse(x, y, 0.5f - 0.004f, tip - 0.014f, 0.012f, 0.008f, 0.008f),
        shade(lk->skin, 1.1f), 0.5f, 0.008f);
  for (int side = -1; side <= 1; side += 2)
    paint(pn,
          sd_ellipse(x, y, 0.5f + side * 0.52f * lk->nose_half_width, tip + 0.006f, 0.010f, 0.005f,
                     0.005f),
          dark, 0.8f, 0);
}

static void paint_mouth(pen *pn, const geom *g, float x, float y) {
  const look *lk = g->lk;
  if (fabsf(x - 0.5f) > 0.12f || fabsf(y - mouth_y - 0.03f) > 0.1f) return;
  float outer = sd_ellipse(x, y, 0.5f, mouth_y, g->mouth_half_width, g->inner_up + lk->lip_upper,
                           g->inner_down + lk->lip_lower);
  /* lower lip a touch lighter: it catches the light */
  paint(pn, outer, shade(lk->lip, y > mouth_y ? 1.06f : 0.95f), 1.0f, 0);
  float inner = sd_ellipse(x, y, 0.5f, mouth_y, g->inner_half_width, g->inner_up, g->inner_down);
  paint(pn, inner, (rgb){0.22f, 0.05f, 0.06f}, 1.0f, 0);
  if (g->teeth > 0) {
    float band = fmaxf(y - (mouth_y - g->inner_up + g->teeth),
                       fabsf(x - 0.5f) - 0.75f * g->inner_half_width);
    paint(pn, fmaxf(inner, band), (rgb){0.94f, 0.92f, 0.86f}, 1.0f, 0);
    float tongue = sd_ellipse(x, y, 0.5f, mouth_y + g->inner_down, 0.55f * g->inner_half_width,
                              0.45f * g->inner_down, 0.45f * g->inner_down);
    paint(pn, fmaxf(inner, tongue), (rgb){0.42f, 0.11f, 0.13f}, 1.0f, 0.004f);
  }
}

/* ---- pose ---- */

typedef struct pose {
  float c, s, scale, tx, ty;
} pose;

static void pose_init(const ds_synth_params *p, pose *ps) {
  assert(p->scale > 0);
  float a = p->rotation_deg * 3.14159265358979f / 180.0f;
  ps->c = cosf(a);
  ps->s = sinf(a);
  ps->scale = p->scale;
  ps->tx = p->shift_x;
  ps->ty = p->shift_y;
}

/* face units to image fractions: rotate and scale about the centre, then shift */
static void pose_forward(const pose *ps, float fx, float fy, float *ix, float *iy) {
  float dx = fx - 0.5f, dy = fy - 0.5f;
  *ix = 0.5f + ps->scale * (ps->c * dx - ps->s * dy) + ps->tx;
  *iy = 0.5f + ps->scale * (ps->s * dx + ps->c * dy) + ps->ty;
}

static void pose_inverse(const pose *ps, float ix, float iy, float *fx, float *fy) {
  float dx = (ix - 0.5f - ps->tx) / ps->scale, dy = (iy - 0.5f - ps->ty) / ps->scale;
  *fx = 0.5f + ps->c * dx + ps->s * dy;
  *fy = 0.5f - ps->s * dx + ps->c * dy;
}

static uint8_t to_byte(float v) { return (uint8_t)lrintf(clampf(v, 0.0f, 1.0f) * 255.0f); }

void ds_synth_face_render(const ds_synth_params *p, int size, uint8_t *rgb_out) {
  assert(size >= 16 && rgb_out);
  geom g;
  pose ps;
  geom_init(p, &g);
  pose_init(p, &ps);
  float inv = 1.0f / (float)size, sub = inv / SUPERSAMPLE;
  for (int j = 0; j < size; j++) {
    for (int i = 0; i < size; i++) {
      rgb sum = {0, 0, 0};
      for (int sj = 0; sj < SUPERSAMPLE; sj++)
        for (int si = 0; si < SUPERSAMPLE; si++) {
          float x, y;
          pose_inverse(&ps, i * inv + (si + 0.5f) * sub, j * inv + (sj + 0.5f) * sub, &x, &y);
          pen pn = {background, sub / ps.scale};
          paint_head(&pn, &g, x, y);
          paint_eyes(&pn, &g, x, y);
          paint_nose(&pn, &g, x, y);
          paint_mouth(&pn, &g, x, y);
          sum.r += pn.c.r;
          sum.g += pn.c.g;
          sum.b += pn.c.b;
        }
      float w = 1.0f / (SUPERSAMPLE * SUPERSAMPLE);
      uint8_t *px = rgb_out + ((size_t)j * size + i) * 3;
      px[0] = to_byte(sum.r * w);
      px[1] = to_byte(sum.g * w);
      px[2] = to_byte(sum.b * w);
    }
  }
}

/* ---- landmarks ---- */

static void put(float xy[68][2], int k, float x, float y) {
  xy[k][0] = x;
  xy[k][1] = y;
}

/* The upper (sign -1) or lower (+1) lid of an eye at u in [-1, 1]. */
static float lid_y(const look *lk, float u, int sign) {
  float h = lk->almond ? lk->eye_b * (1.0f - u * u) : lk->eye_b * sqrtf(fmaxf(0.0f, 1 - u * u));
  return eye_y + sign * h;
}

void ds_synth_face_landmarks(const ds_synth_params *p, int size, float xy[68][2]) {
  geom g;
  pose ps;
  geom_init(p, &g);
  pose_init(p, &ps);
  const look *lk = g.lk;

  /* jaw: along the outline from the temples (just below the eye line)
   * through the chin, evenly in the ellipse's angle */
  float a0 = asinf((eye_y + 0.02f - lk->face_cy) / lk->face_ry_top);
  float pi = 3.14159265358979f;
  for (int k = 0; k <= 16; k++) {
    float t = (pi - a0) + (2.0f * a0 - pi) * (float)k / 16.0f;
    float ry = sinf(t) < 0 ? lk->face_ry_top : g.face_ry_bottom;
    put(xy, k, 0.5f + lk->face_rx * cosf(t), lk->face_cy + ry * sinf(t));
  }
  /* brows: five points along each brow's upper edge, left to right */
  for (int side = -1, base = 17; side <= 1; side += 2, base += 5) {
    float bx = 0.5f + side * (lk->eye_dx + 0.006f);
    for (int k = 0; k < 5; k++) {
      float u = -1.0f + 0.5f * k;
      float t = 0.5f * lk->brow_thick * (1.0f - 0.45f * u * u);
      put(xy, base + k, bx + u * lk->brow_half,
          lk->brow_y + lk->brow_arch * u * u + side * lk->brow_tilt * u - t);
    }
  }
  /* nose: bridge from between the eyes to the tip, then the base left to right */
  for (int k = 0; k < 4; k++)
    put(xy, 27 + k, 0.5f, eye_y + 0.005f + (lk->nose_tip_y - eye_y - 0.005f) * k / 3.0f);
  static const float base_dx[5] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f};
  static const float base_dy[5] = {0.006f, 0.011f, 0.013f, 0.011f, 0.006f};
  for (int k = 0; k < 5; k++)
    put(xy, 31 + k, 0.5f + base_dx[k] * 0.8f * lk->nose_half_width, lk->nose_tip_y + base_dy[k]);
  /* eyes: outer-or-inner corner, two upper-lid points, the other corner, two
   * lower-lid points, going clockwise on screen */
  for (int side = -1, base = 36; side <= 1; side += 2, base += 6) {
    float ex = 0.5f + side * lk->eye_dx;
    static const float us[6] = {-1.0f, -1.0f / 3, 1.0f / 3, 1.0f, 1.0f / 3, -1.0f / 3};
    static const int sg[6] = {0, -1, -1, 0, 1, 1};
    for (int k = 0; k < 6; k++)
      put(xy, base + k, ex + us[k] * lk->eye_a, sg[k] ? lid_y(lk, us[k], sg[k]) : eye_y);
  }
  /* mouth: outer lip edge from the left corner clockwise, then the opening */
  float up_o = g.inner_up + lk->lip_upper, down_o = g.inner_down + lk->lip_lower;
  static const float uo[12] = {-1.0f, -2.0f / 3, -1.0f / 3, 0.0f, 1.0f / 3,  2.0f / 3,
                               1.0f,  2.0f / 3,  1.0f / 3,  0.0f, -1.0f / 3, -2.0f / 3};
  for (int k = 0; k < 12; k++) {
    float r = k < 6 ? -up_o : down_o;
    put(xy, 48 + k, 0.5f + uo[k] * g.mouth_half_width,
        mouth_y + r * sqrtf(fmaxf(0.0f, 1 - uo[k] * uo[k])));
  }
  static const float ui[8] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 0.5f, 0.0f, -0.5f};
  for (int k = 0; k < 8; k++) {
    float r = k < 4 ? -g.inner_up : g.inner_down;
    put(xy, 60 + k, 0.5f + ui[k] * g.inner_half_width,
        mouth_y + r * sqrtf(fmaxf(0.0f, 1 - ui[k] * ui[k])));
  }

  for (int k = 0; k < 68; k++) {
    float ix, iy;
    pose_forward(&ps, xy[k][0], xy[k][1], &ix, &iy);
    xy[k][0] = ix * size;
    xy[k][1] = iy * size;
  }
}

/* ---- mouth measure ---- */

/* The window holds the mouth under any pose the generator makes (rotation
 * 5 degrees, scale 4 %, shift 3 %) and no other dark feature: nostrils are
 * only moderately dark and the beard lighter still. */
static const float win_x0 = 0.33f, win_x1 = 0.67f, win_y0 = 0.61f, win_y1 = 0.87f;
/* dark-interior area of identity 0's wide-open mouth at the nominal pose, as
 * a fraction of the image; measured with this function */
static const float wide_open_area = 0.00647f;

float ds_synth_mouth_opening(const uint8_t *rgb_in, int size) {
  assert(rgb_in && size > 0);
  int x0 = (int)(win_x0 * size), x1 = (int)ceilf(win_x1 * size);
  int y0 = (int)(win_y0 * size), y1 = (int)ceilf(win_y1 * size);
  if (x1 > size) x1 = size;
  if (y1 > size) y1 = size;
  if (x1 <= x0 || y1 <= y0) return 0.0f;
  unsigned hist[256] = {0};
  for (int j = y0; j < y1; j++)
    for (int i = x0; i < x1; i++) {
      const uint8_t *px = rgb_in + ((size_t)j * size + i) * 3;
      hist[(77 * px[0] + 150 * px[1] + 29 * px[2] + 128) >> 8]++;
    }
  unsigned n = (unsigned)((x1 - x0) * (y1 - y0)), want = n - n / 4, seen = 0;
  int bright = 0;
  while (bright < 255 && (seen += hist[bright]) < want)
    bright++;
  if (bright < 16) return 0.0f; /* no contrast to judge by */
  /* fully dark below 20 % of the bright level, not dark above 60 % */
  float hi = 0.60f * bright, lo = 0.20f * bright;
  double dark = 0;
  for (int l = 0; l < (int)hi + 1; l++)
    dark += hist[l] * clampf((hi - l) / (hi - lo), 0.0f, 1.0f);
  return (float)(dark / ((double)size * size) / wide_open_area);
}

/* ---- random expressions and poses ---- */

/* SplitMix64's finaliser (Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", 2014): a bijection that spreads every
 * input bit over the output. */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static float uniform(uint64_t key, int k) {
  uint64_t z = mix64(key + (uint64_t)(k + 1) * 0x9e3779b97f4a7c15ull);
  return (float)((z >> 40) * (1.0 / 16777216.0));
}

void ds_synth_params_default(int identity, float mouth_open, ds_synth_params *p) {
  *p = (ds_synth_params){.identity = identity, .mouth_open = mouth_open, .scale = 1.0f};
}

void ds_synth_params_random(uint64_t seed, int identity, int index, ds_synth_params *p) {
  uint64_t key = mix64(mix64(seed) ^ ((uint64_t)(uint32_t)identity << 32 | (uint32_t)index));
  p->identity = identity;
  p->mouth_open = uniform(key, 0);
  p->rotation_deg = -5.0f + 10.0f * uniform(key, 1);
  p->scale = 0.96f + 0.08f * uniform(key, 2);
  p->shift_x = -0.03f + 0.06f * uniform(key, 3);
  p->shift_y = -0.03f + 0.06f * uniform(key, 4);
}
