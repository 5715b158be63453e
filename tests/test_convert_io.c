/* Convert's face moves (cl/convert/face.cl) against their C references,
 * the ROI choice, temporal smoothing, shot cuts and the frame queue. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/convert/face_io.h"
#include "engine/convert/frame_queue.h"
#include "engine/convert/smooth.h"
#include "engine/convert/swap.h"
#include "engine/detect/align.h"
#include "host/buffer.h"

static uint32_t rng = 12345;
static float frand(void) {
  rng = rng * 1664525u + 1013904223u;
  return (float)(rng >> 8) / 16777216.0f;
}

/* A face-like set of landmarks: the mean face scaled to `size` px at (cx, cy),
 * rotated by angle, with jaw points on an arc below. */
static void make_landmarks(float cx, float cy, float size, float angle, float out[68][2]) {
  const float c = cosf(angle), s = sinf(angle);
  for (int i = 0; i < 68; i++) {
    float x, y;
    if (i < 17) {
      const float t = (float)i / 16.0f * 3.14159f;
      x = 0.5f - 0.55f * cosf(t);
      y = 0.35f + 0.6f * sinf(t);
    } else {
      x = ds_mean_face[i - 17][0];
      y = ds_mean_face[i - 17][1];
    }
    x = (x - 0.5f) * size, y = (y - 0.5f) * size;
    out[i][0] = cx + c * x - s * y;
    out[i][1] = cy + s * x + c * y;
  }
}

static void test_kernels(ds_runtime *rt, int cases) {
  ds_error err = {0};
  const int sizes[][2] = {{64, 48}, {131, 97}, {320, 240}};
  for (int t = 0; t < cases; t++) {
    const int fw = sizes[t][0], fh = sizes[t][1], S = 64, n = 2;
    uint8_t *frame = malloc((size_t)fw * fh * 3), *host_frame = malloc((size_t)fw * fh * 3);
    for (int i = 0; i < fw * fh * 3; i++)
      frame[i] = (uint8_t)(frand() * 255.0f);
    float lm[68][2], mat[6];
    make_landmarks(fw * 0.5f, fh * 0.5f, fminf(fw, fh) * 0.6f, 0.2f * (float)t - 0.1f, lm);
    ds_align_matrix(lm, S, 0, mat);
    cl_mem fbuf = NULL, input = NULL, roi_old = NULL, roi_new = NULL, mask = NULL;
    CHECK_OK(ds_buffer_create(rt, (size_t)fw * fh * 3, CL_MEM_READ_WRITE, "frame", &fbuf, &err),
             &err);
    CHECK_OK(ds_buffer_create(rt, (size_t)n * S * S * 12, CL_MEM_READ_WRITE, "input", &input, &err),
             &err);
    CHECK_OK(ds_buffer_write(rt, fbuf, 0, (size_t)fw * fh * 3, frame, &err), &err);

    /* face_input into slot 1 of 2 */
    float *ref = malloc((size_t)S * S * 12), *dev = malloc((size_t)n * S * S * 12);
    ds_face_input_reference(ref, frame, fw, fh, S, mat);
    CHECK_OK(ds_face_input(rt, input, (size_t)S * S * 3, fbuf, fw, fh, S, mat, &err), &err);
    CHECK_OK(ds_buffer_read(rt, input, 0, (size_t)n * S * S * 12, dev, &err), &err);
    double worst = 0;
    for (int i = 0; i < S * S * 3; i++)
      worst = fmax(worst, fabs(dev[S * S * 3 + i] - ref[i]));
    CHECK(worst < 1e-4, "face_input %dx%d: %.3g off the reference", fw, fh, worst);

    /* a generated face (random) drawn back into the ROI */
    int roi[4];
    CHECK(ds_swap_roi(lm, mat, S, 6, fw, fh, 0, roi), "roi of a face inside the frame");
    const int x0 = roi[0], y0 = roi[1], w = roi[2], h = roi[3];
    CHECK(x0 >= 0 && y0 >= 0 && x0 + w <= fw && y0 + h <= fh, "roi inside the frame");
    for (int i = 0; i < 68; i++)
      CHECK(lm[i][0] >= x0 && lm[i][0] < x0 + w && lm[i][1] >= y0 && lm[i][1] < y0 + h,
            "landmark %d outside the roi", i);
    for (int i = 0; i < n * S * S * 3; i++)
      dev[i] = frand();
    CHECK_OK(ds_buffer_write(rt, input, 0, (size_t)n * S * S * 12, dev, &err), &err);
    const size_t rp = (size_t)w * h;
    float *old = malloc(rp * 12), *neu = malloc(rp * 12), *got = malloc(rp * 12);
    float *m = malloc(rp * 4);
    CHECK_OK(ds_buffer_create(rt, rp * 12, CL_MEM_READ_WRITE, "old", &roi_old, &err), &err);
    CHECK_OK(ds_buffer_create(rt, rp * 12, CL_MEM_READ_WRITE, "new", &roi_new, &err), &err);
    CHECK_OK(ds_buffer_create(rt, rp * 4, CL_MEM_READ_WRITE, "mask", &mask, &err), &err);
    CHECK_OK(ds_roi_load(rt, roi_old, fbuf, fw, x0, y0, w, h, &err), &err);
    CHECK_OK(ds_buffer_read(rt, roi_old, 0, rp * 12, old, &err), &err);
    int bad = 0;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++)
          bad +=
              old[((size_t)y * w + x) * 3 + c] != frame[((size_t)(y0 + y) * fw + x0 + x) * 3 + c];
    CHECK(bad == 0, "roi_load: %d values differ", bad);
    CHECK_OK(
        ds_face_unwarp(rt, roi_new, input, (size_t)S * S * 3, roi_old, S, mat, x0, y0, w, h, &err),
        &err);
    CHECK_OK(ds_buffer_read(rt, roi_new, 0, rp * 12, got, &err), &err);
    ds_face_unwarp_reference(neu, dev + S * S * 3, old, S, mat, x0, y0, w, h);
    worst = 0;
    int outside = 0;
    for (size_t i = 0; i < rp * 3; i++) {
      worst = fmax(worst, fabs(got[i] - neu[i]));
      outside += neu[i] == old[i];
    }
    CHECK(worst < 2e-3, "face_unwarp %dx%d: %.3g off the reference", w, h, worst);
    CHECK(outside > 0 && outside < (int)(rp * 3), "the roi has face and frame pixels (%d old)",
          outside);

    /* compose with a random mask */
    for (size_t i = 0; i < rp; i++)
      m[i] = frand() * 1.4f - 0.2f;
    CHECK_OK(ds_buffer_write(rt, mask, 0, rp * 4, m, &err), &err);
    CHECK_OK(ds_roi_compose(rt, fbuf, fw, roi_new, roi_old, mask, x0, y0, w, h, &err), &err);
    CHECK_OK(ds_buffer_read(rt, fbuf, 0, (size_t)fw * fh * 3, host_frame, &err), &err);
    ds_roi_compose_reference(frame, fw, neu, old, m, x0, y0, w, h);
    int diff = 0;
    for (int i = 0; i < fw * fh * 3; i++)
      diff = abs(host_frame[i] - frame[i]) > diff ? abs(host_frame[i] - frame[i]) : diff;
    CHECK(diff <= 1, "roi_compose: %d levels off the reference", diff);

    ds_buffer_release(&fbuf);
    ds_buffer_release(&input);
    ds_buffer_release(&roi_old);
    ds_buffer_release(&roi_new);
    ds_buffer_release(&mask);
    free(frame), free(host_frame), free(ref), free(dev), free(old), free(neu), free(got), free(m);
  }
}

