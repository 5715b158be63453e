/* The training monitor's HTTP server on libmicrohttpd (server.h). */
#define _GNU_SOURCE /* syscall(SYS_gettid), to lower the server thread's priority */
#include "engine/monitor/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine/monitor/assets.h"

/* a preview grid of the largest model stays far below this */
#define FILE_MAX_BYTES ((off_t)64 << 20)

/* A file of the model folder served under a fixed route, re-read when it
 * changes. Only the server's one thread touches it. */
typedef struct served_file {
  char path[1100];
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  struct MHD_Response *response;
} served_file;

typedef enum route_kind { ROUTE_ASSET, ROUTE_STATUS, ROUTE_LOSS, ROUTE_FILE } route_kind;

typedef struct route {
  const char *url;
  route_kind kind;
  const char *asset; /* ROUTE_ASSET: name in ds_monitor_assets; ROUTE_FILE: file name */
} route;

static const route routes[] = {
    {"/", ROUTE_ASSET, "index.html"},
    {"/monitor.js", ROUTE_ASSET, "monitor.js"},
    {"/monitor.css", ROUTE_ASSET, "monitor.css"},
    {"/status.json", ROUTE_STATUS, NULL},
    {"/loss.json", ROUTE_LOSS, NULL},
    {"/preview.png", ROUTE_FILE, "preview.png"},
    {"/loss.png", ROUTE_FILE, "loss.png"},
    {"/favicon.svg", ROUTE_ASSET, "favicon.svg"},
};
enum { ROUTE_COUNT = sizeof routes / sizeof routes[0] };

struct ds_monitor_server {
  struct MHD_Daemon *daemon;
  ds_train_feed *feed;
  char url[128];
  struct MHD_Response *assets[ROUTE_COUNT]; /* ROUTE_ASSET answers, made once */
  served_file files[ROUTE_COUNT];
  double tokens, last_request; /* throttle() */
};

static const char *content_type(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot) return "application/octet-stream";
  if (strcmp(dot, ".html") == 0) return "text/html; charset=utf-8";
  if (strcmp(dot, ".js") == 0) return "text/javascript; charset=utf-8";
  if (strcmp(dot, ".css") == 0) return "text/css; charset=utf-8";
  if (strcmp(dot, ".json") == 0) return "application/json";
  if (strcmp(dot, ".png") == 0) return "image/png";
  if (strcmp(dot, ".svg") == 0) return "image/svg+xml";
  return "application/octet-stream";
}

/* Headers of every answer: the page may load only its own scripts, styles
 * and images, and never be framed. */
static void add_headers(struct MHD_Response *r, const char *type, int cacheable) {
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cacheable ? "max-age=60" : "no-store");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "X-Frame-Options", "DENY");
  MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY,
                          "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self'; connect-src 'self'; frame-ancestors 'none'");
}

static enum MHD_Result answer_text(struct MHD_Connection *c, unsigned code, const char *type,
                                   char *body) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(body);
    return MHD_NO;
  }
  add_headers(r, type, 0);
  enum MHD_Result ok = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return ok;
}

static enum MHD_Result answer_error(struct MHD_Connection *c, unsigned code, const char *what) {
  char *body = strdup(what);
  return body ? answer_text(c, code, "text/plain; charset=utf-8", body) : MHD_NO;
}

/* The current content of a served file: re-read when its identity, size or
 * time changed (the trainer replaces it by rename, so a read sees a whole
 * file). NULL when it does not exist yet. */
static struct MHD_Response *file_response(served_file *f) {
  int fd = open(f->path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > FILE_MAX_BYTES) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  if (f->response && sb.st_dev == f->dev && sb.st_ino == f->ino && sb.st_size == f->size &&
      sb.st_mtim.tv_sec == f->mtime.tv_sec && sb.st_mtim.tv_nsec == f->mtime.tv_nsec) {
    close(fd);
    return f->response;
  }
  size_t n = (size_t)sb.st_size, got = 0;
  char *data = malloc(n ? n : 1);
  while (data && got < n) {
    ssize_t k = read(fd, data + got, n - got);
    if (k <= 0) break;
    got += (size_t)k;
  }
  close(fd);
  if (!data || got != n) {
    free(data);
    return f->response; /* the previous content, if any */
  }
  struct MHD_Response *r = MHD_create_response_from_buffer(n, data, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(data);
    return f->response;
  }
  add_headers(r, content_type(f->path), 0);
  if (f->response) MHD_destroy_response(f->response); /* queued answers hold their own reference */
  f->response = r;
  f->dev = sb.st_dev;
  f->ino = sb.st_ino;
  f->size = sb.st_size;
  f->mtime = sb.st_mtim;
  return r;
}

