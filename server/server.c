/* server.c - the NTP server's setup and teardown on the engine thread: directives, the
   ACL, the shared client log, sockets (own or from systemd), and the workers. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/conf.h"
#include "engine/logging.h"
#include "server/server.h"
#include "server/worker.h"

#define DEFAULT_PORT            123
#define DEFAULT_CLIENTLOG_LIMIT 524288 /* bytes, chrony's default */
#define MAX_ADDRESSES           4
#define SD_LISTEN_FDS_START     3

typedef struct {
  struct sockaddr_storage addr;
  socklen_t len;
  int activated_fd; /* from systemd, or -1 */
  int serving;      /* worker 0 has a socket on it */
  int reuseport;    /* the activated socket has SO_REUSEPORT: workers open their own */
} Address;

static struct {
  int running;
  int n_workers;
  WRK_Worker *workers;
  SVS_WorkerCounters *stats;
  WRK_Shared shared;
  ACL_Table *acl;
  CLG_Table *clientlog;
  Address addrs[MAX_ADDRESSES];
  int n_addrs;
  const char *device;
  int dscp;
} srv;

static long conf_int(const char *directive, long dflt)
{
  CNF_Entry e = CNF_Last(directive);

  return e ? CNF_EntryArgInt(e, 0, dflt) : dflt;
}

static int server_port(void)
{
  return (int) conf_int("port", DEFAULT_PORT);
}

int SRV_IsConfigured(void)
{
  return CNF_First("allow") != NULL && server_port() != 0;
}

static int build_acl(void)
{
  CNF_Entry e;

  srv.acl = ACL_Create();
  if (!srv.acl)
    return -ENOMEM;
  /* allow and deny interleave: their order in the file matters */
  for (e = CNF_First(NULL); e; e = CNF_Next(e)) {
    const char *d = CNF_EntryDirective(e);
    ACL_Action action;
    int all;

    if (strcmp(d, "allow") == 0)
      action = ACL_ALLOW;
    else if (strcmp(d, "deny") == 0)
      action = ACL_DENY;
    else
      continue;
    all = CNF_EntryArgString(e, 0, NULL) != NULL;
    if (ACL_AddRule(srv.acl, action, all, CNF_EntryArgString(e, 1, NULL)) < 0) {
      LOG(LOGS_ERR, "%s:%d: %s: invalid subnet '%s'", CNF_EntryFile(e), CNF_EntryLine(e), d,
          CNF_EntryArgString(e, 1, ""));
      return -EINVAL;
    }
  }
  return 0;
}

static int build_clientlog(void)
{
  CNF_Entry rl = CNF_Last("ratelimit");
  CLG_RateParams rate;
  size_t limit = (size_t) conf_int("clientloglimit", DEFAULT_CLIENTLOG_LIMIT);

  if (CNF_Last("noclientlog")) {
    if (rl)
      LOG(LOGS_WARN, "noclientlog: NTP rate limiting and interleaved mode are disabled");
    return 0;
  }
  memset(&rate, 0, sizeof(rate));
  rate.enabled = rl != NULL;
  rate.interval = rl ? (int) CNF_EntryOptionInt(rl, "interval", 3) : 3;
  rate.burst = rl ? (int) CNF_EntryOptionInt(rl, "burst", 8) : 8;
  rate.leak = rl ? (int) CNF_EntryOptionInt(rl, "leak", 2) : 2;
  rate.kod = rl ? (int) CNF_EntryOptionInt(rl, "kod", 0) : 0;

  srv.clientlog = CLG_Create(limit, (int) conf_int("ratelimitprefix6", 128), &rate);
  if (!srv.clientlog) {
    LOG(LOGS_ERR, "could not allocate the client log (clientloglimit %zu)", limit);
    return -ENOMEM;
  }
  LOG(LOGS_INFO, "client log: %zu records in %zu bytes%s", CLG_Capacity(srv.clientlog), limit,
      rate.enabled ? ", rate limiting on" : "");
  return 0;
}