static void test_roi(void) {
  float lm[68][2], mat[6];
  int roi[4];
  make_landmarks(10, 10, 100, 0, lm); /* mostly off the top-left corner */
  ds_align_matrix(lm, 64, 0, mat);
  CHECK(ds_swap_roi(lm, mat, 64, 4, 640, 480, 0, roi) && roi[0] == 0 && roi[1] == 0,
        "a face at the corner is clipped (%d %d)", roi[0], roi[1]);
  make_landmarks(-500, -500, 100, 0, lm);
  ds_align_matrix(lm, 64, 0, mat);
  CHECK(!ds_swap_roi(lm, mat, 64, 4, 640, 480, 0, roi), "a face outside the frame has no roi");
}

static void test_smoother(void) {
  ds_smoother s;
  ds_smoother_init(&s, 0.8f);
  float base[68][2];
  make_landmarks(200, 200, 150, 0, base);
  /* a still face with 1 px jitter: the smoothed points wander less */
  double raw = 0, smooth = 0;
  for (int f = 0; f < 60; f++) {
    ds_face_record r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 68; i++) {
      r.landmarks[i][0] = base[i][0] + (frand() - 0.5f) * 2;
      r.landmarks[i][1] = base[i][1] + (frand() - 0.5f) * 2;
      if (f >= 10) raw += fabs(r.landmarks[i][0] - base[i][0]);
    }
    r.box[0] = 125, r.box[1] = 125, r.box[2] = 275, r.box[3] = 275;
    ds_smoother_apply(&s, &r, 1, 256, 48);
    for (int i = 0; f >= 10 && i < 68; i++)
      smooth += fabs(r.landmarks[i][0] - base[i][0]);
  }
  CHECK(smooth < 0.6 * raw, "jitter: smoothed %.1f vs raw %.1f", smooth, raw);
  /* a face moving 6 px a frame is not dragged behind by more than 2 px */
  ds_smoother_reset(&s);
  double lag = 0;
  for (int f = 0; f < 30; f++) {
    ds_face_record r;
    memset(&r, 0, sizeof r);
    make_landmarks(200 + 6.0f * f, 200, 150, 0, r.landmarks);
    r.box[0] = 125 + 6.0f * f, r.box[1] = 125, r.box[2] = 275 + 6.0f * f, r.box[3] = 275;
    ds_smoother_apply(&s, &r, 1, 256, 48);
    if (f > 5)
      lag = fmax(lag, fabs(r.landmarks[30][0] - (200 + 6.0f * f + 0.0f) - (base[30][0] - 200)));
  }
  CHECK(lag < 2.0, "motion lag %.2f px", lag);
  /* strength 0 changes nothing */
  ds_smoother_init(&s, 0);
  ds_face_record a;
  memset(&a, 0, sizeof a);
  memcpy(a.landmarks, base, sizeof base);
  a.box[2] = a.box[3] = 300;
  ds_smoother_apply(&s, &a, 1, 256, 48);
  ds_face_record b = a;
  b.landmarks[5][0] += 3;
  ds_smoother_apply(&s, &b, 1, 256, 48);
  CHECK(b.landmarks[5][0] == a.landmarks[5][0] + 3, "strength 0 leaves landmarks as found");
}

