/* kairos-perf-garbage.c - --garbage: a bounded mix of packets a server must survive and
   should not answer (random bytes, truncated requests, mode 6 and 7, malformed extension
   fields, oversized requests, unsolicited mode 1/2/4/5 packets), with the replies counted
   by category and checked against amplification. Main thread only.

   Each category sends from its own socket, so a reply tells its category by the socket
   it arrives on; over IPv4 the source address 127.(200+category).I.J also names the
   request, so a reply is compared with the length of the very request it answers. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "engine/ntpwire.h"
#include "perf/kairos-perf.h"

#define MAX_LEN   1400
#define RX_BUF    2048
#define FIRST_NET 200 /* IPv4 sources 127.200.0.0 .. 127.209.255.255 */

enum {
  G_RANDOM,
  G_TRUNCATED,
  G_MODE6,
  G_MODE7,
  G_BADEXT,
  G_OVERSIZED,
  G_MODE1,
  G_MODE2,
  G_MODE4,
  G_MODE5,
  G_MAX
};

static const char *const cat_names[G_MAX] = {
  "random",    "truncated", "mode6", "mode7", "bad_ext",
  "oversized", "mode1",     "mode2", "mode4", "mode5",
};

typedef struct {
  uint64_t sent;
  uint64_t send_errors;
  uint64_t replies;
  uint64_t amplified; /* replies longer than their request */
  unsigned int max_req;
  unsigned int max_reply;
} Category;

typedef struct {
  int fd[G_MAX];
  Category cat[G_MAX];
  uint16_t *req_len; /* by request number (IPv4) */
  uint64_t foreign;  /* packets not from the server */
  uint64_t rng;
} Garbage;

static void rand_bytes(uint64_t *rng, uint8_t *p, size_t n)
{
  uint64_t v = 0;
  size_t i;

  for (i = 0; i < n; i++) {
    if (i % 8 == 0)
      v = PRF_Rand(rng);
    p[i] = (uint8_t) v;
    v >>= 8;
  }
}

/* A well-formed header of the given mode with a random transmit timestamp */
static void header(uint64_t *rng, int version, int mode, uint8_t *p)
{
  NWR_Header h;
  struct timespec now;

  memset(&h, 0, sizeof(h));
  clock_gettime(CLOCK_REALTIME, &now);
  h.version = (uint8_t) version;
  h.mode = (uint8_t) mode;
  if (mode != NWR_MODE_CLIENT) {
    h.stratum = 2;
    h.poll = 6;
    h.precision = -20;
    h.root_delay = NWR_DoubleToShort(0.001);
    h.root_dispersion = NWR_DoubleToShort(0.001);
    h.refid = NWR_REFID(127, 127, 1, 1);
    NWR_TimespecToTs64(&now, &h.reference);
    NWR_TimespecToTs64(&now, &h.receive);
    if (mode == NWR_MODE_SERVER || mode == NWR_MODE_SYMMETRIC_PASSIVE)
      NWR_U64ToTs64(PRF_Rand(rng), &h.origin);
  }
  NWR_U64ToTs64(PRF_Rand(rng) | 1, &h.transmit);
  NWR_EncodeHeader(&h, p);
}

