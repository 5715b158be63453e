/* Synthetic cartoon faces for tests that must not depend on real media.
 *
 * Each identity is a fixed head (outline, skin tone, hair, eyes, brows, nose,
 * beard) drawn with a varying expression (the mouth opening) and a small pose
 * jitter, on a plain background, the way an aligned 256x256 training face
 * sits: centred, eye line near y = 0.40 S, mouth near y = 0.72 S. Edges get
 * analytic coverage from signed distances, so they are smooth like a photo's
 * rather than stair-stepped.
 *
 * Everything is a pure function of its arguments: no global state, no
 * allocation, the same bytes on every run. */
#ifndef DS_TESTS_SYNTH_FACE_H
#define DS_TESTS_SYNTH_FACE_H

#include <stdint.h>

/* Identities 0 .. DS_SYNTH_IDENTITIES - 1. 0: round face, warm skin, dark
 * hair band, round brown eyes, thin arched brows. 1: long face, cooler and
 * greener skin, light short hair, almond green eyes, thick straight brows, a
 * darker beard over the jaw. */
enum { DS_SYNTH_IDENTITIES = 2 };

typedef struct ds_synth_params {
  int identity;           /* 0 .. DS_SYNTH_IDENTITIES - 1 */
  float mouth_open;       /* 0 = closed .. 1 = wide open; clamped to [0, 1] */
  float rotation_deg;     /* in-plane rotation about the image centre, clockwise on screen */
  float scale;            /* size multiplier, 1 = nominal; must be > 0 */
  float shift_x, shift_y; /* translation as fractions of the image size */
} ds_synth_params;

/* The nominal pose: no rotation, scale 1, no shift. */
void ds_synth_params_default(int identity, float mouth_open, ds_synth_params *p);

/* A deterministic expression and pose for (seed, identity, index): mouth_open
 * uniform in [0, 1], rotation in [-5, 5] degrees, scale in [0.96, 1.04],
 * shifts in [-0.03, 0.03]. */
void ds_synth_params_random(uint64_t seed, int identity, int index, ds_synth_params *p);

/* Draws the face into rgb (size * size * 3 bytes, row-major, interleaved).
 * size >= 16. */
void ds_synth_face_render(const ds_synth_params *p, int size, uint8_t *rgb);

/* The 68 landmarks of the drawn face in dlib's order (jaw 0-16, brows 17-26,
 * nose 27-35, eyes 36-47, mouth 48-67), in pixels (x right, y down; the
 * centre of the top-left pixel is (0.5, 0.5)). They lie on the drawn
 * outlines: the jaw on the face edge, eye points on the lids, 48-59 on the
 * outer lip edge and 60-67 on the edge of the mouth opening. */
void ds_synth_face_landmarks(const ds_synth_params *p, int size, float xy[68][2]);

/* Measures the mouth opening of an aligned face image (any 8-bit RGB face
 * that sits where these synthetic faces sit, e.g. a swapped or decoded one):
 * the area of the dark mouth interior inside a fixed window around the mouth,
 * as a fraction of the image, divided by the area of a wide-open mouth. Dark
 * is judged against the window's own bright level (its 75th luma
 * percentile), so a global colour shift does not change the answer. About 0
 * for a closed mouth and about 1 for a wide-open one on identity 0; it
 * grows with mouth_open on every identity. */
float ds_synth_mouth_opening(const uint8_t *rgb, int size);

#endif
