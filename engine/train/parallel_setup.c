/* Which devices a process trains on and how the global batch is shared
 * (engine/train/parallel.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hash.h"
#include "engine/train/parallel.h"
#include "engine/train/trainer.h"

static int is_gpu(const ds_device_desc *d) {
  return d->kind == DS_KIND_DISCRETE_GPU || d->kind == DS_KIND_INTEGRATED_GPU ||
         d->kind == DS_KIND_ACCELERATOR;
}

/* Two ranks on one machine must not share a GPU (each would hold a
 * replica and run at half speed): every rank's host name hash and GPU
 * indices (below 31) go to all, and a pair on one host with a common GPU
 * is refused, naming both. CPU devices may be shared. */
static ds_status check_shared_gpus(ds_parallel *p, ds_error *err) {
  const int world = ds_comm_size(p->comm);
  if (world == 1) return DS_OK;
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  int mask = 0;
  for (int k = 0; k < p->count; k++)
    if (is_gpu(&p->devices[k]) && p->devices[k].index < 31) mask |= 1 << p->devices[k].index;
  int *hosts = calloc((size_t)world, sizeof *hosts), *masks = calloc((size_t)world, sizeof *masks);
  ds_status st = hosts && masks ? DS_OK : ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  if (st == DS_OK)
    st = ds_comm_gather_int(p->comm, (int)(ds_fnv64(DS_FNV64_INIT, host, strlen(host)) >> 33),
                            hosts, err);
  if (st == DS_OK) st = ds_comm_gather_int(p->comm, mask, masks, err);
  for (int a = 0; st == DS_OK && a < world; a++)
    for (int b = a + 1; st == DS_OK && b < world; b++)
      if (hosts[a] == hosts[b] && (masks[a] & masks[b]))
        st = ds_error_set(err, DS_ERR_INVALID,
                          "ranks %d and %d on one machine both train on GPU #%d; give each rank "
                          "its own GPUs (--devices auto: one GPU per rank), or run one rank per "
                          "machine with --devices all",
                          a, b, __builtin_ctz((unsigned)(masks[a] & masks[b])));
  free(hosts);
  free(masks);
  return st;
}

/* GPUs and accelerators, else every device; listing order, so that every
 * rank and run agree */
static int candidates(const ds_device_list *l, int *out) {
  int n = 0;
  for (int i = 0; i < l->count; i++)
    if (is_gpu(&l->items[i])) out[n++] = i;
  if (n == 0)
    for (int i = 0; i < l->count && n < DS_MAX_REPLICAS; i++)
      out[n++] = i;
  return n > DS_MAX_REPLICAS ? DS_MAX_REPLICAS : n;
}

