/* The whole model against the PyTorch reference (tests/ref/NAME.dst, written by
 * tests/ref/make_fixtures.py): initial weights bit for bit, forward output and
 * loss (relative 1e-4), every parameter gradient and the parameter change
 * after 3 Adam steps (1e-3 of each tensor's scale). Also checks that the
 * other identity's decoder is untouched by identity A's steps. A fixture of
 * a decoder.mask config (micro_mask) also holds the mask targets, the mask
 * output and its loss; its gradients and steps are those of the whole
 * objective, image loss + train.mask_weight x mask MSE.
 * usage: test_model_ref REPO_ROOT FIXTURE... (micro, micro_mask, tiny, original;
 * the config is tests/ref/FIXTURE.json where it exists, else configs/FIXTURE.json) */
#include <stdlib.h>

#include "check.h"
#include "engine/model/model.h"
#include "host/buffer.h"
#include "nn_util.h"

static ds_error err;

static const float *fixture(ds_tensor_set *f, const char *name, size_t want) {
  const ds_tensor_info *t = ds_tensor_set_find(f, name);
  CHECK(t != NULL, "fixture lacks %s", name);
  if (!t) return NULL;
  CHECK(want == 0 || t->count == want, "%s has %llu values, expected %zu", name,
        (unsigned long long)t->count, want);
  return f->data + t->offset;
}

static size_t sample_index(size_t j, size_t n, size_t k) { return (size_t)((double)j * n / k); }

/* Sampled values against the float64 reference. strict (micro, tiny): every
 * sample within tol * scale + floor, scale = max |want|. original: the
 * relative L2 error over the samples must stay below 5e-2. The fixtures'
 * inputs are chosen so no LeakyReLU pre-activation lies near 0
 * (tests/ref/README.md), but the float32 error of original's deep layers (up
 * to 2.4e-5 of a layer's std) exceeds any margin inputs can give: one
 * pre-activation of decoder.A.upscale2 (z = -5.9e-9) takes the other slope in
 * float32, which moves the gradients upstream by up to 0.5 % and the Adam
 * deltas by up to 10 %. Redoing the float64 backward pass with the engine's
 * slopes reproduces those differences, so they are not a kernel error; a
 * wrong layout, layer or formula gives O(1) errors and still fails. */
static void compare_samples(const char *what, const char *pname, const float *got, size_t n,
                            const float *want, double tol, double floor, int strict) {
  size_t k = n < 256 ? n : 256, misses = 0;
  double worst = 0, scale = 0, d2 = 0, w2 = 0;
  for (size_t j = 0; j < k; j++)
    if (fabs(want[j]) > scale) scale = fabs(want[j]);
  for (size_t j = 0; j < k; j++) {
    size_t i = (size_t)((unsigned long long)j * n / k);
    double d = fabs((double)got[i] - want[j]);
    if (isnan(d)) d = INFINITY;
    if (d > worst) worst = d;
    if (d > tol * scale + floor) misses++;
    d2 += d * d;
    w2 += (double)want[j] * want[j];
  }
  double l2 = sqrt(d2) / (sqrt(w2) > 1e-30 ? sqrt(w2) : 1e-30);
  if (getenv("DS_VERBOSE"))
    printf("  %s %s: worst %.3g of scale, L2 %.3g, %zu of %zu beyond %.0e\n", what, pname,
           worst / scale, l2, misses, k, tol);
  if (strict)
    CHECK(misses == 0, "%s %s: max diff %.3g, scale %.3g", what, pname, worst, scale);
  else
    CHECK(l2 <= 5e-2, "%s %s: relative L2 error %.3g over %zu samples", what, pname, l2, k);
}

