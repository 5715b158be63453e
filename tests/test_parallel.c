/* Data-parallel training (engine/train/parallel.h) against one device with
 * the whole batch: the first step's summed gradient within 1e-5 of the
 * largest gradient, every step's loss within 1e-5 relative, and after the
 * steps every replica of every rank holding the same weights and moments
 * bit for bit. Runs alone (devices of one process) or under mpirun (each
 * rank also computes the one-device reference on its first device).
 * usage: test_parallel CONFIG DEVICES BATCH ITERATIONS */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "engine/dist/comm.h"
#include "engine/train/parallel.h"
#include "host/buffer.h"

enum { FACE = 64, FACES = 24 };

static ds_error err;

/* what one trainer device holds besides its model */
typedef struct device_set {
  ds_runtime *rt;
  ds_model model;
  cl_mem faces[DS_MAX_IDENTITIES], warped, target;
  ds_augment_workspace ws;
} device_set;

static ds_status device_set_create(device_set *d, const char *spec, const ds_model_config *cfg,
                                   const ds_dataset *sets, unsigned batch, const float *init) {
  ds_status st = ds_runtime_open(&d->rt, spec, "--devices", 0, &err);
  if (st != DS_OK) return st;
  ds_model_build(&d->model, cfg);
  st = ds_model_device_create(&d->model, d->rt, batch, &err);
  for (int i = 0; st == DS_OK && i < cfg->decoder_count; i++)
    st = ds_dataset_upload(d->rt, &sets[i], &d->faces[i], &err);
  if (st == DS_OK) st = ds_augment_workspace_create(d->rt, (int)batch, FACE, &d->ws, &err);
  const size_t bytes = (size_t)batch * cfg->input_size * cfg->input_size * 3 * 4;
  if (st == DS_OK) st = ds_buffer_create(d->rt, bytes, CL_MEM_READ_WRITE, "w", &d->warped, &err);
  if (st == DS_OK) st = ds_buffer_create(d->rt, bytes, CL_MEM_READ_WRITE, "t", &d->target, &err);
  if (st == DS_OK)
    st = ds_buffer_write(d->rt, d->model.params, 0, d->model.param_floats * 4, init, &err);
  return st;
}

static void device_set_destroy(device_set *d) {
  for (int i = 0; i < DS_MAX_IDENTITIES; i++)
    ds_buffer_release(&d->faces[i]);
  ds_buffer_release(&d->warped);
  ds_buffer_release(&d->target);
  ds_augment_workspace_destroy(&d->ws);
  if (d->model.rt) ds_model_device_destroy(&d->model);
  ds_runtime_destroy(d->rt);
}

