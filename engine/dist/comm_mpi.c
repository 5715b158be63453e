/* ds_comm over MPI (engine/dist/comm.h). Collectives are the non-blocking
 * MPI-3 ones, polled against the rank timeout, so a dead rank ends the job
 * with its number instead of a hang: on a timeout every survivor reports to
 * rank 0, which names the first rank it did not hear from. */
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/dist/comm.h"
#include "engine/dist/comm_env.h"

enum { TAG_ALIVE = 7101, TAG_VERDICT = 7102 };
/* elements per MPI call: counts are ints, and smaller pieces keep memory for
 * the MPI library's own staging bounded */
static const size_t CHUNK = (size_t)1 << 26;

struct ds_comm {
  int mpi; /* 0: a world of one, MPI never initialised */
  int rank, size, local_rank, local_size;
  MPI_Comm world;
  double timeout_s;
  char text[160];
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void nap(double s) {
  struct timespec ts = {0, (long)(s * 1e9)};
  nanosleep(&ts, NULL);
}

/* Polls req for up to limit seconds; 1 when it completed, 0 on timeout,
 * -1 with *rc set on an MPI error. MPI moves a non-blocking collective on
 * only inside MPI_Test (one fragment of a large message per call over
 * shared memory), so it spins as a blocking call would, yielding the core;
 * a nap between tests made a 300 MB all-reduce take 20 s instead of 0.3. */
static int poll_request(MPI_Request *req, double limit, int *rc) {
  const double t0 = now_s();
  for (unsigned spin = 1;; spin++) {
    int done = 0;
    *rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
    if (*rc != MPI_SUCCESS) return -1;
    if (done) return 1;
    if (spin % 1024 == 0 && now_s() - t0 > limit) return 0;
    sched_yield();
  }
}

/* After a timeout or an MPI error: which rank is gone? Survivors tell rank
 * 0 they are alive; rank 0 names the first rank that stays silent and tells
 * the survivors. Returns the lost rank (rank 0 when rank 0 is the one). */
static int find_lost_rank(ds_comm *c) {
  const double wait = c->timeout_s < 30 ? c->timeout_s : 30;
  int rc, lost = -1;
  if (c->rank != 0) {
    MPI_Request s, r;
    int me = c->rank;
    if (MPI_Isend(&me, 1, MPI_INT, 0, TAG_ALIVE, c->world, &s) != MPI_SUCCESS) return 0;
    if (MPI_Irecv(&lost, 1, MPI_INT, 0, TAG_VERDICT, c->world, &r) != MPI_SUCCESS) return 0;
    return poll_request(&r, 2 * wait, &rc) == 1 ? lost : 0;
  }
  int *heard = calloc((size_t)c->size, sizeof *heard);
  int *who = calloc((size_t)c->size, sizeof *who);
  MPI_Request *req = calloc((size_t)c->size, sizeof *req);
  if (!heard || !who || !req) {
    free(heard), free(who), free(req);
    return -1;
  }
  for (int k = 1; k < c->size; k++)
    if (MPI_Irecv(&who[k], 1, MPI_INT, k, TAG_ALIVE, c->world, &req[k]) != MPI_SUCCESS)
      req[k] = MPI_REQUEST_NULL;
  const double t0 = now_s();
  int missing = c->size - 1;
  while (missing > 0 && now_s() - t0 < wait) {
    missing = 0;
    for (int k = 1; k < c->size; k++) {
      int done = 0;
      if (!heard[k] && req[k] != MPI_REQUEST_NULL) MPI_Test(&req[k], &done, MPI_STATUS_IGNORE);
      if (done) heard[k] = 1;
      if (!heard[k]) missing++;
    }
    nap(1e-3);
  }
  for (int k = 1; k < c->size && lost < 0; k++)
    if (!heard[k]) lost = k;
  for (int k = 1; k < c->size; k++)
    if (heard[k]) {
      MPI_Request s;
      if (MPI_Isend(&lost, 1, MPI_INT, k, TAG_VERDICT, c->world, &s) == MPI_SUCCESS)
        poll_request(&s, 5, &rc);
    }
  free(heard), free(who), free(req);
  return lost;
}

static ds_status lost(ds_comm *c, const char *what, int mpi_rc, ds_error *err) {
  char why[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  if (mpi_rc != MPI_SUCCESS) MPI_Error_string(mpi_rc, why, &len);
  const int gone = find_lost_rank(c);
  if (gone < 0)
    return ds_error_set(err, DS_ERR_IO,
                        "rank %d of %d: %s timed out after %.0f s, yet every rank answers; raise "
                        "DSENGINE_RANK_TIMEOUT if a rank is just slow",
                        c->rank, c->size, what, c->timeout_s);
  return ds_error_set(err, DS_ERR_IO,
                      "rank %d of %d: lost rank %d during %s (%s); the job stops, the last "
                      "checkpoint stays as saved",
                      c->rank, c->size, gone, what,
                      mpi_rc != MPI_SUCCESS ? why : "no answer within DSENGINE_RANK_TIMEOUT");
}

/* Waits for a started collective; a failure or timeout names the lost rank. */
static ds_status finish(ds_comm *c, MPI_Request *req, int start_rc, const char *what,
                        ds_error *err) {
  int rc = start_rc;
  if (rc == MPI_SUCCESS) {
    int r = poll_request(req, c->timeout_s, &rc);
    if (r == 1) return DS_OK;
    if (r == 0) rc = MPI_SUCCESS;
  }
  return lost(c, what, rc, err);
}

ds_status ds_comm_create(ds_comm **out, int *argc, char ***argv, ds_error *err) {
  *out = NULL;
  ds_comm *c = calloc(1, sizeof *c);
  if (!c) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  c->size = c->local_size = 1;
  c->timeout_s = ds_comm_env_timeout();
  const int slurm_tasks = ds_comm_env_slurm_tasks();
  snprintf(c->text, sizeof c->text, "single process");
  if (!ds_comm_env_launched() && slurm_tasks <= 1) {
    *out = c;
    return DS_OK;
  }
  /* only the main thread calls MPI; device threads never do */
  int provided = MPI_THREAD_SINGLE;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    free(c);
    return ds_error_set(err, DS_ERR_IO,
                        "MPI_Init_thread failed; start dsengine with mpirun or srun, or "
                        "without a launcher for one process");
  }
  c->mpi = 1;
  MPI_Comm_dup(MPI_COMM_WORLD, &c->world);
  MPI_Comm_set_errhandler(c->world, MPI_ERRORS_RETURN);
  MPI_Comm_rank(c->world, &c->rank);
  MPI_Comm_size(c->world, &c->size);
  MPI_Comm node;
  if (MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node) ==
      MPI_SUCCESS) {
    MPI_Comm_rank(node, &c->local_rank);
    MPI_Comm_size(node, &c->local_size);
    MPI_Comm_free(&node);
  }
  char lib[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  int len = 0;
  MPI_Get_library_version(lib, &len);
  lib[strcspn(lib, ",\n")] = '\0';
  snprintf(c->text, sizeof c->text, "%d ranks, %.100s, thread level %s", c->size, lib,
           provided >= MPI_THREAD_FUNNELED ? "funneled" : "single");
  ds_status st = DS_OK;
  if (provided < MPI_THREAD_FUNNELED)
    st = ds_error_set(err, DS_ERR_INVALID,
                      "the MPI library grants thread level %d, below MPI_THREAD_FUNNELED that "
                      "dsengine's device threads need; use an MPI built with thread support",
                      provided);
  else if (slurm_tasks > 1 && c->size == 1)
    st = ds_error_set(err, DS_ERR_INVALID,
                      "SLURM_NTASKS=%d, yet MPI sees one rank: this MPI was not started through "
                      "Slurm's PMI, so each task would train alone; use srun --mpi=pmix (see "
                      "srun --mpi=list) with an MPI built with Slurm support, or mpirun inside "
                      "the allocation (unset SLURM_NTASKS to train in one process)",
                      slurm_tasks);
  if (st != DS_OK) {
    ds_comm_destroy(c, 1);
    return st;
  }
  *out = c;
  return DS_OK;
}

void ds_comm_destroy(ds_comm *c, int clean) {
  if (!c) return;
  if (c->mpi && clean) {
    MPI_Comm_free(&c->world);
    MPI_Finalize();
  }
  free(c);
}

int ds_comm_rank(const ds_comm *c) { return c ? c->rank : 0; }
int ds_comm_size(const ds_comm *c) { return c ? c->size : 1; }
int ds_comm_local_rank(const ds_comm *c) { return c ? c->local_rank : 0; }
int ds_comm_local_size(const ds_comm *c) { return c ? c->local_size : 1; }
const char *ds_comm_describe(const ds_comm *c) { return c ? c->text : "single process"; }

ds_status ds_comm_broadcast(ds_comm *c, void *buf, size_t bytes, ds_error *err) {
  if (ds_comm_size(c) == 1) return DS_OK;
  for (size_t off = 0; off < bytes; off += CHUNK) {
    const size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
    MPI_Request req;
    int rc = MPI_Ibcast((char *)buf + off, (int)n, MPI_BYTE, 0, c->world, &req);
    ds_status st = finish(c, &req, rc, "a broadcast from rank 0", err);
    if (st != DS_OK) return st;
  }
  return DS_OK;
}

static ds_status sum(ds_comm *c, void *buf, size_t n, MPI_Datatype type, size_t size, MPI_Op op,
                     const char *what, ds_error *err) {
  if (ds_comm_size(c) == 1) return DS_OK;
  for (size_t off = 0; off < n; off += CHUNK) {
    const size_t k = n - off < CHUNK ? n - off : CHUNK;
    MPI_Request req;
    int rc =
        MPI_Iallreduce(MPI_IN_PLACE, (char *)buf + off * size, (int)k, type, op, c->world, &req);
    ds_status st = finish(c, &req, rc, what, err);
    if (st != DS_OK) return st;
  }
  return DS_OK;
}

ds_status ds_comm_sum_f32(ds_comm *c, float *buf, size_t n, ds_error *err) {
  return sum(c, buf, n, MPI_FLOAT, sizeof *buf, MPI_SUM, "the gradient all-reduce", err);
}

ds_status ds_comm_sum_f64(ds_comm *c, double *buf, size_t n, ds_error *err) {
  return sum(c, buf, n, MPI_DOUBLE, sizeof *buf, MPI_SUM, "the loss all-reduce", err);
}

ds_status ds_comm_max_int(ds_comm *c, int *v, ds_error *err) {
  return sum(c, v, 1, MPI_INT, sizeof *v, MPI_MAX, "the step agreement", err);
}

ds_status ds_comm_gather_int(ds_comm *c, int mine, int *all, ds_error *err) {
  if (ds_comm_size(c) == 1) {
    all[0] = mine;
    return DS_OK;
  }
  MPI_Request req;
  int rc = MPI_Iallgather(&mine, 1, MPI_INT, all, 1, MPI_INT, c->world, &req);
  return finish(c, &req, rc, "the start-up exchange", err);
}

ds_status ds_comm_check_same(ds_comm *c, const char *lines, ds_error *err) {
  if (ds_comm_size(c) == 1) return DS_OK;
  int len = (int)strlen(lines) + 1;
  MPI_Request req;
  ds_status st = finish(c, &req, MPI_Ibcast(&len, 1, MPI_INT, 0, c->world, &req),
                        "the configuration check", err);
  char *root = st == DS_OK ? malloc((size_t)len) : NULL;
  if (st == DS_OK && !root) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  if (st == DS_OK && c->rank == 0) memcpy(root, lines, (size_t)len);
  if (st == DS_OK)
    st = finish(c, &req, MPI_Ibcast(root, len, MPI_CHAR, 0, c->world, &req),
                "the configuration check", err);
  if (st != DS_OK) {
    free(root);
    return st;
  }
  char key[256];
  int first = ds_comm_env_first_difference(root, lines, key, sizeof key);
  struct {
    int index, rank;
  } mine = {first < 0 ? 1 << 30 : first, c->rank}, best;
  st = finish(c, &req, MPI_Iallreduce(&mine, &best, 1, MPI_2INT, MPI_MINLOC, c->world, &req),
              "the configuration check", err);
  if (st == DS_OK && best.index != 1 << 30) {
    if (c->rank != best.rank) ds_comm_env_key_at(root, best.index, key, sizeof key);
    st = ds_error_set(err, DS_ERR_INVALID,
                      "rank %d: '%s' differs between rank 0 and rank %d; every rank must get the "
                      "same config, options and faces",
                      c->rank, key, best.rank);
  }
  free(root);
  return st;
}
