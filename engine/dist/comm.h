/* The processes of one training job and the collectives between them: MPI
 * ranks under mpirun/srun (engine/dist/comm_mpi.c), or a world of one when
 * the engine is built without MPI or started without a launcher
 * (engine/dist/comm_single.c). Every collective waits at most the rank
 * timeout; a rank that stops answering is named in the error instead of
 * hanging the others.
 *
 * Environment: DSENGINE_RANK_TIMEOUT  seconds a rank waits for the others in
 * one collective before it looks for the lost rank (default 300). */
#ifndef DS_ENGINE_DIST_COMM_H
#define DS_ENGINE_DIST_COMM_H

#include <stddef.h>

#include "core/error.h"

typedef struct ds_comm ds_comm;

/* Joins the job when a launcher started this process (mpirun, mpiexec,
 * srun); otherwise, or without MPI support, a world of one. Refuses a
 * world of one under Slurm with SLURM_NTASKS > 1 (an MPI without Slurm's
 * PMI support starts N unconnected copies). Free with ds_comm_destroy. */
ds_status ds_comm_create(ds_comm **out, int *argc, char ***argv, ds_error *err);
/* clean = 0 after a failure: leaves without MPI_Finalize, whose handshake
 * could wait for a lost rank, so the launcher ends the job. */
void ds_comm_destroy(ds_comm *c, int clean);

int ds_comm_rank(const ds_comm *c); /* 0 for NULL */
int ds_comm_size(const ds_comm *c); /* 1 for NULL */
/* The rank's index among the ranks on its machine, and their count. */
int ds_comm_local_rank(const ds_comm *c);
int ds_comm_local_size(const ds_comm *c);
/* "MPI (Open MPI 4.1.4), thread level funneled" or "single process". */
const char *ds_comm_describe(const ds_comm *c);

/* Compares "key=value" lines with rank 0's; a difference fails on every
 * rank, naming the first differing key and the rank that has it. */
ds_status ds_comm_check_same(ds_comm *c, const char *lines, ds_error *err);
/* Rank 0's bytes to every rank. */
ds_status ds_comm_broadcast(ds_comm *c, void *buf, size_t bytes, ds_error *err);
/* Element-wise sums over ranks, in place; every rank receives the same
 * values. */
ds_status ds_comm_sum_f32(ds_comm *c, float *buf, size_t n, ds_error *err);
ds_status ds_comm_sum_f64(ds_comm *c, double *buf, size_t n, ds_error *err);
/* The largest value over ranks, in place. */
ds_status ds_comm_max_int(ds_comm *c, int *v, ds_error *err);
/* all[r] = rank r's mine; all holds ds_comm_size ints. */
ds_status ds_comm_gather_int(ds_comm *c, int mine, int *all, ds_error *err);

#endif
