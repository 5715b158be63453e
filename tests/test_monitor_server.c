/* The monitor's HTTP server (engine/monitor/server.h) under bad input, on
 * loopback only: its routes and headers, path traversal, methods and bodies,
 * oversized request lines and headers, garbage, clients that disconnect in
 * the middle of a download, 200 concurrent connections and more than the
 * limit, and slow clients that stall half-way through their headers, all
 * while a thread publishes iterations as the trainer does (it must never
 * stall). A port in use is an error naming it.
 * usage: test_monitor_server REPO_ROOT SCRATCH */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "engine/media/png.h"
#include "engine/model/config.h"
#include "engine/monitor/feed.h"
#include "engine/monitor/server.h"

static int port;
static const char secret[] = "SECRET-MODEL-JSON-MARKER";

static int connect_local(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const char *data, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, data, n, MSG_NOSIGNAL);
    if (k <= 0) return -1;
    data += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Reads until the server closes (or 3 s of silence); returns the status code
 * of the answer, 0 when the connection closed without one. */
static int read_answer(int fd, char *out, size_t cap) {
  size_t got = 0;
  for (;;) {
    ssize_t k = recv(fd, out + got, cap - 1 - got, 0);
    if (k <= 0) break;
    got += (size_t)k;
    if (got == cap - 1) { /* keep the head, drop the rest of a large body */
      char sink[65536];
      while (recv(fd, sink, sizeof sink, 0) > 0) {
      }
      break;
    }
  }
  out[got] = '\0';
  int code = 0;
  if (sscanf(out, "HTTP/1.%*d %d", &code) != 1) code = 0;
  return code;
}

/* One request on a fresh connection; the answer (head and start of body) in out. */
static int request(const char *raw, size_t n, char *out, size_t cap) {
  int fd = connect_local();
  if (fd < 0) return -1;
  int code = send_all(fd, raw, n) == 0 ? read_answer(fd, out, cap) : 0;
  if (code == 0) code = read_answer(fd, out, cap);
  close(fd);
  return code;
}

static int get(const char *path, char *out, size_t cap) {
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
  return request(req, (size_t)n, out, cap);
}

/* ---- the trainer stand-in ---- */

static ds_train_feed *feed;
static atomic_int stop_publishing;
static atomic_long published;

static void *publisher(void *arg) {
  (void)arg;
  long long it = 0;
  while (!atomic_load(&stop_publishing)) {
    double loss[2] = {0.3, 0.2};
    it++;
    ds_train_feed_iteration(feed, it, (double)it, 100, 1, loss, loss);
    atomic_store(&published, (long)it);
    if (it % 50 == 0) ds_train_feed_preview(feed, it);
    struct timespec nap = {0, 1000 * 1000};
    nanosleep(&nap, NULL);
  }
  return NULL;
}