static int add_address(int family, const char *text, int port)
{
  Address *a = &srv.addrs[srv.n_addrs];

  if (srv.n_addrs >= MAX_ADDRESSES)
    return -ENOSPC;
  memset(a, 0, sizeof(*a));
  a->activated_fd = -1;
  if (family == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *) &a->addr;

    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t) port);
    if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
      return -EINVAL;
    a->len = sizeof(*sin);
  } else {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &a->addr;

    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t) port);
    if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1)
      return -EINVAL;
    a->len = sizeof(*sin6);
  }
  srv.n_addrs++;
  return 0;
}

/* Datagram sockets passed by systemd (LISTEN_PID/LISTEN_FDS), as chronyd 4.5 takes them.
   Returns how many were taken. */
static int take_activated_sockets(void)
{
  const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
  int i, n, taken = 0;

  if (!pid || !fds || atol(pid) != (long) getpid())
    return 0;
  n = atoi(fds);
  for (i = 0; i < n && srv.n_addrs < MAX_ADDRESSES; i++) {
    int fd = SD_LISTEN_FDS_START + i, type = 0, reuse = 0;
    socklen_t optlen = sizeof(type);
    Address *a = &srv.addrs[srv.n_addrs];

    memset(a, 0, sizeof(*a));
    a->len = sizeof(a->addr);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) < 0 || type != SOCK_DGRAM ||
        getsockname(fd, (struct sockaddr *) &a->addr, &a->len) < 0 ||
        (a->addr.ss_family != AF_INET && a->addr.ss_family != AF_INET6))
      continue;
    optlen = sizeof(reuse);
    getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuse, &optlen);
    a->activated_fd = fd;
    a->reuseport = reuse;
    srv.n_addrs++;
    taken++;
    LOG(LOGS_INFO, "using NTP socket fd %d from the service manager%s", fd,
        reuse ? "" : " (no SO_REUSEPORT: all workers share it)");
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return taken;
}

static int configure_addresses(void)
{
  int port = server_port(), r;
  CNF_Entry e, last4 = NULL, last6 = NULL;

  if (take_activated_sockets() > 0)
    return 0;
  /* chrony: one bindaddress per family, the last one given wins; a family without one
     is served on its wildcard address; a family no allow rule admits is not opened */
  for (e = CNF_First("bindaddress"); e; e = CNF_Next(e))
    *(strchr(CNF_EntryArgString(e, 0, ""), ':') ? &last6 : &last4) = e;
  if (ACL_IsAnyAllowed(srv.acl, AF_INET) &&
      (r = add_address(AF_INET, last4 ? CNF_EntryArgString(last4, 0, "") : "0.0.0.0", port)) <
          0)
    return r;
  if (ACL_IsAnyAllowed(srv.acl, AF_INET6) &&
      (r = add_address(AF_INET6, last6 ? CNF_EntryArgString(last6, 0, "") : "::", port)) < 0)
    return r;
  return 0;
}

/* SO_REUSEPORT would let our sockets join another server's on the same port (chronyd
   sets it too), silently splitting the clients: a plain bind first finds it in use. */
static int check_not_in_use(const Address *a)
{
  int on = 1, r, tries;

  /* a kairosd that just exited may hold the port for a moment longer (the kernel frees
     its sockets asynchronously): try for up to a second before calling the port taken */
  for (tries = 0; tries < 10; tries++) {
    int fd = socket(a->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
      return 0; /* no such family here: open_socket says so */
    if (a->addr.ss_family == AF_INET6)
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    r = bind(fd, (const struct sockaddr *) &a->addr, a->len) < 0 ? -errno : 0;
    close(fd);
    if (r != -EADDRINUSE)
      return 0;
    usleep(100000);
  }
  return -EADDRINUSE;
}

static int is_wildcard(const Address *a)
{
  if (a->addr.ss_family == AF_INET)
    return ((const struct sockaddr_in *) &a->addr)->sin_addr.s_addr == htonl(INADDR_ANY);
  return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *) &a->addr)->sin6_addr);
}

static int open_socket(const Address *a)
{
  int family = a->addr.ss_family, on = 1, fd, r;

  fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0 ||
      (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0))
    goto fail;
  if (srv.device && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, srv.device,
                               (socklen_t) strlen(srv.device)) < 0)
    goto fail;
  if (srv.dscp > 0) {
    int tos = srv.dscp << 2;

    if (family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos))
                          : setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos)))
      goto fail;
  }
  if ((r = WRK_ConfigureSocket(fd, family, srv.shared.tx_timestamps, is_wildcard(a))) < 0) {
    errno = -r;
    goto fail;
  }
  if (bind(fd, (const struct sockaddr *) &a->addr, a->len) < 0)
    goto fail;
  return fd;