/* URLs stay as sent: every route is plain ASCII, so "%2e%2e" or "%00" never
 * turn into something that could match one (or a file name). */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s) {
  (void)cls;
  (void)c;
  return strlen(s);
}

/* The trainer's threads come first: the server thread runs at the lowest
 * nice level (Linux applies setpriority to a thread id). Not SCHED_IDLE: on a
 * CPU device that training keeps busy, the page would hardly ever load. */
static void lower_priority_once(void) {
  static _Thread_local int done;
  if (done) return;
  done = 1;
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
}

/* At most DS_MONITOR_MAX_RATE answers a second (bursts of a tenth of that):
 * past it the server thread sleeps, so a client asking flat out gets slower
 * answers instead of the CPU time training needs. Only the server's one
 * thread calls it. */
static void throttle(ds_monitor_server *s) {
  const double rate = DS_MONITOR_MAX_RATE, burst = DS_MONITOR_MAX_RATE / 10.0;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const double t = (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
  s->tokens = s->last_request > 0 ? s->tokens + (t - s->last_request) * rate : burst;
  if (s->tokens > burst) s->tokens = burst;
  s->last_request = t;
  s->tokens -= 1.0;
  if (s->tokens < 0) {
    const double wait = -s->tokens / rate;
    struct timespec nap = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
    nanosleep(&nap, NULL);
  }
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls) {
  ds_monitor_server *s = cls;
  lower_priority_once();
  if (*con_cls == NULL) throttle(s);
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return answer_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
  /* a GET with a body is refused rather than read */
  const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
  if (*upload_size != 0 || (length && strcmp(length, "0") != 0) ||
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding"))
    return answer_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "no request bodies\n");
  /* answer on the second call, once the request is complete: an answer
   * queued on the first would make libmicrohttpd close the connection */
  if (*con_cls == NULL) {
    *con_cls = s;
    return MHD_YES;
  }
  int k = 0;
  while (k < ROUTE_COUNT && strcmp(url, routes[k].url) != 0)
    k++;
  if (k == ROUTE_COUNT) return answer_error(c, MHD_HTTP_NOT_FOUND, "not found\n");
  switch (routes[k].kind) {
  case ROUTE_ASSET: return MHD_queue_response(c, MHD_HTTP_OK, s->assets[k]);
  case ROUTE_STATUS: {
    char *body = ds_train_feed_status_json(s->feed);
    return body ? answer_text(c, MHD_HTTP_OK, "application/json", body)
                : answer_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
  }
  case ROUTE_LOSS: {
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
    long long since = -1;
    if (v) {
      char *end;
      errno = 0;
      since = strtoll(v, &end, 10);
      if (!*v || *end || errno || since < -1)
        return answer_error(c, MHD_HTTP_BAD_REQUEST, "since must be an iteration (-1 for all)\n");
    }
    char *body = ds_train_feed_loss_json(s->feed, since, DS_MONITOR_LOSS_PAGE);
    return body ? answer_text(c, MHD_HTTP_OK, "application/json", body)
                : answer_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
  }
  case ROUTE_FILE: {
    struct MHD_Response *r = file_response(&s->files[k]);
    return r ? MHD_queue_response(c, MHD_HTTP_OK, r)
             : answer_error(c, MHD_HTTP_NOT_FOUND, "not written yet\n");
  }
  }
  return MHD_NO;
}

ds_status ds_monitor_parse_address(const char *spec, char *addr, size_t cap, int *port,
                                   ds_error *err) {
  const char *colon = strrchr(spec, ':'), *port_text = spec;
  char host[64] = "127.0.0.1";
  if (colon) {
    const char *h = spec;
    size_t n = (size_t)(colon - spec);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') { /* [IPv6]:PORT */
      h++;
      n -= 2;
    }
    if (n == 0 || n >= sizeof host)
      return ds_error_set(err, DS_ERR_INVALID,
                          "monitor address '%s': give [ADDR:]PORT, e.g. 8080 or 0.0.0.0:8080",
                          spec);
    memcpy(host, h, n);
    host[n] = '\0';
    port_text = colon + 1;
  }
  unsigned char buf[sizeof(struct in6_addr)];
  char *end;
  long p = strtol(port_text, &end, 10);
  if (!*port_text || *end || p < 0 || p > 65535 ||
      (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1))
    return ds_error_set(err, DS_ERR_INVALID,
                        "monitor address '%s': give [ADDR:]PORT with a numeric address and a port "
                        "from 0 to 65535, e.g. 8080 or 0.0.0.0:8080",
                        spec);
  snprintf(addr, cap, "%s", host);
  *port = (int)p;
  return DS_OK;
}