/* The publisher moved on within 5 s: a page never holds a step. */
static int publisher_moves(void) {
  long before = atomic_load(&published);
  for (int i = 0; i < 500; i++) {
    if (atomic_load(&published) > before + 5) return 1;
    struct timespec nap = {0, 10 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
  return 0;
}

static char buf[1 << 20];

static void test_routes(void) {
  CHECK(get("/", buf, sizeof buf) == 200, "GET /: %.200s", buf);
  CHECK_CONTAINS(buf, "<!doctype html>");
  CHECK_CONTAINS(buf, "Content-Security-Policy: default-src 'none'");
  CHECK_CONTAINS(buf, "X-Content-Type-Options: nosniff");
  const char *assets[] = {"/monitor.js", "/monitor.css", "/favicon.svg", "/loss.png",
                          "/preview.png"};
  for (int i = 0; i < 5; i++)
    CHECK(get(assets[i], buf, sizeof buf) == 200, "GET %s: %.200s", assets[i], buf);
  CHECK(get("/status.json", buf, sizeof buf) == 200, "status.json");
  CHECK_CONTAINS(buf, "\"state\":\"training\"");
  CHECK(get("/loss.json?since=10", buf, sizeof buf) == 200, "loss.json");
  CHECK_CONTAINS(buf, "\"since\":10");
  CHECK(get("/loss.json?since=abc", buf, sizeof buf) == 400, "since=abc: %.200s", buf);
  CHECK(get("/loss.json?since=-5", buf, sizeof buf) == 400, "since=-5");
  /* keep-alive: two requests on one connection, as a polling page sends them */
  const char two[] = "GET /status.json HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /loss.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  CHECK(request(two, sizeof two - 1, buf, sizeof buf) == 200, "keep-alive");
  const char *second = strstr(buf + 1, "HTTP/1.1 200 OK");
  CHECK(second && strstr(second, "\"columns\"") &&
            !strstr(buf, "Connection: close\r\n\r\n{\"state\""),
        "both answers on one connection, the first kept alive: %.300s", buf);
  const char head[] = "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  CHECK(request(head, sizeof head - 1, buf, sizeof buf) == 200 && !strstr(buf, "<!doctype"),
        "HEAD: headers only");
}

static void test_traversal(void) {
  const char *paths[] = {"/../../../../etc/passwd",
                         "/%2e%2e/%2e%2e/etc/passwd",
                         "/model.json",
                         "/./model.json",
                         "//model.json",
                         "/preview.png/../model.json",
                         "/preview.png%00.json",
                         "/..%2fmodel.json",
                         "/status.json/../model.json",
                         "/PREVIEW.PNG",
                         "/preview.png/",
                         "/index.html",
                         "/weights-00000001.bin",
                         "/%2fetc%2fpasswd"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    int code = get(paths[i], buf, sizeof buf);
    CHECK(code == 404 || code == 400, "%s answered %d", paths[i], code);
    CHECK(!strstr(buf, secret) && !strstr(buf, "root:"), "%s leaked a file", paths[i]);
  }
}

static void test_methods_and_size(void) {
  const char post[] = "POST /status.json HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      "Connection: close\r\n\r\nhello";
  CHECK(request(post, sizeof post - 1, buf, sizeof buf) == 405, "POST: %.100s", buf);
  const char del[] = "DELETE /preview.png HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  CHECK(request(del, sizeof del - 1, buf, sizeof buf) == 405, "DELETE");
  const char body_get[] = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                          "Connection: close\r\n\r\nabcd";
  int code = request(body_get, sizeof body_get - 1, buf, sizeof buf);
  CHECK(code == 413, "GET with a body: %d", code);

  /* a 64 KiB header, a 40 KiB request line, 300 headers: refused, never served */
  static char big[70000];
  int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
  memset(big + n, 'a', 65536);
  n += 65536;
  n += snprintf(big + n, sizeof big - (size_t)n, "\r\nConnection: close\r\n\r\n");
  code = request(big, (size_t)n, buf, sizeof buf);
  CHECK(code == 0 || code == 413 || code == 431, "64 KiB header answered %d", code);
  n = snprintf(big, sizeof big, "GET /");
  memset(big + n, 'b', 40000);
  n += 40000;
  n += snprintf(big + n, sizeof big - (size_t)n, " HTTP/1.1\r\nHost: x\r\n\r\n");
  code = request(big, (size_t)n, buf, sizeof buf);
  CHECK(code == 0 || code == 414 || code == 431, "40 KiB request line answered %d", code);
  n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; i < 3000 && n < 60000; i++)
    n += snprintf(big + n, sizeof big - (size_t)n, "X-%d: y\r\n", i);
  n += snprintf(big + n, sizeof big - (size_t)n, "\r\n");
  code = request(big, (size_t)n, buf, sizeof buf);
  CHECK(code == 0 || code == 413 || code == 431, "3000 headers answered %d", code);
  /* garbage */
  for (int i = 0; i < 4096; i++)
    big[i] = (char)(rand() & 0xff);
  code = request(big, 4096, buf, sizeof buf);
  CHECK(code == 0 || code == 400, "garbage answered %d", code);
  CHECK(get("/status.json", buf, sizeof buf) == 200, "served after the bad requests");
}

static void test_disconnects(void) {
  for (int i = 0; i < 30; i++) {
    int fd = connect_local();
    const char req[] = "GET /preview.png HTTP/1.1\r\nHost: x\r\n\r\n";
    char head[1000];
    if (fd < 0 || send_all(fd, req, sizeof req - 1) != 0 || recv(fd, head, sizeof head, 0) <= 0)
      CHECK(0, "preview download %d did not start", i);
    /* an abortive close (RST) in the middle of a multi-megabyte answer */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
  }
  CHECK(get("/preview.png", buf, sizeof buf) == 200, "served after 30 aborted downloads");
  CHECK(publisher_moves(), "the publisher goes on");
}

static void test_many(int count, int expect_all) {
  int *fds = malloc((size_t)count * sizeof *fds);
  const char req[] = "GET /status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  for (int i = 0; i < count; i++)
    fds[i] = connect_local();
  for (int i = 0; i < count; i++)
    if (fds[i] >= 0) send_all(fds[i], req, sizeof req - 1);
  int ok = 0;
  for (int i = 0; i < count; i++) {
    if (fds[i] < 0) continue;
    ok += read_answer(fds[i], buf, sizeof buf) == 200;
    close(fds[i]);
  }
  if (expect_all)
    CHECK(ok == count, "%d of %d concurrent connections answered", ok, count);
  else
    CHECK(ok >= DS_MONITOR_MAX_CONNECTIONS / 2, "%d of %d connections past the limit answered", ok,
          count);
  CHECK(get("/status.json", buf, sizeof buf) == 200, "served after %d connections", count);
  CHECK(publisher_moves(), "the publisher goes on");
  free(fds);
}