/* Build packet number idx of a category. Returns its length. */
static size_t make_packet(int cat, uint64_t idx, uint64_t *rng, int version, uint8_t *p)
{
  size_t len;
  unsigned int mode, ext_len;
  static const uint16_t bad_lens[] = { 0, 3, 4, 8, 12, 17, 1000, 0xffff };

  switch (cat) {
  case G_RANDOM:
    len = 1 + PRF_Rand(rng) % MAX_LEN;
    rand_bytes(rng, p, len);
    /* Not a client request (mode 3, or mode 0 read as NTPv1) nor mode 1, which a server
       may answer: random bytes should get no reply */
    do {
      p[0] = (uint8_t) PRF_Rand(rng);
      mode = p[0] & 7;
    } while (mode == 0 || mode == 1 || mode == 3);
    return len;
  case G_TRUNCATED:
    header(rng, version, NWR_MODE_CLIENT, p);
    return idx % NWR_HEADER_LEN;
  case G_MODE6:
    /* ntpq: 12-octet control header; opcodes READSTAT, READVAR, REQ_NONCE, READ_MRU */
    memset(p, 0, NWR_HEADER_LEN);
    p[0] = (uint8_t) (version << 3 | NWR_MODE_CONTROL);
    p[1] = (uint8_t[]){ 1, 2, 12, 10 }[idx % 4];
    p[2] = (uint8_t) (idx >> 8);
    p[3] = (uint8_t) idx;
    return idx % 2 ? NWR_HEADER_LEN : 12;
  case G_MODE7:
    /* ntpdc: MON_GETLIST_1 (the monlist amplification) and friends, XNTPD and old XNTPD */
    memset(p, 0, NWR_HEADER_LEN);
    p[0] = (uint8_t) (2 << 3 | NWR_MODE_PRIVATE);
    p[2] = idx % 2 ? 3 : 2;
    p[3] = (uint8_t[]){ 42, 0, 1, 20 }[idx / 2 % 4];
    return idx % 3 ? NWR_HEADER_LEN : 8;
  case G_BADEXT:
    /* A client request with one extension field whose length is impossible */
    header(rng, NWR_VERSION, NWR_MODE_CLIENT, p);
    ext_len = 16 + 4 * (unsigned int) (PRF_Rand(rng) % 12);
    len = NWR_HEADER_LEN + ext_len;
    rand_bytes(rng, p + NWR_HEADER_LEN, ext_len);
    p[NWR_HEADER_LEN] = 0x01;
    p[NWR_HEADER_LEN + 1] = 0x04;
    p[NWR_HEADER_LEN + 2] = (uint8_t) (bad_lens[idx % 8] >> 8);
    p[NWR_HEADER_LEN + 3] = (uint8_t) bad_lens[idx % 8];
    return idx % 3 == 2 ? len - 1 : len;
  case G_OVERSIZED:
    header(rng, version, NWR_MODE_CLIENT, p);
    len = 1024 + PRF_Rand(rng) % (MAX_LEN - 1024 + 1);
    rand_bytes(rng, p + NWR_HEADER_LEN, len - NWR_HEADER_LEN);
    return len;
  default:
    mode = (unsigned int[]){ NWR_MODE_SYMMETRIC_ACTIVE, NWR_MODE_SYMMETRIC_PASSIVE,
                             NWR_MODE_SERVER, NWR_MODE_BROADCAST }[cat - G_MODE1];
    header(rng, version, (int) mode, p);
    return NWR_HEADER_LEN;
  }
}

static void handle_reply(PRF_Run *r, Garbage *g, int cat, struct msghdr *mh, unsigned int len)
{
  const PNT_Addr *from = mh->msg_name;
  PNT_CmsgInfo ci;
  Category *c = &g->cat[cat];
  unsigned int req = c->max_req;
  uint32_t dst;
  uint64_t n;

  if (!PNT_SameAddr(from, &r->server)) {
    g->foreign++;
    return;
  }
  c->replies++;
  if (mh->msg_flags & MSG_TRUNC)
    len = RX_BUF + 1;
  if (len > c->max_reply)
    c->max_reply = len;
  PNT_ParseCmsgs(mh, &ci);
  if (r->clients.family == AF_INET && ci.have_dst) {
    dst = ntohl(ci.dst4);
    if ((dst >> 16 & 0xff) == (uint32_t) (FIRST_NET + cat)) {
      n = (uint64_t) (dst & 0xffff) * G_MAX + (uint64_t) cat;
      if (n < r->opt.count)
        req = g->req_len[n];
    }
  }
  if (len > req)
    c->amplified++;
}