/* The listening socket, bound here so that a port in use is our error. */
static ds_status bind_socket(const char *addr, int port, int *fd_out, int *bound_port,
                             ds_error *err) {
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  char port_text[16];
  snprintf(port_text, sizeof port_text, "%d", port);
  if (getaddrinfo(addr, port_text, &hints, &ai) != 0 || !ai)
    return ds_error_set(err, DS_ERR_INVALID, "monitor address %s is not a numeric address", addr);
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  int bad = fd < 0;
  /* a restart may reuse a port whose old connections linger in TIME_WAIT */
  if (!bad) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (!bad && ai->ai_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  bad = bad || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(fd, DS_MONITOR_MAX_CONNECTIONS) != 0;
  const int e = errno;
  const int family = ai->ai_family;
  freeaddrinfo(ai);
  if (bad) {
    if (fd >= 0) close(fd);
    const char *l = family == AF_INET6 ? "[" : "", *r = family == AF_INET6 ? "]" : "";
    if (e == EADDRINUSE)
      return ds_error_set(err, DS_ERR_INVALID,
                          "cannot monitor on %s%s%s:%d: the port is in use; give another "
                          "(--monitor PORT, or 0 for any free one)",
                          l, addr, r, port);
    return ds_error_set(err, DS_ERR_INVALID, "cannot monitor on %s%s%s:%d: %s", l, addr, r, port,
                        strerror(e));
  }
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  *bound_port = port;
  if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
    *bound_port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                 : ((struct sockaddr_in *)&sa)->sin_port);
  *fd_out = fd;
  return DS_OK;
}

static const ds_asset *find_asset(const char *name) {
  for (const ds_asset *a = ds_monitor_assets; a->name; a++)
    if (strcmp(a->name, name) == 0) return a;
  return NULL;
}

ds_status ds_monitor_server_start(const char *addr, int port, ds_train_feed *feed,
                                  const char *model_dir, ds_monitor_server **out, ds_error *err) {
  *out = NULL;
  ds_monitor_server *s = calloc(1, sizeof *s);
  if (!s) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for the monitor");
  s->feed = feed;
  for (int k = 0; k < ROUTE_COUNT; k++) {
    if (routes[k].kind == ROUTE_FILE)
      snprintf(s->files[k].path, sizeof s->files[k].path, "%s/%s", model_dir, routes[k].asset);
    if (routes[k].kind != ROUTE_ASSET) continue;
    const ds_asset *a = find_asset(routes[k].asset);
    s->assets[k] =
        a ? MHD_create_response_from_buffer(a->size, (void *)a->data, MHD_RESPMEM_PERSISTENT)
          : NULL;
    if (!s->assets[k]) {
      ds_monitor_server_stop(s);
      return ds_error_set(err, DS_ERR_NO_MEMORY, "the monitor page %s is missing from this build",
                          routes[k].asset);
    }
    add_headers(s->assets[k], content_type(routes[k].asset), 1);
  }
  int fd = -1, bound = port;
  ds_status st = bind_socket(addr, port, &fd, &bound, err);
  if (st != DS_OK) {
    ds_monitor_server_stop(s);
    return st;
  }
  snprintf(s->url, sizeof s->url, strchr(addr, ':') ? "http://[%s]:%d/" : "http://%s:%d/", addr,
           bound);
  /* one internal thread (epoll on Linux); no MHD_USE_ERROR_LOG: library code never prints */
  s->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, handle, s,
                               MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                               (size_t)DS_MONITOR_MEMORY_LIMIT, MHD_OPTION_CONNECTION_LIMIT,
                               (unsigned)DS_MONITOR_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                               (unsigned)DS_MONITOR_TIMEOUT_S, MHD_OPTION_UNESCAPE_CALLBACK,
                               no_unescape, NULL, MHD_OPTION_END);
  if (!s->daemon) {
    close(fd);
    ds_monitor_server_stop(s);
    return ds_error_set(err, DS_ERR_IO, "cannot start the monitor's HTTP server on %s:%d", addr,
                        bound);
  }
  *out = s;
  return DS_OK;
}

const char *ds_monitor_server_url(const ds_monitor_server *s) { return s->url; }

void ds_monitor_server_stop(ds_monitor_server *s) {
  if (!s) return;
  if (s->daemon) MHD_stop_daemon(s->daemon); /* closes the listening socket too */
  for (int k = 0; k < ROUTE_COUNT; k++) {
    if (s->assets[k]) MHD_destroy_response(s->assets[k]);
    if (s->files[k].response) MHD_destroy_response(s->files[k].response);
  }
  free(s);
}
