/* Whole-or-nothing file writes and their temporary files (core/atomic_file.h). */
#include "core/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ds_status ds_atomic_write_failed(const char *path, int errnum, ds_error *err) {
  return ds_error_set(err, DS_ERR_IO,
                      "cannot write %s: %s (check that its folder exists, is writable and has "
                      "free space)",
                      path, strerror(errnum ? errnum : EIO));
}

ds_status ds_atomic_open(ds_atomic_file *af, const char *path, ds_error *err) {
  size_t cap = strlen(path) + sizeof DS_ATOMIC_TMP_TAG + 24;
  af->path = path;
  af->f = NULL;
  af->tmp = malloc(cap);
  if (!af->tmp) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory writing %s", path);
  snprintf(af->tmp, cap, "%s" DS_ATOMIC_TMP_TAG "%ld", path, (long)getpid());
  af->f = fopen(af->tmp, "wb");
  if (!af->f) {
    int e = errno;
    free(af->tmp);
    af->tmp = NULL;
    return ds_atomic_write_failed(path, e, err);
  }
  return DS_OK;
}

void ds_atomic_abort(ds_atomic_file *af) {
  if (af->f) fclose(af->f);
  if (af->tmp) unlink(af->tmp);
  free(af->tmp);
  af->f = NULL;
  af->tmp = NULL;
}

/* The rename is durable only once the folder entry is on disk. */
static int fsync_parent(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  if (!dir) return -1;
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  free(dir);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  /* Some file systems cannot sync a folder; the rename is then as durable as they allow. */
  if (rc != 0 && (errno == EINVAL || errno == ENOTSUP)) rc = 0;
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

ds_status ds_atomic_commit(ds_atomic_file *af, ds_error *err) {
  int ok = fflush(af->f) == 0 && fsync(fileno(af->f)) == 0;
  int e = errno;
  if (fclose(af->f) != 0 && ok) {
    ok = 0;
    e = errno;
  }
  af->f = NULL;
  if (ok && rename(af->tmp, af->path) != 0) {
    ok = 0;
    e = errno;
  }
  if (!ok) {
    ds_atomic_abort(af);
    return ds_atomic_write_failed(af->path, e, err);
  }
  free(af->tmp);
  af->tmp = NULL;
  if (fsync_parent(af->path) != 0) return ds_atomic_write_failed(af->path, errno, err);
  return DS_OK;
}

ds_status ds_file_write_atomic(const char *path, const void *data, size_t n, ds_error *err) {
  ds_atomic_file af;
  ds_status st = ds_atomic_open(&af, path, err);
  if (st != DS_OK) return st;
  if (n && fwrite(data, 1, n, af.f) != n) {
    int e = errno;
    ds_atomic_abort(&af);
    return ds_atomic_write_failed(path, e, err);
  }
  return ds_atomic_commit(&af, err);
}

int ds_atomic_is_temporary(const char *name, long *pid) {
  const char *tag = NULL;
  /* the last tag: a path may itself hold ".tmp-" */
  for (const char *p = strstr(name, DS_ATOMIC_TMP_TAG); p; p = strstr(p + 1, DS_ATOMIC_TMP_TAG))
    tag = p;
  if (!tag || tag == name) return 0;
  const char *digits = tag + strlen(DS_ATOMIC_TMP_TAG);
  if (*digits < '1' || *digits > '9') return 0;
  char *end;
  errno = 0;
  long v = strtol(digits, &end, 10);
  if (*end != '\0' || errno != 0 || v <= 0) return 0;
  if (pid) *pid = v;
  return 1;
}

static int writer_alive(long pid) {
  if (pid == (long)getpid()) return 0;
  return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int ds_atomic_remove_stale(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int removed = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    long pid;
    if (!ds_atomic_is_temporary(de->d_name, &pid) || writer_alive(pid)) continue;
    size_t n = strlen(dir) + strlen(de->d_name) + 2;
    char *path = malloc(n);
    if (!path) break;
    snprintf(path, n, "%s/%s", dir, de->d_name);
    if (unlink(path) == 0) removed++;
    free(path);
  }
  closedir(d);
  return removed;
}

ds_status ds_make_dirs(const char *dir, const char *what, ds_error *err) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) break;
    *p = '/';
  }
  struct stat sb;
  int e = 0;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    e = errno;
  else if (stat(dir, &sb) != 0)
    e = errno;
  else if (!S_ISDIR(sb.st_mode))
    e = ENOTDIR;
  if (e) return ds_error_set(err, DS_ERR_IO, "cannot create the %s %s: %s", what, dir, strerror(e));
  return DS_OK;
}