static void test_slow_clients(void) {
  enum { SLOW = 20 };
  int fds[SLOW];
  const char part[] = "GET /status.json HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  for (int i = 0; i < SLOW; i++) {
    fds[i] = connect_local();
    if (fds[i] >= 0) send_all(fds[i], part, sizeof part - 1);
  }
  CHECK(get("/status.json", buf, sizeof buf) == 200, "served while %d clients stall", SLOW);
  /* each stalled client is closed once idle for the timeout */
  const double t0 = (double)time(NULL);
  int closed = 0;
  for (int i = 0; i < SLOW; i++) {
    struct pollfd p = {fds[i], POLLIN, 0};
    const int wait_ms = (int)(1000 * (DS_MONITOR_TIMEOUT_S + 5 - ((double)time(NULL) - t0)));
    char c;
    if (fds[i] >= 0 && poll(&p, 1, wait_ms > 0 ? wait_ms : 0) == 1 && recv(fds[i], &c, 1, 0) <= 0)
      closed++;
    if (fds[i] >= 0) close(fds[i]);
  }
  CHECK(closed == SLOW, "%d of %d stalled clients closed within %d s", closed, SLOW,
        DS_MONITOR_TIMEOUT_S + 5);
}

static void test_port_in_use(ds_train_feed *f, const char *dir) {
  ds_monitor_server *s2 = NULL;
  ds_error err = {0};
  CHECK(ds_monitor_server_start("127.0.0.1", port, f, dir, &s2, &err) == DS_ERR_INVALID &&
            strstr(err.msg, "in use") && !strchr(err.msg, '\n'),
        "a port in use: %s", err.msg);
  ds_error_clear(&err);
  char addr[64];
  int p;
  CHECK(ds_monitor_parse_address("0.0.0.0:8080", addr, sizeof addr, &p, &err) == DS_OK &&
            strcmp(addr, "0.0.0.0") == 0 && p == 8080,
        "0.0.0.0:8080");
  CHECK(ds_monitor_parse_address("[::1]:99", addr, sizeof addr, &p, &err) == DS_OK &&
            strcmp(addr, "::1") == 0 && p == 99,
        "[::1]:99");
  CHECK(ds_monitor_parse_address("8080", addr, sizeof addr, &p, &err) == DS_OK &&
            strcmp(addr, "127.0.0.1") == 0,
        "the default address is loopback");
  const char *bad[] = {"", "x", "70000", "localhost:80", ":80", "1.2.3.4:", "-1"};
  for (int i = 0; i < 7; i++) {
    CHECK(ds_monitor_parse_address(bad[i], addr, sizeof addr, &p, &err) == DS_ERR_INVALID,
          "'%s' refused", bad[i]);
    ds_error_clear(&err);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_monitor_server REPO_ROOT SCRATCH\n");
    return 2;
  }
  const char *dir = argv[2];
  char path[1100];
  mkdir(dir, 0777);
  ds_error err = {0};
  ds_model_config cfg;
  snprintf(path, sizeof path, "%s/tests/data/train_micro.json", argv[1]);
  if (ds_model_config_load(path, &cfg, &err) != DS_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  /* the model folder: a secret model.json and a ~3 MB preview (noise) */
  snprintf(path, sizeof path, "%s/model.json", dir);
  FILE *f = fopen(path, "w");
  if (f) {
    fprintf(f, "{\"%s\": 1}\n", secret);
    fclose(f);
  }
  ds_image img;
  CHECK_OK(ds_image_alloc(&img, 1024, 1024, 3, &err), &err);
  for (size_t i = 0; img.data && i < (size_t)1024 * 1024 * 3; i++)
    img.data[i] = (uint8_t)(rand() >> 7);
  snprintf(path, sizeof path, "%s/preview.png", dir);
  CHECK_OK(ds_png_write_rgb(path, &img, NULL, &err), &err);
  snprintf(path, sizeof path, "%s/loss.png", dir);
  CHECK_OK(ds_png_write_rgb(path, &img, NULL, &err), &err);
  ds_image_free(&img);

  CHECK_OK(ds_train_feed_create(&feed, &err), &err);
  CHECK_OK(ds_train_feed_begin(feed, &cfg, "test device", 0, 0, 0, NULL, &err), &err);
  ds_monitor_server *server = NULL;
  CHECK_OK(ds_monitor_server_start("127.0.0.1", 0, feed, dir, &server, &err), &err);
  if (!server) return check_summary("monitor_server");
  const char *url = ds_monitor_server_url(server);
  CHECK(sscanf(url, "http://127.0.0.1:%d/", &port) == 1 && port > 0, "url %s", url);
  pthread_t pub;
  pthread_create(&pub, NULL, publisher, NULL);

  test_routes();
  test_traversal();
  test_methods_and_size();
  test_disconnects();
  test_many(200, 1);
  test_many(DS_MONITOR_MAX_CONNECTIONS + 60, 0);
  test_slow_clients();
  test_port_in_use(feed, dir);

  atomic_store(&stop_publishing, 1);
  pthread_join(pub, NULL);
  ds_monitor_server_stop(server);
  ds_train_feed_destroy(feed);
  return check_summary("monitor_server");
}