static void run_fixture(const char *root, const char *which) {
  char path[1024], cfgpath[1024];
  snprintf(path, sizeof path, "%s/tests/ref/%s.dst", root, which);
  snprintf(cfgpath, sizeof cfgpath, "%s/tests/ref/%s.json", root, which);
  FILE *own = fopen(cfgpath, "r");
  if (own)
    fclose(own);
  else
    snprintf(cfgpath, sizeof cfgpath, "%s/configs/%s.json", root, which);
  /* the micro fixtures hold whole gradients too (grad_full.<P>) */
  const int micro = strncmp(which, "micro", 5) == 0;
  ds_tensor_set fx = {0};
  ds_model_config cfg;
  CHECK_OK(ds_tensor_file_read(path, &fx, &err), &err);
  CHECK_OK(ds_model_config_load(cfgpath, &cfg, &err), &err);
  if (err.code != DS_OK) return;

  ds_model m;
  ds_model_build(&m, &cfg);
  ds_tensor_set names = {0};
  CHECK_OK(ds_model_tensor_set(&m, "", &names, &err), &err);
  CHECK(names.data_count == m.param_floats, "tensor set mirrors the parameter buffer");
  /* the config's count (test_config) is what ds_model_build laid out (its
   * tensors, without the alignment padding between them); the out conv has
   * C + 1 outputs with decoder.mask */
  uint64_t laid_out = 0;
  for (int t = 0; t < names.count; t++)
    laid_out += names.tensors[t].count;
  CHECK((int64_t)laid_out == ds_model_param_count(&cfg, NULL, NULL),
        "%s: %llu parameters laid out, the config counts %lld", which, (unsigned long long)laid_out,
        (long long)ds_model_param_count(&cfg, NULL, NULL));
  char out_key[64];
  snprintf(out_key, sizeof out_key, "decoder.%s.out.bias", cfg.decoders[0]);
  const ds_tensor_info *out_bias = ds_tensor_set_find(&names, out_key);
  CHECK(out_bias && out_bias->count == (uint64_t)(cfg.input_channels + cfg.dec_mask),
        "%s: %s has C%s outputs", which, out_key, cfg.dec_mask ? " + 1" : "");
  float *p0 = malloc(m.param_floats * sizeof *p0);
  ds_model_init_params(&m, 1, p0);

  /* initial weights bit for bit */
  int init_ok = 1;
  for (int t = 0; t < names.count; t++) {
    char key[96];
    const ds_tensor_info *ti = &names.tensors[t];
    snprintf(key, sizeof key, "init.%s", ti->name);
    const ds_tensor_info *ft = ds_tensor_set_find(&fx, key);
    if (!ft) continue; /* decoder B is not in the fixture */
    size_t k = ti->count < 256 ? ti->count : 256;
    for (size_t j = 0; j < k; j++)
      if (p0[ti->offset + sample_index(j, ti->count, k)] != fx.data[ft->offset + j]) init_ok = 0;
  }
  CHECK(init_ok, "%s: initial weights differ from the reference", which);

  const unsigned n = 2;
  const size_t S = (size_t)cfg.input_size, count = n * S * S * cfg.input_channels;
  const float *x = fixture(&fx, "x", count), *target = fixture(&fx, "target", count);
  const float *out_ref = fixture(&fx, "output", count), *loss_ref = fixture(&fx, "loss", 1);
  const size_t pixels = n * S * S;
  const float *mask_target = NULL, *mask_ref = NULL, *mask_loss_ref = NULL, *weight_ref = NULL;
  if (cfg.dec_mask) {
    mask_target = fixture(&fx, "mask_target", pixels);
    mask_ref = fixture(&fx, "mask", pixels);
    mask_loss_ref = fixture(&fx, "mask_loss", 1);
    weight_ref = fixture(&fx, "meta.mask_weight", 1);
    if (!mask_target || !mask_ref || !mask_loss_ref || !weight_ref) return;
    CHECK(weight_ref[0] == cfg.mask_weight, "%s: the fixture's mask_weight %g, the config's %g",
          which, (double)weight_ref[0], (double)cfg.mask_weight);
  } else {
    CHECK(ds_tensor_set_find(&fx, "mask") == NULL, "%s: a mask in the fixture of a maskless config",
          which);
  }
  ds_runtime *rt = NULL;
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  CHECK_OK(ds_model_device_create(&m, rt, n, &err), &err);
  if (err.code != DS_OK || !x || !target || !out_ref || !loss_ref) {
    ds_runtime_destroy(rt);
    return;
  }
  CHECK_OK(ds_buffer_write(rt, m.params, 0, m.param_floats * 4, p0, &err), &err);
  cl_mem dx = upload(rt, x, count), dt = upload(rt, target, count), dmt = NULL;
  if (cfg.dec_mask) dmt = upload(rt, mask_target, pixels);

  const int A = ds_model_identity_index(&cfg, "A");
  const int strict = strcmp(which, "original") != 0;
  CHECK_OK(ds_model_forward(&m, A, dx, n, &err), &err);
  float *out = download(rt, ds_model_output(&m), count);
  double e = rel_err(out, out_ref, count);
  CHECK(e < 1e-4, "%s: forward output relative error %.3g", which, e);
  double loss = 0, mask_loss[DS_MAX_IDENTITIES] = {0};
  if (cfg.dec_mask) {
    float *mask = download(rt, ds_model_output_mask(&m), pixels);
    e = rel_err(mask, mask_ref, pixels);
    CHECK(e < 1e-4, "%s: forward mask relative error %.3g", which, e);
    free(mask);
    /* a step of a mask model without mask targets is refused, naming why */
    ds_status st = ds_model_loss(&m, A, dt, n, NULL, &err);
    CHECK(st == DS_ERR_INVALID, "%s: loss without mask targets: %s", which, ds_status_name(st));
    CHECK_CONTAINS(err.msg, "decoder.mask");
    ds_error_clear(&err);
    CHECK_OK(ds_model_set_mask_target(&m, dmt, &err), &err);
  } else {
    CHECK(ds_model_output_mask(&m) == NULL, "%s: no mask output", which);
    CHECK(ds_model_set_mask_target(&m, dt, &err) == DS_ERR_INVALID, "%s: mask targets refused",
          which);
    CHECK_CONTAINS(err.msg, "decoder.mask");
    ds_error_clear(&err);
    CHECK(ds_model_read_mask_losses(&m, 1, mask_loss, &err) == DS_ERR_INVALID, "%s: no mask losses",
          which);
    ds_error_clear(&err);
  }
  CHECK_OK(ds_model_loss(&m, A, dt, n, &loss, &err), &err);
  CHECK(fabs(loss - loss_ref[0]) <= 1e-4 * loss_ref[0], "%s: loss %.9g vs %.9g", which, loss,
        (double)loss_ref[0]);
  if (cfg.dec_mask) {
    CHECK_OK(ds_model_read_mask_losses(&m, A + 1, mask_loss, &err), &err);
    CHECK(fabs(mask_loss[A] - mask_loss_ref[0]) <= 1e-4 * mask_loss_ref[0],
          "%s: mask loss %.9g vs %.9g", which, mask_loss[A], (double)mask_loss_ref[0]);
  }
  CHECK_OK(ds_model_backward(&m, A, n, &err), &err);
  float *g = download(rt, m.grads, m.param_floats);

  int compared = 0;
  for (int t = 0; t < names.count; t++) {
    const ds_tensor_info *ti = &names.tensors[t];
    char key[96];
    snprintf(key, sizeof key, "grad.%s", ti->name);
    const ds_tensor_info *ft = ds_tensor_set_find(&fx, key);
    if (!ft) continue;
    compared++;
    compare_samples("gradient", ti->name, g + ti->offset, ti->count, fx.data + ft->offset, 1e-3,
                    1e-12, strict);
    snprintf(key, sizeof key, "grad_abs_sum.%s", ti->name);
    const float *abs_ref = fixture(&fx, key, 1);
    double sum = 0;
    for (size_t i = 0; i < ti->count; i++)
      sum += fabs(g[ti->offset + i]);
    if (abs_ref)
      CHECK(fabs(sum - abs_ref[0]) <= (strict ? 1e-3 : 1e-2) * abs_ref[0] + 1e-12,
            "%s: sum |grad| %.6g vs %.6g", ti->name, sum, (double)abs_ref[0]);
    snprintf(key, sizeof key, "grad_full.%s", ti->name);
    const float *full = micro ? fixture(&fx, key, ti->count) : NULL;
    if (full) {
      e = rel_err(g + ti->offset, full, ti->count);
      CHECK(e < 1e-3, "%s full gradient %s: %.3g", which, ti->name, e);
    }
  }
  CHECK(compared ==
            (m.enc_layers > 0 ? 2 * (cfg.enc_conv_count + 3 + cfg.dec_upscale_count + 1) : 0),
        "%s: compared %d gradient tensors", which, compared);

  /* three Adam steps on the same batch: the first from the gradients above */
  CHECK_OK(ds_model_adam(&m, A, &err), &err);
  for (int s = 0; s < 2; s++)
    CHECK_OK(ds_model_train_step(&m, A, dx, dt, n, NULL, &err), &err);
  float *p3 = download(rt, m.params, m.param_floats);
  float *delta = malloc(m.param_floats * sizeof *delta);
  for (size_t i = 0; i < m.param_floats; i++)
    delta[i] = p3[i] - p0[i];
  const int B = 1 - A;
  for (int t = 0; t < names.count; t++) {
    const ds_tensor_info *ti = &names.tensors[t];
    char key[96];
    snprintf(key, sizeof key, "adam3_delta.%s", ti->name);
    const ds_tensor_info *ft = ds_tensor_set_find(&fx, key);
    if (ft) /* p3 - p0 in float32 carries ~ulp(p) ~ 4e-9 of rounding */
      compare_samples("Adam delta", ti->name, delta + ti->offset, ti->count, fx.data + ft->offset,
                      2e-3, 1e-8, strict);
  }
  int untouched = 1;
  for (size_t i = m.dec_param_begin[B]; i < m.dec_param_end[B]; i++)
    if (delta[i] != 0.0f) untouched = 0;
  CHECK(untouched, "%s: decoder B changed during A's steps", which);
  CHECK(m.adam_step == 3, "three Adam steps counted");

  printf("%s: loss %.9g (reference %.9g)", which, loss, (double)loss_ref[0]);
  if (cfg.dec_mask)
    printf(", mask loss %.9g (reference %.9g)", mask_loss[A], (double)mask_loss_ref[0]);
  printf("\n");
  ds_buffer_release(&dx);
  ds_buffer_release(&dt);
  ds_buffer_release(&dmt);
  ds_model_device_destroy(&m);
  ds_runtime_destroy(rt);
  ds_tensor_set_free(&fx);
  ds_tensor_set_free(&names);
  free(p0), free(out), free(g), free(p3), free(delta);
}