/* the trainer's draw: a partial Fisher-Yates shuffle and augmentation */
static void draw(ds_rng *rng, uint32_t *perm, int n, int out, int *idx, ds_augment_params *p) {
  const ds_augment_config aug = ds_augment_config_default();
  for (int j = 0; j < n; j++) {
    uint32_t k = (uint32_t)j + ds_rng_below(rng, FACES - (uint32_t)j), tmp = perm[j];
    perm[j] = perm[k];
    perm[k] = tmp;
    idx[j] = (int)perm[j];
    ds_augment_draw(rng, &aug, FACE, out, &p[j]);
  }
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: test_parallel CONFIG DEVICES BATCH ITERATIONS\n");
    return 2;
  }
  ds_comm *comm = NULL;
  if (ds_comm_create(&comm, &argc, &argv, &err) != DS_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  const int rank = ds_comm_rank(comm), batch = atoi(argv[3]), iterations = atoi(argv[4]);
  ds_model_config cfg;
  CHECK_OK(ds_model_config_load(argv[1], &cfg, &err), &err);
  cfg.batch = batch;
  const int ids = cfg.decoder_count, S = cfg.input_size;

  /* synthetic faces: smooth colour ramps, a different one per identity */
  ds_dataset sets[DS_MAX_IDENTITIES];
  memset(sets, 0, sizeof sets);
  for (int i = 0; i < ids; i++) {
    sets[i].count = FACES;
    sets[i].face_size = FACE;
    sets[i].pixels = malloc((size_t)FACES * FACE * FACE * 3);
    for (size_t e = 0; e < (size_t)FACES * FACE * FACE * 3; e++) {
      const size_t f = e / (FACE * FACE * 3), y = e / (FACE * 3) % FACE, x = e / 3 % FACE;
      sets[i].pixels[e] = (uint8_t)((x * (3 + i) + y * (1 + f % 5) + 40 * (e % 3) + 17 * f) % 256);
    }
  }

  ds_parallel *par = NULL;
  ds_status st = ds_parallel_create(&par, argv[2], comm, batch, &err);
  CHECK_OK(st, &err);
  if (st != DS_OK) return check_summary("parallel");
  ds_model layout;
  ds_model_build(&layout, &cfg);
  float *init = malloc(layout.param_floats * sizeof *init);
  ds_model_init_params(&layout, 7, init);

  device_set ref = {0}, rep0 = {0};
  const char *spec = ds_parallel_first_device(par);
  CHECK_OK(device_set_create(&ref, spec, &cfg, sets, (unsigned)batch, init), &err);
  CHECK_OK(
      device_set_create(&rep0, spec, &cfg, sets, (unsigned)ds_parallel_device_batch(par, 0), init),
      &err);
  CHECK_OK(ds_parallel_attach(par, rep0.rt, &rep0.model, rep0.faces, &rep0.ws, rep0.warped,
                              rep0.target, sets, ids, FACE, S, &err),
           &err);
  long long iteration = 0;
  ds_rng rng, rng_sync;
  ds_rng_seed(&rng, 7, 1);
  rng_sync = rng;
  CHECK_OK(ds_parallel_sync(par, &iteration, &rng_sync, &err), &err);
  printf("rank %d: %s\n", rank, ds_parallel_describe(par));

  uint32_t perm[FACES];
  for (int k = 0; k < FACES; k++)
    perm[k] = (uint32_t)k;
  int *idx = calloc((size_t)batch, sizeof *idx);
  ds_augment_params *params = calloc((size_t)batch, sizeof *params);
  const size_t P = layout.param_floats;
  float *g_ref = malloc(P * 4), *g_par = malloc(P * 4);
  double worst_loss = 0;
  for (int it = 0; check_failed == 0 && it < iterations; it++)
    for (int id = 0; id < ids; id++) {
      draw(&rng, perm, batch, S, idx, params);
      double l_ref = 0, l_par = 0;
      ds_model *m = &ref.model;
      st = ds_augment_batch(ref.rt, ref.faces[id], FACE, idx, params, batch, S, ref.warped,
                            ref.target, &ref.ws, &err);
      if (st == DS_OK) st = ds_model_forward(m, id, ref.warped, (unsigned)batch, &err);
      if (st == DS_OK) st = ds_model_loss(m, id, ref.target, (unsigned)batch, &l_ref, &err);
      if (st == DS_OK) st = ds_model_backward(m, id, (unsigned)batch, &err);
      if (st == DS_OK) st = ds_buffer_read(ref.rt, m->grads, 0, P * 4, g_ref, &err);
      if (st == DS_OK) st = ds_model_adam(m, id, &err);
      CHECK_OK(st, &err);
      CHECK_OK(ds_parallel_step(par, id, idx, params, &l_par, &err), &err);
      const double rel = fabs(l_par - l_ref) / fabs(l_ref);
      if (rel > worst_loss) worst_loss = rel;
      CHECK(rel <= 1e-5, "rank %d iteration %d identity %d: loss %.9g, one device %.9g", rank,
            it + 1, id, l_par, l_ref);
      if (it > 0 || id > 0) continue;
      /* the summed gradient stays in replica 0's buffer after Adam */
      CHECK_OK(ds_buffer_read(rep0.rt, rep0.model.grads, 0, P * 4, g_par, &err), &err);
      double big = 0, diff = 0;
      const size_t ranges[2][2] = {{0, layout.enc_param_end},
                                   {layout.dec_param_begin[0], layout.dec_param_end[0]}};
      for (int r = 0; r < 2; r++)
        for (size_t i = ranges[r][0]; i < ranges[r][1]; i++) {
          if (fabs(g_ref[i]) > big) big = fabs(g_ref[i]);
          if (fabs(g_par[i] - g_ref[i]) > diff) diff = fabs(g_par[i] - g_ref[i]);
        }
      printf("rank %d: first step gradient (%d buckets) max |diff| %.3g, max |g| %.3g (%.2g)\n",
             rank, par->buckets, diff, big, diff / big);
      CHECK(big > 0 && diff <= 1e-5 * big, "first step gradient differs by %g of max %g", diff,
            big);
    }
  printf("rank %d: worst loss difference %.3g relative\n", rank, worst_loss);

  /* every replica of this process bit for bit, then every rank's (verify) */
  float *a = malloc(P * 4), *b = malloc(P * 4);
  CHECK_OK(ds_buffer_read(par->rep[0].rt, par->rep[0].model->params, 0, P * 4, a, &err), &err);
  for (int k = 1; k < par->count; k++) {
    CHECK_OK(ds_buffer_read(par->rep[k].rt, par->rep[k].model->params, 0, P * 4, b, &err), &err);
    CHECK(memcmp(a, b, P * 4) == 0, "rank %d: replica %d's weights differ from replica 0's", rank,
          k);
  }
  int resynced = -1;
  CHECK_OK(ds_parallel_verify(par, &resynced, &err), &err);
  CHECK(resynced == 0, "rank %d: replicas of some rank drifted apart", rank);
  CHECK(iteration == 0, "sync changed the iteration");

  free(a), free(b), free(g_ref), free(g_par), free(idx), free(params), free(init);
  ds_parallel_destroy(par);
  device_set_destroy(&rep0);
  device_set_destroy(&ref);
  for (int i = 0; i < ids; i++)
    free(sets[i].pixels);
  const int rc = check_summary("parallel");
  ds_comm_destroy(comm, rc == 0);
  return rc;
}