static void drain(PRF_Run *r, Garbage *g, uint64_t timeout_ns)
{
  struct pollfd pfd[G_MAX];
  struct timespec ts = { (time_t) (timeout_ns / 1000000000U),
                         (long) (timeout_ns % 1000000000U) };
  static uint8_t buf[RX_BUF];
  union {
    char b[512];
    struct cmsghdr align;
  } ctl;
  PNT_Addr from;
  struct iovec iov = { buf, sizeof(buf) };
  struct msghdr mh;
  ssize_t n;
  int i;

  for (i = 0; i < G_MAX; i++) {
    pfd[i].fd = g->fd[i];
    pfd[i].events = POLLIN;
  }
  if (ppoll(pfd, G_MAX, &ts, NULL) <= 0)
    return;
  for (i = 0; i < G_MAX; i++) {
    if (!(pfd[i].revents & POLLIN))
      continue;
    for (;;) {
      memset(&mh, 0, sizeof(mh));
      mh.msg_name = &from;
      mh.msg_namelen = sizeof(from);
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = ctl.b;
      mh.msg_controllen = sizeof(ctl.b);
      n = recvmsg(g->fd[i], &mh, MSG_DONTWAIT);
      if (n < 0)
        break;
      handle_reply(r, g, i, &mh, (unsigned int) n);
    }
  }
}

static int send_one(PRF_Run *r, Garbage *g, uint64_t n)
{
  static uint8_t pkt[MAX_LEN];
  union {
    char b[PNT_SRC_CMSG_SPACE];
    struct cmsghdr align;
  } ctl;
  struct in_pktinfo pi;
  struct cmsghdr *cm;
  struct iovec iov;
  struct msghdr mh;
  int cat = (int) (n % G_MAX);
  uint64_t idx = n / G_MAX;
  size_t len = make_packet(cat, idx, &g->rng, r->opt.version, pkt);
  Category *c = &g->cat[cat];

  iov.iov_base = pkt;
  iov.iov_len = len;
  memset(&mh, 0, sizeof(mh));
  mh.msg_name = &r->server;
  mh.msg_namelen = r->server_len;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (r->clients.family == AF_INET) {
    memset(&ctl, 0, sizeof(ctl));
    memset(&pi, 0, sizeof(pi));
    pi.ipi_spec_dst.s_addr =
        htonl(0x7f000000U | (uint32_t) (FIRST_NET + cat) << 16 | (uint32_t) (idx & 0xffff));
    mh.msg_control = ctl.b;
    mh.msg_controllen = CMSG_SPACE(sizeof(pi));
    cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
    g->req_len[n] = (uint16_t) len;
  }
  if (len > c->max_req)
    c->max_req = (unsigned int) len;
  if (sendmsg(g->fd[cat], &mh, 0) < 0) {
    c->send_errors++;
    r->last_send_errno = errno;
    return -errno;
  }
  c->sent++;
  return 0;
}

