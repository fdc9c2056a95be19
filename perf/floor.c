/* floor.c - kairos-floor, the reference "floor" for server benchmarks: the least work
   that answers NTP. Each thread owns one SO_REUSEPORT socket: recvmmsg a batch, turn each
   client request into a mode-4 reply in place (one clock read per batch), sendmmsg the
   batch back. No client log, no ACL, no rate limiting. The main thread only waits for
   SIGINT/SIGTERM; workers see the stop flag within their receive timeout. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "engine/ntpwire.h"

#define BATCH       64
#define BUF_LEN     1024 /* longer requests are truncated: only the header is read */
#define MAX_THREADS 64

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  struct sockaddr_storage ss;
} Addr;

typedef union {
  char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
  struct cmsghdr align;
} Ctl;

typedef struct {
  int fd;
  int wildcard; /* bound to the wildcard address: reply from the address asked */
  pthread_t thread;
  uint64_t replies;
  struct mmsghdr in[BATCH], out[BATCH];
  struct iovec iov[BATCH];
  uint8_t buf[BATCH][BUF_LEN];
  Addr name[BATCH];
  Ctl ctl[BATCH];
} Worker;

static _Atomic int stop;
static int stratum = 1;

static void prepare(Worker *w)
{
  int i;

  for (i = 0; i < BATCH; i++) {
    w->iov[i].iov_base = w->buf[i];
    w->iov[i].iov_len = BUF_LEN;
    memset(&w->in[i].msg_hdr, 0, sizeof(w->in[i].msg_hdr));
    w->in[i].msg_hdr.msg_name = &w->name[i];
    w->in[i].msg_hdr.msg_namelen = sizeof(w->name[i]);
    w->in[i].msg_hdr.msg_iov = &w->iov[i];
    w->in[i].msg_hdr.msg_iovlen = 1;
    if (w->wildcard) {
      w->in[i].msg_hdr.msg_control = w->ctl[i].buf;
      w->in[i].msg_hdr.msg_controllen = sizeof(w->ctl[i].buf);
    }
  }
}

/* Make the request in buf a reply. Returns 0 when it is no client request. */
static int answer(uint8_t *p, unsigned int len, const uint8_t ts[8])
{
  unsigned int version = p[0] >> 3 & 7, mode = p[0] & 7;

  if (len < NWR_HEADER_LEN || mode != NWR_MODE_CLIENT || version < NWR_VERSION_MIN ||
      version > NWR_VERSION_MAX)
    return 0;
  /* origin = the request's transmit timestamp */
  memcpy(p + 24, p + 40, 8);
  p[0] = (uint8_t) (version << 3 | NWR_MODE_SERVER);
  p[1] = (uint8_t) stratum;
  /* poll (p[2]) is echoed; precision 2^-20 s */
  p[3] = (uint8_t) -20;
  memset(p + 4, 0, 8); /* root delay and dispersion */
  memcpy(p + 12, "LOCL", 4);
  memcpy(p + 16, ts, 8); /* reference */
  memcpy(p + 32, ts, 8); /* receive */
  memcpy(p + 40, ts, 8); /* transmit */
  return 1;
}

/* Reply from the address the request was sent to (wildcard sockets only) */
static void set_source(struct msghdr *out, struct msghdr *in)
{
  struct cmsghdr *cm;

  out->msg_control = NULL;
  out->msg_controllen = 0;
  for (cm = CMSG_FIRSTHDR(in); cm; cm = CMSG_NXTHDR(in, cm)) {
    if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;

      memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
      pi.ipi_spec_dst = pi.ipi_addr;
      pi.ipi_ifindex = 0;
      memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
    } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;

      memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
      pi.ipi6_ifindex = 0;
      memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
    } else {
      continue;
    }
    /* Sent back as it came: the buffer holds just this one message */
    out->msg_control = in->msg_control;
    out->msg_controllen = CMSG_SPACE(cm->cmsg_len - CMSG_LEN(0));
    return;
  }
}

static void *worker_main(void *arg)
{
  Worker *w = arg;
  struct timespec now;
  NWR_Ts64 t;
  uint8_t ts[8];
  int got, i, n, off, ret;

  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    prepare(w);
    got = recvmmsg(w->fd, w->in, BATCH, MSG_WAITFORONE, NULL);
    if (got <= 0)
      continue; /* EAGAIN from the receive timeout: look at the stop flag */
    clock_gettime(CLOCK_REALTIME, &now);
    NWR_TimespecToTs64(&now, &t);
    NWR_PutTs64(&t, ts);
    for (i = 0, n = 0; i < got; i++) {
      if (!answer(w->buf[i], w->in[i].msg_len, ts))
        continue;
      w->iov[i].iov_len = NWR_HEADER_LEN;
      w->out[n].msg_hdr = w->in[i].msg_hdr;
      if (w->wildcard)
        set_source(&w->out[n].msg_hdr, &w->in[i].msg_hdr);
      n++;
    }
    for (off = 0; off < n;) {
      ret = sendmmsg(w->fd, w->out + off, (unsigned int) (n - off), 0);
      if (ret > 0) {
        off += ret;
        w->replies += (uint64_t) ret;
      } else if (ret < 0 && errno == EINTR) {
        continue;
      } else {
        off++; /* drop the one that failed */
      }
    }
  }
  return NULL;
}

