/* ds_comm for a build without MPI (engine/dist/comm.h): a world of one. A
 * launcher's environment is refused, since its copies would each train
 * alone and overwrite each other's checkpoints. */
#include <stdlib.h>

#include "engine/dist/comm.h"
#include "engine/dist/comm_env.h"

struct ds_comm {
  int unused;
};

ds_status ds_comm_create(ds_comm **out, int *argc, char ***argv, ds_error *err) {
  *out = NULL;
  const int tasks = ds_comm_env_slurm_tasks();
  if (tasks > 1 || ds_comm_env_launched())
    return ds_error_set(err, DS_ERR_INVALID,
                        "started by an MPI launcher%s, but this dsengine was built without MPI, "
                        "so every copy would train alone; install libopenmpi-dev and rebuild "
                        "(cmake -DDSENGINE_MPI=on), or run a single process (unset SLURM_NTASKS)",
                        tasks > 1 ? " (SLURM_NTASKS > 1)" : "");
  *out = calloc(1, sizeof **out);
  return *out ? DS_OK : ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
}

void ds_comm_destroy(ds_comm *c, int clean) { free(c); }
int ds_comm_rank(const ds_comm *c) { return 0; }
int ds_comm_size(const ds_comm *c) { return 1; }
int ds_comm_local_rank(const ds_comm *c) { return 0; }
int ds_comm_local_size(const ds_comm *c) { return 1; }
const char *ds_comm_describe(const ds_comm *c) { return "single process (built without MPI)"; }
ds_status ds_comm_check_same(ds_comm *c, const char *lines, ds_error *err) { return DS_OK; }
ds_status ds_comm_broadcast(ds_comm *c, void *buf, size_t bytes, ds_error *err) { return DS_OK; }
ds_status ds_comm_sum_f32(ds_comm *c, float *buf, size_t n, ds_error *err) { return DS_OK; }
ds_status ds_comm_sum_f64(ds_comm *c, double *buf, size_t n, ds_error *err) { return DS_OK; }
ds_status ds_comm_max_int(ds_comm *c, int *v, ds_error *err) { return DS_OK; }
ds_status ds_comm_gather_int(ds_comm *c, int mine, int *all, ds_error *err) {
  all[0] = mine;
  return DS_OK;
}