static void report(PRF_Run *r, Garbage *g, double wall_s)
{
  uint64_t sent = 0, replies = 0, amplified = 0, errors = 0;
  char addr[INET6_ADDRSTRLEN];
  int i;

  for (i = 0; i < G_MAX; i++) {
    sent += g->cat[i].sent;
    replies += g->cat[i].replies;
    amplified += g->cat[i].amplified;
    errors += g->cat[i].send_errors;
  }
  PNT_AddrToString(&r->server, addr, sizeof(addr));
  if (r->opt.json) {
    printf("{\"tool\":\"kairos-perf\",\"mode\":\"garbage\",\"server\":\"%s\",\"port\":%u,"
           "\"duration_s\":%.3f,\"interrupted\":%s,\"capped\":%s,\"sent\":%llu,"
           "\"send_errors\":%llu,\"replies\":%llu,\"amplified\":%llu,\"foreign\":%llu,"
           "\"categories\":{",
           addr, r->opt.port, wall_s, r->interrupted ? "true" : "false",
           r->capped ? "true" : "false", (unsigned long long) sent,
           (unsigned long long) errors, (unsigned long long) replies,
           (unsigned long long) amplified, (unsigned long long) g->foreign);
    for (i = 0; i < G_MAX; i++)
      printf("%s\"%s\":{\"sent\":%llu,\"replies\":%llu,\"amplified\":%llu,"
             "\"max_request_len\":%u,\"max_reply_len\":%u}",
             i ? "," : "", cat_names[i], (unsigned long long) g->cat[i].sent,
             (unsigned long long) g->cat[i].replies, (unsigned long long) g->cat[i].amplified,
             g->cat[i].max_req, g->cat[i].max_reply);
    printf("}}\n");
    return;
  }
  printf("kairos-perf --garbage: %s port %u, %.2f s%s%s\n", addr, r->opt.port, wall_s,
         r->interrupted ? " (interrupted)" : "", r->capped ? " (hard time cap)" : "");
  printf("%-10s %8s %8s %9s %8s %9s\n", "category", "sent", "replies", "amplified", "max req",
         "max reply");
  for (i = 0; i < G_MAX; i++)
    printf("%-10s %8llu %8llu %9llu %8u %9u\n", cat_names[i],
           (unsigned long long) g->cat[i].sent, (unsigned long long) g->cat[i].replies,
           (unsigned long long) g->cat[i].amplified, g->cat[i].max_req, g->cat[i].max_reply);
  printf("%-10s %8llu %8llu %9llu\n", "total", (unsigned long long) sent,
         (unsigned long long) replies, (unsigned long long) amplified);
  if (errors)
    printf("send errors %llu (last: %s)\n", (unsigned long long) errors,
           strerror(r->last_send_errno));
  if (g->foreign)
    printf("packets from other addresses: %llu\n", (unsigned long long) g->foreign);
}

int PGB_Run(PRF_Run *r)
{
  Garbage *g;
  uint64_t n, start, now = 0, due, end, interval_ns;
  int i, ts, fd, ret = 1;

  g = calloc(1, sizeof(*g));
  if (!g)
    return 1;
  for (i = 0; i < G_MAX; i++)
    g->fd[i] = -1;
  /* 65536 requests per category fit the IPv4 source numbering */
  if (r->opt.count > (uint64_t) G_MAX * 65536)
    r->opt.count = (uint64_t) G_MAX * 65536;
  g->req_len = calloc(r->opt.count ? r->opt.count : 1, sizeof(uint16_t));
  if (!g->req_len)
    goto out;
  g->rng = r->opt.seed;
  for (i = 0; i < G_MAX; i++) {
    fd = PNT_OpenSocket(r->clients.family, 0, 0, &ts);
    if (fd < 0) {
      fprintf(stderr, "kairos-perf: socket: %s\n", strerror(-fd));
      goto out;
    }
    g->fd[i] = fd;
  }

  start = PRF_MonoNs();
  interval_ns = (uint64_t) (1e9 / r->opt.rate);
  for (n = 0; n < r->opt.count && !atomic_load(&r->stop); n++) {
    due = start + n * interval_ns;
    while ((now = PRF_MonoNs()) < due && now < r->deadline_ns && !atomic_load(&r->stop))
      drain(r, g, due - now);
    if (now >= r->deadline_ns) {
      r->capped = 1;
      break;
    }
    send_one(r, g, n);
  }
  /* The replies that are still coming */
  end = PRF_MonoNs() + r->table.timeout_ns;
  if (end > r->deadline_ns)
    end = r->deadline_ns;
  while (!atomic_load(&r->stop) && (now = PRF_MonoNs()) < end)
    drain(r, g, end - now < 20000000U ? end - now : 20000000U);
  report(r, g, (double) (PRF_MonoNs() - start) * 1e-9);
  ret = 0;
out:
  for (i = 0; i < G_MAX; i++)
    if (g->fd[i] >= 0)
      close(g->fd[i]);
  free(g->req_len);
  free(g);
  return ret;
}