static void test_shots(void) {
  ds_image a, b;
  ds_error err = {0};
  CHECK_OK(ds_image_alloc(&a, 64, 48, 3, &err), &err);
  CHECK_OK(ds_image_alloc(&b, 64, 48, 3, &err), &err);
  for (int i = 0; i < 64 * 48 * 3; i++) {
    a.data[i] = (uint8_t)(i % 64 + 20);
    b.data[i] = (uint8_t)(230 - i % 97);
  }
  ds_shot_detector d = {0};
  CHECK(!ds_shot_detector_next(&d, &a), "the first frame is no cut");
  CHECK(!ds_shot_detector_next(&d, &a), "the same frame is no cut");
  CHECK(ds_shot_detector_next(&d, &b), "another picture is a cut");
  ds_image_free(&a);
  ds_image_free(&b);
}

static void *produce(void *arg) {
  ds_frame_queue *q = arg;
  for (int i = 0; i < 200; i++) {
    ds_frame_item *it = calloc(1, sizeof *it);
    it->index = i;
    if (!ds_frame_queue_push(q, it)) {
      ds_frame_item_free(it);
      break;
    }
  }
  ds_frame_queue_close(q);
  return NULL;
}

static void test_queue(void) {
  ds_frame_queue q;
  CHECK(ds_frame_queue_init(&q, 3), "queue");
  pthread_t t;
  pthread_create(&t, NULL, produce, &q);
  int64_t expect = 0;
  int in_order = 1;
  ds_frame_item *it;
  while ((it = ds_frame_queue_pop(&q))) {
    in_order &= it->index == expect++;
    ds_frame_item_free(it);
  }
  pthread_join(t, NULL);
  CHECK(in_order && expect == 200, "200 items in order through a queue of 3 (%lld)",
        (long long)expect);
  ds_frame_queue_destroy(&q);
  /* abort wakes a blocked producer */
  CHECK(ds_frame_queue_init(&q, 1), "queue");
  pthread_create(&t, NULL, produce, &q);
  it = ds_frame_queue_pop(&q);
  ds_frame_item_free(it);
  ds_frame_queue_abort(&q);
  pthread_join(t, NULL);
  CHECK(ds_frame_queue_pop(&q) == NULL, "an aborted queue gives nothing");
  ds_frame_queue_destroy(&q);
}

/* "small": one frame size only, for the Oclgrind run (its uninitialised-
 * value check misfires once buffers are released and created again). */
int main(int argc, char **argv) {
  const int cases = argc > 1 && strcmp(argv[1], "small") == 0 ? 1 : 3;
  ds_runtime *rt = NULL;
  ds_error err = {0};
  test_roi();
  test_smoother();
  test_shots();
  test_queue();
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (rt) test_kernels(rt, cases);
  ds_runtime_destroy(rt);
  return check_summary("convert_io");
}