fail:
  r = -errno;
  close(fd);
  return r;
}

static const char *address_text(const Address *a, char *buf, size_t size)
{
  char host[INET6_ADDRSTRLEN] = "?";
  int port;

  if (a->addr.ss_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *) &a->addr;

    inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
    port = ntohs(sin->sin_port);
    snprintf(buf, size, "%s:%d", host, port);
  } else {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) &a->addr;

    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
    port = ntohs(sin6->sin6_port);
    snprintf(buf, size, "[%s]:%d", host, port);
  }
  return buf;
}

/* Each worker gets one socket per address: its own SO_REUSEPORT socket, or the activated
   one (worker 0 always; every worker when that socket cannot be shared by port reuse). */
static int open_worker_sockets(WRK_Worker *w)
{
  int i;

  for (i = 0; i < srv.n_addrs; i++) {
    Address *a = &srv.addrs[i];
    char text[64];
    int fd;

    if (a->activated_fd >= 0 && (w->id == 0 || !a->reuseport)) {
      int r = WRK_ConfigureSocket(a->activated_fd, a->addr.ss_family, srv.shared.tx_timestamps,
                                  is_wildcard(a));

      if (r < 0)
        return r;
      fd = a->activated_fd;
    } else {
      fd = open_socket(a);
    }
    if (fd < 0) {
      /* no IPv6 on this host: serve IPv4 alone rather than not at all */
      if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL) {
        if (w->id == 0)
          LOG(LOGS_WARN, "not serving on %s: %s", address_text(a, text, sizeof(text)),
              strerror(-fd));
        continue;
      }
      LOG(LOGS_ERR, "cannot open NTP socket on %s: %s", address_text(a, text, sizeof(text)),
          strerror(-fd));
      return fd;
    }
    w->fds[w->n_fds++] = fd;
    if (w->id == 0)
      a->serving = 1;
  }
  return w->n_fds > 0 ? 0 : -EADDRNOTAVAIL;
}

static const WRK_Backend *choose_backend(void)
{
  CNF_Entry e = CNF_Last("serverio");
  const char *want = e ? CNF_EntryArgString(e, 0, "uring") : "uring";
  int r;

  if (strcasecmp(want, "mmsg") == 0)
    return &WRK_MmsgBackend;
  r = WRK_UringBackend.probe();
  if (r == 0)
    return &WRK_UringBackend;
  LOG(LOGS_WARN, "io_uring is not available here (%s): using recvmmsg/sendmmsg", strerror(-r));
  return &WRK_MmsgBackend;
}

static void close_worker_sockets(WRK_Worker *w)
{
  int i, j;

  for (i = 0; i < w->n_fds; i++) {
    int shared = 0;

    for (j = 0; j < srv.n_addrs; j++)
      if (w->fds[i] == srv.addrs[j].activated_fd)
        shared = 1;
    if (!shared)
      close(w->fds[i]);
  }
  w->n_fds = 0;
}

/* Close every socket, free every table: after a failed start or the workers' end. */
static void release_all(void)
{
  int i;

  if (srv.workers)
    for (i = 0; i < srv.n_workers; i++)
      close_worker_sockets(&srv.workers[i]);
  for (i = 0; i < srv.n_addrs; i++)
    if (srv.addrs[i].activated_fd >= 0)
      close(srv.addrs[i].activated_fd);
  free(srv.workers);
  free(srv.stats);
  if (srv.clientlog)
    CLG_Destroy(srv.clientlog);
  if (srv.acl)
    ACL_Destroy(srv.acl);
  memset(&srv, 0, sizeof(srv));
}