static ds_status pick(ds_parallel *p, const ds_device_list *l, const char *devices, ds_error *err) {
  int cand[256], n = candidates(l, cand);
  const int world = ds_comm_size(p->comm);
  if (n == 0) return ds_error_set(err, DS_ERR_NOT_FOUND, "--devices: no OpenCL device found");
  if (!devices || strcmp(devices, "auto") == 0) {
    if (world == 1) {
      /* every GPU; on a machine without one, the best device alone */
      if (!is_gpu(&l->items[cand[0]])) {
        int best = 0;
        for (int i = 1; i < n; i++)
          if (ds_device_rank_compare(&l->items[cand[i]], &l->items[cand[best]]) < 0) best = i;
        cand[0] = cand[best];
        n = 1;
      }
      for (int i = 0; i < n; i++)
        p->devices[p->count++] = l->items[cand[i]];
      return DS_OK;
    }
    /* one device per rank: the rank's index within its machine; a single
     * visible GPU is this rank's (CUDA_VISIBLE_DEVICES, Slurm's
     * --gpus-per-task); CPU devices may be shared */
    const int local = ds_comm_local_rank(p->comm), locals = ds_comm_local_size(p->comm);
    if (n > 1 && local >= n && is_gpu(&l->items[cand[0]]))
      return ds_error_set(err, DS_ERR_INVALID,
                          "--devices auto: %d ranks on this machine but %d GPUs; start one rank "
                          "per GPU (mpirun -np %d) or give each rank --devices LIST",
                          locals, n, n);
    p->devices[p->count++] = l->items[cand[n == 1 ? 0 : local % n]];
    return DS_OK;
  }
  if (strcmp(devices, "all") == 0) {
    for (int i = 0; i < n; i++)
      p->devices[p->count++] = l->items[cand[i]];
    return DS_OK;
  }
  char *copy = strdup(devices);
  if (!copy) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  ds_status st = DS_OK;
  char *save = NULL;
  for (char *s = strtok_r(copy, ",", &save); st == DS_OK && s; s = strtok_r(NULL, ",", &save)) {
    int idx = 0;
    st = ds_device_select(l->items, l->count, s, "--devices", &idx, err);
    for (int k = 0; st == DS_OK && k < p->count; k++)
      if (p->devices[k].index == l->items[idx].index)
        st = ds_error_set(err, DS_ERR_INVALID,
                          "--devices %s names device #%d (%s) twice; list each device once",
                          devices, l->items[idx].index, l->items[idx].name);
    if (st == DS_OK && p->count == DS_MAX_REPLICAS)
      st = ds_error_set(err, DS_ERR_INVALID, "--devices: at most %d devices", DS_MAX_REPLICAS);
    if (st == DS_OK) p->devices[p->count++] = l->items[idx];
  }
  free(copy);
  if (st == DS_OK && p->count == 0)
    st = ds_error_set(err, DS_ERR_INVALID, "--devices needs auto, all or a comma list of devices");
  return st;
}

ds_status ds_parallel_create(ds_parallel **out, const char *devices, ds_comm *comm,
                             int global_batch, ds_error *err) {
  *out = NULL;
  ds_parallel *p = calloc(1, sizeof *p);
  if (!p) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  p->comm = comm;
  p->global_batch = global_batch;
  pthread_mutex_init(&p->lock, NULL);
  pthread_mutex_init(&p->build_lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  ds_device_list list;
  ds_status st = ds_devices_discover(&list, err);
  if (st != DS_OK) {
    ds_parallel_destroy(p);
    return st;
  }
  st = pick(p, &list, devices, err);
  ds_device_list_free(&list);

  if (st == DS_OK) st = check_shared_gpus(p, err);
  /* every rank's replica count: replica k of all ranks takes share k */
  const int world = ds_comm_size(comm), rank = ds_comm_rank(comm);
  int *counts = calloc((size_t)world, sizeof *counts);
  if (st == DS_OK && !counts) st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  if (st == DS_OK) st = ds_comm_gather_int(comm, p->count, counts, err);
  int before = 0;
  for (int r = 0; st == DS_OK && r < world; r++) {
    if (r < rank) before += counts[r];
    p->total += counts[r];
  }
  if (st == DS_OK && global_batch < p->total)
    st = ds_error_set(err, DS_ERR_INVALID,
                      "--batch %d is smaller than the %d replicas (devices x ranks); give a "
                      "batch of at least %d",
                      global_batch, p->total, p->total);
  free(counts);
  /* equal shares; the first global_batch % total replicas take one more */
  const int base = p->total ? global_batch / p->total : 0,
            extra = p->total ? global_batch % p->total : 0;
  for (int k = 0; st == DS_OK && k < p->count; k++) {
    const int g = before + k;
    p->rep[k].owner = p;
    p->rep[k].count = base + (g < extra);
    p->rep[k].first = g * base + (g < extra ? g : extra);
  }
  if (st == DS_OK) {
    snprintf(p->first_spec, sizeof p->first_spec, "%d", p->devices[0].index);
    int n = snprintf(p->text, sizeof p->text, "%d replica%s (", p->total, p->total == 1 ? "" : "s");
    if (world > 1) n += snprintf(p->text + n, sizeof p->text - (size_t)n, "rank %d: ", rank);
    for (int k = 0; k < p->count && n > 0 && (size_t)n < sizeof p->text; k++)
      n += snprintf(p->text + n, sizeof p->text - (size_t)n, "%s#%d %s x %d", k ? ", " : "",
                    p->devices[k].index, p->devices[k].name, p->rep[k].count);
    if (n > 0 && (size_t)n < sizeof p->text)
      snprintf(p->text + n, sizeof p->text - (size_t)n, "; %s)", ds_comm_describe(comm));
  }
  if (st != DS_OK) {
    ds_parallel_destroy(p);
    return st;
  }
  *out = p;
  return DS_OK;
}

const char *ds_parallel_first_device(const ds_parallel *p) { return p->first_spec; }

int ds_parallel_share(const ds_parallel *p) {
  int most = 0;
  for (int k = 0; k < p->count; k++)
    if (p->rep[k].count > most) most = p->rep[k].count;
  return most;
}

int ds_parallel_is_root(const ds_parallel *p) { return ds_comm_rank(p->comm) == 0; }

const char *ds_parallel_describe(const ds_parallel *p) { return p->text; }

int ds_parallel_device_batch(const ds_parallel *p, int preview) {
  const int share = ds_parallel_share(p);
  if (preview > p->global_batch) preview = p->global_batch;
  return share > preview ? share : preview;
}

/* "config.encoder.conv=[32,64,128]" lines, one per leaf or array */
static void flatten(const cJSON *o, const char *prefix, char **buf, size_t *len, size_t *cap) {
  for (const cJSON *c = o->child; c; c = c->next) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", prefix, c->string ? c->string : "?");
    if (cJSON_IsObject(c)) {
      flatten(c, key, buf, len, cap);
      continue;
    }
    char *value = cJSON_PrintUnformatted(c);
    const size_t need = strlen(key) + (value ? strlen(value) : 0) + 3;
    if (*buf && *len + need >= *cap) {
      char *grown = realloc(*buf, 2 * *cap + need);
      if (!grown) {
        free(*buf);
        *buf = NULL;
      } else {
        *buf = grown;
        *cap = 2 * *cap + need;
      }
    }
    if (*buf) *len += (size_t)sprintf(*buf + *len, "%s=%s\n", key, value ? value : "");
    free(value);
  }
}

