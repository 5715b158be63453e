/* The launcher's environment and the "key=value" comparison shared by both
 * ds_comm implementations (engine/dist/comm_env.h). */
#include "engine/dist/comm_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ds_comm_env_launched(void) {
  /* Open MPI's mpirun, MPICH's Hydra (and Slurm's pmi2), PMIx (srun
   * --mpi=pmix and Open MPI 5) */
  static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

int ds_comm_env_slurm_tasks(void) {
  const char *v = getenv("SLURM_NTASKS");
  return v ? atoi(v) : 0;
}

double ds_comm_env_timeout(void) {
  const char *v = getenv("DSENGINE_RANK_TIMEOUT");
  double t = v ? atof(v) : 0;
  return t > 0 ? t : 300.0;
}

/* line i of text: [*start, *start + *len), key length *klen; 0 past the end */
static int line_at(const char *text, int i, const char **start, size_t *len, size_t *klen) {
  const char *p = text;
  for (int k = 0; k < i && *p; k++) {
    const char *nl = strchr(p, '\n');
    if (!nl) return 0;
    p = nl + 1;
  }
  if (!*p) return 0;
  const char *nl = strchr(p, '\n');
  *start = p;
  *len = nl ? (size_t)(nl - p) : strlen(p);
  const char *eq = memchr(p, '=', *len);
  *klen = eq ? (size_t)(eq - p) : *len;
  return 1;
}

/* the line of text with this key, or -1 */
static int find_key(const char *text, const char *key, size_t klen, const char **s, size_t *len) {
  size_t kl;
  for (int i = 0; line_at(text, i, s, len, &kl); i++)
    if (kl == klen && memcmp(*s, key, klen) == 0) return i;
  return -1;
}

static void copy_key(const char *s, size_t klen, char *key, size_t cap) {
  snprintf(key, cap, "%.*s", (int)klen, s);
}

int ds_comm_env_first_difference(const char *root, const char *mine, char *key, size_t cap) {
  const char *s, *t;
  size_t len, klen, tlen;
  int i = 0;
  for (; line_at(root, i, &s, &len, &klen); i++)
    if (find_key(mine, s, klen, &t, &tlen) < 0 || tlen != len || memcmp(s, t, len) != 0) {
      copy_key(s, klen, key, cap);
      return i;
    }
  for (int j = 0; line_at(mine, j, &s, &len, &klen); j++)
    if (find_key(root, s, klen, &t, &tlen) < 0) {
      copy_key(s, klen, key, cap);
      return i + j;
    }
  return -1;
}

void ds_comm_env_key_at(const char *root, int index, char *key, size_t cap) {
  const char *s;
  size_t len, klen;
  if (line_at(root, index, &s, &len, &klen))
    copy_key(s, klen, key, cap);
  else
    snprintf(key, cap, "a setting rank 0 does not have");
}