static int open_socket(const Addr *a, socklen_t len, int rcvbuf, int *wildcard)
{
  int fd, one = 1;
  struct timeval tv = { 0, 100000 };

  fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  /* By default the kernel's buffer, as chronyd has: bursts cost both the same */
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (a->sa.sa_family == AF_INET) {
    *wildcard = a->in4.sin_addr.s_addr == htonl(INADDR_ANY);
    if (*wildcard)
      setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
  } else {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    *wildcard = memcmp(&a->in6.sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
    if (*wildcard)
      setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
  }
  if (bind(fd, &a->sa, len) < 0) {
    int e = errno;

    close(fd);
    return -e;
  }
  return fd;
}

static void usage(FILE *f)
{
  fprintf(f,
          "usage: kairos-floor [-a ADDR] [-p PORT] [-t THREADS] [-s STRATUM] [-b BYTES] [-q]\n"
          "  -a ADDR     address to bind (default 127.0.0.1; IPv6 allowed)\n"
          "  -p PORT     UDP port (default 123)\n"
          "  -t THREADS  SO_REUSEPORT sockets, one thread each (default 1)\n"
          "  -s STRATUM  stratum of the replies (default 1)\n"
          "  -b BYTES    socket receive buffer (default: the kernel's)\n"
          "  -q          no messages on stderr\n"
          "Answers NTP client requests until SIGINT or SIGTERM.\n");
}

int main(int argc, char **argv)
{
  const char *addr = "127.0.0.1";
  long port = 123, threads = 1, rcvbuf = 0;
  int c, i, quiet = 0, sig;
  Worker *w[MAX_THREADS];
  uint64_t total = 0;
  sigset_t set;
  socklen_t len;
  Addr a;

  while ((c = getopt(argc, argv, "a:p:t:s:b:qh")) != -1) {
    switch (c) {
    case 'a':
      addr = optarg;
      break;
    case 'p':
      port = strtol(optarg, NULL, 10);
      break;
    case 't':
      threads = strtol(optarg, NULL, 10);
      break;
    case 's':
      stratum = (int) strtol(optarg, NULL, 10);
      break;
    case 'b':
      rcvbuf = strtol(optarg, NULL, 10);
      break;
    case 'q':
      quiet = 1;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (port < 1 || port > 65535 || threads < 1 || threads > MAX_THREADS || stratum < 0 ||
      stratum > 255 || rcvbuf < 0 || rcvbuf > 1L << 30 || optind != argc) {
    usage(stderr);
    return 2;
  }
  memset(&a, 0, sizeof(a));
  if (inet_pton(AF_INET, addr, &a.in4.sin_addr) == 1) {
    a.in4.sin_family = AF_INET;
    a.in4.sin_port = htons((uint16_t) port);
    len = sizeof(a.in4);
  } else if (inet_pton(AF_INET6, addr, &a.in6.sin6_addr) == 1) {
    a.in6.sin6_family = AF_INET6;
    a.in6.sin6_port = htons((uint16_t) port);
    len = sizeof(a.in6);
  } else {
    fprintf(stderr, "kairos-floor: bad address '%s'\n", addr);
    return 2;
  }

  /* Workers inherit a mask with the stop signals blocked; the main thread takes them */
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  for (i = 0; i < threads; i++) {
    w[i] = calloc(1, sizeof(Worker));
    if (!w[i])
      return 1;
    w[i]->fd = open_socket(&a, len, (int) rcvbuf, &w[i]->wildcard);
    if (w[i]->fd < 0) {
      fprintf(stderr, "kairos-floor: %s port %ld: %s\n", addr, port, strerror(-w[i]->fd));
      return 1;
    }
  }
  for (i = 0; i < threads; i++) {
    if (pthread_create(&w[i]->thread, NULL, worker_main, w[i]) != 0) {
      fprintf(stderr, "kairos-floor: cannot start thread\n");
      return 1;
    }
  }
  if (!quiet)
    fprintf(stderr, "kairos-floor: answering on %s port %ld with %ld thread%s, stratum %d\n",
            addr, port, threads, threads > 1 ? "s" : "", stratum);

  sigwait(&set, &sig);
  atomic_store(&stop, 1);
  for (i = 0; i < threads; i++) {
    pthread_join(w[i]->thread, NULL);
    total += w[i]->replies;
    close(w[i]->fd);
    free(w[i]);
  }
  if (!quiet)
    fprintf(stderr, "kairos-floor: %s, %llu replies\n", strsignal(sig),
            (unsigned long long) total);
  return 0;
}