/* A model that cannot fit is refused before any allocation, with the bytes
 * and a hint. */
static void out_of_memory(const char *root) {
  char path[1024];
  snprintf(path, sizeof path, "%s/configs/original.json", root);
  ds_model_config cfg;
  CHECK_OK(ds_model_config_load(path, &cfg, &err), &err);
  ds_model m;
  ds_model_build(&m, &cfg);
  ds_runtime *rt = NULL;
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (!rt) return;
  unsigned batch = 1;
  while (ds_model_device_bytes(&m, rt, batch) <= rt->device.global_mem_bytes && batch < (1u << 20))
    batch *= 2;
  ds_status st = ds_model_device_create(&m, rt, batch, &err);
  CHECK(st == DS_ERR_NO_MEMORY, "batch %u: %s", batch, ds_status_name(st));
  CHECK_CONTAINS(err.msg, "lowmem");
  CHECK_CONTAINS(err.msg, "--batch");
  CHECK_CONTAINS(err.msg, rt->device.name);
  CHECK(strchr(err.msg, '\n') == NULL, "one line");
  ds_error_clear(&err);
  ds_runtime_destroy(rt);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s REPO_ROOT FIXTURE...\n", argv[0]);
    return 2;
  }
  out_of_memory(argv[1]);
  for (int i = 2; i < argc; i++)
    run_fixture(argv[1], argv[i]);
  return check_summary("model_ref");
}
