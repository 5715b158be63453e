/* What both ds_comm implementations share: the launcher's environment and
 * the key-by-key comparison of ds_comm_check_same's "key=value" lines. */
#ifndef DS_ENGINE_DIST_COMM_ENV_H
#define DS_ENGINE_DIST_COMM_ENV_H

#include <stddef.h>

/* 1 when mpirun, mpiexec (Hydra) or srun with PMI/PMIx started us. */
int ds_comm_env_launched(void);
/* SLURM_NTASKS, 0 when unset. */
int ds_comm_env_slurm_tasks(void);
/* DSENGINE_RANK_TIMEOUT in seconds (default 300). */
double ds_comm_env_timeout(void);

/* The index of rank 0's first line whose key is missing from mine or has
 * another value there (key receives it), else, past rank 0's lines, the
 * first key only mine has; -1 when both hold the same. */
int ds_comm_env_first_difference(const char *root, const char *mine, char *key, size_t cap);
/* The key of rank 0's line at index (from ds_comm_env_first_difference). */
void ds_comm_env_key_at(const char *root, int index, char *key, size_t cap);

#endif