ds_status ds_parallel_check_config(ds_parallel *p, const char *config_json, const char *lines,
                                   ds_error *err) {
  cJSON *cfg = cJSON_Parse(config_json);
  size_t len = 0, cap = 4096 + strlen(lines);
  char *buf = malloc(cap);
  if (buf) buf[0] = '\0';
  if (cfg && buf) flatten(cfg, "config", &buf, &len, &cap);
  cJSON_Delete(cfg);
  if (!cfg || !buf) {
    free(buf);
    return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  }
  char *all = malloc(len + strlen(lines) + 1);
  ds_status st = all ? DS_OK : ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  if (all) {
    memcpy(all, buf, len);
    strcpy(all + len, lines);
    st = ds_comm_check_same(p->comm, all, err);
  }
  free(all);
  free(buf);
  return st;
}

ds_status ds_parallel_begin(ds_parallel **out, const ds_train_options *o,
                            const ds_model_config *cfg, const ds_dataset *sets,
                            long long resume_iteration, ds_error *err) {
  ds_status st = ds_parallel_create(out, o->devices, o->comm, cfg->batch, err);
  if (st != DS_OK) return st;
  char lines[2048];
  int n = snprintf(lines, sizeof lines,
                   "batch=%d\nseed=%llu\nno_warp=%d\nno_flip=%d\niterations=%lld\nminutes=%g\n"
                   "save_every=%d\npreview_every=%d\nresume_iteration=%lld\n",
                   cfg->batch, (unsigned long long)o->seed, o->no_warp, o->no_flip, o->iterations,
                   o->minutes, o->save_every, o->preview_every, resume_iteration);
  for (int i = 0; i < cfg->decoder_count && n > 0 && (size_t)n < sizeof lines; i++)
    n += snprintf(lines + n, sizeof lines - (size_t)n, "faces.%s=%d:%016llx\n", cfg->decoders[i],
                  sets[i].count, (unsigned long long)ds_dataset_fingerprint(&sets[i]));
  char *json = ds_model_config_to_json(cfg);
  st = json ? ds_parallel_check_config(*out, json, lines, err)
            : ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  free(json);
  return st;
}