int SRV_Initialise(void)
{
  const WRK_Backend *backend;
  CNF_Entry e;
  long threads;
  int i, r;

  memset(&srv, 0, sizeof(srv));
  if ((r = build_acl()) < 0 || (r = build_clientlog()) < 0)
    goto fail;
  if ((e = CNF_Last("binddevice")))
    srv.device = CNF_EntryArgString(e, 0, NULL);
  srv.dscp = (int) conf_int("dscp", 0);
  /* kernel TX timestamps serve interleaved mode: only with a client log */
  srv.shared.tx_timestamps = srv.clientlog && WRK_ProbeTxTimestamps();
  if ((r = configure_addresses()) < 0) {
    LOG(LOGS_ERR, "invalid bind address: %s", strerror(-r));
    goto fail;
  }

  for (i = 0; i < srv.n_addrs; i++) {
    char text[64];

    if (srv.addrs[i].activated_fd < 0 && (r = check_not_in_use(&srv.addrs[i])) < 0) {
      LOG(LOGS_ERR, "cannot serve NTP on %s: address already in use",
          address_text(&srv.addrs[i], text, sizeof(text)));
      goto fail;
    }
  }

  threads = conf_int("serverthreads", sysconf(_SC_NPROCESSORS_ONLN));
  srv.n_workers = threads > 0 ? (int) threads : 1;
  backend = choose_backend();
  srv.shared.acl = srv.acl;
  srv.shared.clientlog = srv.clientlog;
  e = CNF_Last("ratelimit");
  srv.shared.min_poll = e && srv.clientlog ? (int) CNF_EntryOptionInt(e, "interval", 3) : -128;

  srv.workers = calloc((size_t) srv.n_workers, sizeof(*srv.workers));
  if (posix_memalign((void **) &srv.stats, 64, (size_t) srv.n_workers * sizeof(*srv.stats)))
    srv.stats = NULL;
  if (!srv.workers || !srv.stats) {
    r = -ENOMEM;
    goto fail;
  }
  memset(srv.stats, 0, (size_t) srv.n_workers * sizeof(*srv.stats));

  for (i = 0; i < srv.n_workers; i++) {
    WRK_Worker *w = &srv.workers[i];

    w->id = i;
    w->wake_fd = -1;
    w->shared = &srv.shared;
    w->backend = backend;
    w->stats = &srv.stats[i];
    if ((r = open_worker_sockets(w)) < 0)
      goto fail;
  }
  for (i = 0; i < srv.n_workers; i++) {
    if ((r = WRK_Start(&srv.workers[i])) < 0) {
      int started = i;

      LOG(LOGS_ERR, "cannot start server worker %d: %s", i, strerror(-r));
      for (; i < srv.n_workers; i++)
        close_worker_sockets(&srv.workers[i]);
      srv.n_workers = started; /* only those started are stopped and joined */
      srv.running = 1;
      SRV_Finalise();
      return r;
    }
  }
  srv.running = 1;
  {
    char text[64];

    for (i = 0; i < srv.n_addrs; i++)
      if (srv.addrs[i].serving)
        LOG(LOGS_INFO, "serving NTP on %s", address_text(&srv.addrs[i], text, sizeof(text)));
  }
  LOG(LOGS_INFO, "NTP server: %d worker%s, %s I/O, %s TX timestamps for interleaved mode",
      srv.n_workers, srv.n_workers == 1 ? "" : "s", backend->name,
      srv.shared.tx_timestamps ? "kernel" : "software");
  return 0;

fail:
  release_all();
  return r;
}

void SRV_GetStats(SVS_Counters *total)
{
  if (!srv.running) {
    memset(total, 0, sizeof(*total));
    return;
  }
  SVS_Sum(srv.stats, srv.n_workers, total);
}

void SRV_LogStats(void)
{
  SVS_Counters c;
  int i;

  if (!srv.running)
    return;
  for (i = 0; i < srv.n_workers && srv.n_workers > 1; i++) {
    char label[32];

    snprintf(label, sizeof(label), "worker %d", i);
    SVS_Sum(&srv.stats[i], 1, &c);
    SVS_Log(label, &c);
  }
  SRV_GetStats(&c);
  SVS_Log("total", &c);
}

int SRV_Finalise(void)
{
  int i, r = 0;

  if (!srv.running)
    return 0;
  for (i = 0; i < srv.n_workers; i++)
    WRK_Stop(&srv.workers[i]);
  for (i = 0; i < srv.n_workers; i++)
    if (WRK_Join(&srv.workers[i]) < 0)
      r = -1;
  SRV_LogStats();
  release_all();
  return r;
}
