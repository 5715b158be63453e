#include "engine/media/image_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Compares the digit runs starting at *pa and *pb by value, with no limit on
 * their length, and moves both pointers past them. */
static int compare_numbers(const char **pa, const char **pb) {
  const char *a = *pa, *b = *pb;
  while (*a == '0')
    a++;
  while (*b == '0')
    b++;
  size_t na = 0, nb = 0;
  while (is_digit(a[na]))
    na++;
  while (is_digit(b[nb]))
    nb++;
  *pa = a + na;
  *pb = b + nb;
  if (na != nb) return na < nb ? -1 : 1;
  return memcmp(a, b, na);
}

int ds_natural_compare(const char *a, const char *b) {
  const char *pa = a, *pb = b;
  while (*pa && *pb) {
    if (is_digit(*pa) && is_digit(*pb)) {
      int d = compare_numbers(&pa, &pb);
      if (d) return d;
    } else if (*pa != *pb) {
      return (unsigned char)*pa < (unsigned char)*pb ? -1 : 1;
    } else {
      pa++;
      pb++;
    }
  }
  if (*pa || *pb) return *pa ? 1 : -1;
  return strcmp(a, b);
}

static int compare_paths(const void *a, const void *b) {
  return ds_natural_compare(*(char *const *)a, *(char *const *)b);
}

static int is_image_name(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot || name[0] == '.') return 0;
  return strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
         strcasecmp(dot, ".jpeg") == 0;
}

void ds_image_dir_free(char **paths, int count) {
  if (!paths) return;
  for (int i = 0; i < count; i++)
    free(paths[i]);
  free(paths);
}

/* Appends "<dir>/<name>" when it names a regular file (or a link to one). */
static ds_status add_path(const char *dir, const char *name, char ***paths, int *count, int *cap,
                          ds_error *err) {
  size_t dlen = strlen(dir);
  int slash = dlen > 0 && dir[dlen - 1] != '/';
  char *path = malloc(dlen + (size_t)slash + strlen(name) + 1);
  if (!path) return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate its listing", dir);
  strcpy(path, dir);
  if (slash) strcat(path, "/");
  strcat(path, name);
  struct stat sb;
  if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    free(path);
    return DS_OK;
  }
  if (*count == *cap) {
    int cap2 = *cap ? *cap * 2 : 64;
    char **grown = realloc(*paths, (size_t)cap2 * sizeof *grown);
    if (!grown) {
      free(path);
      return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate its listing", dir);
    }
    *paths = grown;
    *cap = cap2;
  }
  (*paths)[(*count)++] = path;
  return DS_OK;
}

ds_status ds_image_dir_list(const char *dir, char ***paths, int *count, ds_error *err) {
  *paths = NULL;
  *count = 0;
  DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT)
      return ds_error_set(err, DS_ERR_NOT_FOUND, "%s: no such folder; check the path", dir);
    if (errno == ENOTDIR)
      return ds_error_set(err, DS_ERR_NOT_FOUND, "%s: not a folder; give the folder of images",
                          dir);
    return ds_error_set(err, DS_ERR_IO, "%s: cannot open the folder: %s", dir, strerror(errno));
  }
  char **list = NULL;
  int n = 0, cap = 0;
  ds_status st = DS_OK;
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) {
      if (errno)
        st = ds_error_set(err, DS_ERR_IO, "%s: cannot list the folder: %s", dir, strerror(errno));
      break;
    }
    if (is_image_name(e->d_name)) st = add_path(dir, e->d_name, &list, &n, &cap, err);
    if (st != DS_OK) break;
  }
  closedir(d);
  if (st != DS_OK) {
    ds_image_dir_free(list, n);
    return st;
  }
  if (n > 1) qsort(list, (size_t)n, sizeof *list, compare_paths);
  *paths = list;
  *count = n;
  return DS_OK;
}
