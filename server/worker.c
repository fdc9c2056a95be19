/* worker.c - the request path shared by the I/O backends, control-message helpers, and
   the worker thread's start and stop. */
#include <errno.h>
#include <time.h> /* before linux/errqueue.h, which uses struct timespec */
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine/logging.h"
#include "engine/sched.h"
#include "server/reply.h"
#include "server/worker.h"

static void *worker_main(void *arg)
{
  WRK_Worker *w = arg;

  FRD_Init(&w->rng);
  w->result = w->backend->run(w);
  if (w->result < 0) {
    /* its SO_REUSEPORT sockets would still take its share of the clients: better to stop
       the daemon loudly than to leave them unanswered */
    LOG(LOGS_ERR, "server worker %d (%s) stopped: %s", w->id, w->backend->name,
        strerror(-w->result));
    SCH_QuitProgram();
  }
  return NULL;
}

int WRK_Start(WRK_Worker *w)
{
  sigset_t all, old;
  int r;

  w->stop = 0;
  w->result = 0;
  w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->wake_fd < 0)
    return -errno;
  /* workers take no signals: they all go to the engine thread, whose poll() they must
     interrupt (a handler run on a worker would leave it waiting for its 1 s cap) */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r = pthread_create(&w->thread, NULL, worker_main, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) {
    close(w->wake_fd);
    w->wake_fd = -1;
    return -r;
  }
  return 0;
}

void WRK_Stop(WRK_Worker *w)
{
  uint64_t one = 1;

  __atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
  if (write(w->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
    LOG(LOGS_WARN, "could not wake server worker %d: %s", w->id, strerror(errno));
}

int WRK_Join(WRK_Worker *w)
{
  pthread_join(w->thread, NULL);
  close(w->wake_fd);
  w->wake_fd = -1;
  return w->result;
}

void WRK_BeginBatch(WRK_Worker *w)
{
  CST_Read(&w->clock);
}

void WRK_PrepareRequest(WRK_Worker *w, WRK_Packet *pkt, const uint8_t *req, size_t len)
{
  CLG_Table *t = w->shared->clientlog;
  /* only what may be a client request (mode 3, or an NTPv1 request) is worth a client-log
     lookup: a flood of garbage costs no hashing and no cache misses */
  int maybe_request =
      len >= NWR_HEADER_LEN && ((req[0] & 7) == NWR_MODE_CLIENT || ((req[0] >> 3) & 7) == 1);

  pkt->have_key = maybe_request && t &&
                  CLG_MakeKey(t, (const struct sockaddr *) &pkt->peer, &pkt->key) == 0;
  if (pkt->have_key)
    CLG_Prefetch(t, &pkt->key);
}

WRK_Reply WRK_HandleRequest(WRK_Worker *w, const uint8_t *req, size_t len,
                            const WRK_Packet *pkt, uint8_t *reply)
{
  const WRK_Shared *sh = w->shared;
  WRK_Reply out;
  RPL_Context ctx;
  RPL_Request request;
  NWR_Ts64 prev_rx, prev_tx;
  int interleaved = 0;

  out.len = 0;
  out.stamp_tx = 0;
  out.logged = 0;
  out.want_tx_ts = 0;
  out.tx_key = 0;
  SVS_INC(w->stats, received);

  if (ACL_Check(sh->acl, (const struct sockaddr *) &pkt->peer) != ACL_ALLOW) {
    SVS_INC(w->stats, drop_acl);
    return out;
  }

  switch (RPL_ParseRequest(req, len, &request)) {
  case RPL_OK:
    break;
  case RPL_DROP_MODE:
    SVS_INC(w->stats, drop_mode);
    return out;
  default:
    SVS_INC(w->stats, drop_malformed);
    return out;
  }

  /* as chrony: tell a rate-limited client not to poll faster than the limit */
  if (request.poll < sh->min_poll)
    request.poll = (int8_t) sh->min_poll;

  memset(&ctx, 0, sizeof(ctx));
  ctx.clock = &w->clock;
  ctx.rx_system = pkt->rx;
  ctx.random = FRD_Next32(&w->rng);

  if (sh->clientlog) {
    CLG_Decision d =
        pkt->have_key ? CLG_LogNtpRequestKey(sh->clientlog, &pkt->key, &pkt->rx,
                                             FRD_Next32(&w->rng), &out.ref)
                      : CLG_LogNtpRequest(sh->clientlog, (const struct sockaddr *) &pkt->peer,
                                          &pkt->rx, FRD_Next32(&w->rng), &out.ref);

    if (out.ref.evicted)
      SVS_INC(w->stats, clientlog_evicted);
    if (d == CLG_DROP) {
      SVS_INC(w->stats, drop_ratelimit);
      return out;
    }
    if (d == CLG_KOD) {
      ctx.kod_rate = 1;
    } else if (request.version == 4 && RPL_MaybeOurReceive(&request.origin) &&
               CLG_GetInterleaved(sh->clientlog, &out.ref, &prev_rx, &prev_tx) &&
               RPL_IsInterleaved(&request, &prev_rx)) {
      /* RFC 9769: the client's origin is our previous receive timestamp, so it asks for
         the transmit timestamp of our previous reply */
      ctx.interleaved_tx = &prev_tx;
      interleaved = 1;
    }
  }

  out.len = RPL_BuildReply(&request, &ctx, reply, &out.rx_sent);
  if (ctx.kod_rate) {
    SVS_INC(w->stats, kod_rate);
    return out;
  }
  if (sh->clientlog) {
    CLG_SaveRx(sh->clientlog, &out.ref, &out.rx_sent);
    out.logged = 1;
  }
  if (interleaved) {
    SVS_INC(w->stats, interleaved);
    /* a client that asks for interleaved replies will ask for this one's TX time next:
       get the kernel's (only for these clients: a timestamp costs a trip through the
       error queue) */
    out.want_tx_ts = out.logged && sh->tx_timestamps;
  } else {
    out.stamp_tx = 1;
  }
  return out;
}

void WRK_FinishReply(WRK_Worker *w, uint8_t *reply, WRK_Reply *r, const struct timespec *now)
{
  NWR_Ts64 tx;

  if (!r->stamp_tx && !r->logged)
    return; /* a KoD: its timestamps are set, nothing to remember */
  if (r->stamp_tx)
    tx = RPL_StampTransmit(reply, &w->clock, now, FRD_Next32(&w->rng));
  else
    tx = RPL_ServedTs64(&w->clock, now, FRD_Next32(&w->rng));
  /* the transmit time of every reply, basic or interleaved, is what the client's next
     interleaved request will ask for; this is the software time just before the send */
  if (r->logged)
    CLG_SaveTx(w->shared->clientlog, &r->ref, &r->rx_sent, &tx);
  if (r->want_tx_ts) {
    WRK_TxPending *p;

    /* the worker's id in the top bits: workers sharing one socket (socket activation
       without SO_REUSEPORT) read each other's timestamps and must not take them */
    r->tx_key = (uint32_t) w->id << 24 | (w->tx_key++ & 0xffffff);
    p = &w->tx_pending[r->tx_key % WRK_TX_PENDING];
    p->ref = r->ref;
    p->rx_sent = r->rx_sent;
    p->key = r->tx_key;
    p->used = 1;
  }
}

void WRK_BuildMessage(WRK_Packet *pkt, const WRK_Reply *r, uint8_t *reply, struct iovec *iov,
                      void *ctl, struct msghdr *msg)
{
  iov->iov_base = reply;
  iov->iov_len = r->len;
  memset(msg, 0, sizeof(*msg));
  msg->msg_name = &pkt->peer;
  msg->msg_namelen = pkt->peer_len;
  msg->msg_iov = iov;
  msg->msg_iovlen = 1;
  msg->msg_controllen = WRK_WriteControl(pkt, r, ctl);
  msg->msg_control = msg->msg_controllen ? ctl : NULL;
}

void WRK_SendBatch(WRK_Worker *w, int fd, struct mmsghdr *msgs, int n)
{
  int i, sent = 0;

  while (sent < n) {
    int r = sendmmsg(fd, msgs + sent, (unsigned) (n - sent), 0);

    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
      /* the socket's send queue is full: the rest of the batch would fail the same way */
      for (; sent < n; sent++)
        SVS_INC(w->stats, drop_backlog);
      break;
    }
    if (r <= 0) {
      /* skip the datagram that failed and go on with the rest */
      SVS_INC(w->stats, drop_send);
      sent++;
      continue;
    }
    for (i = 0; i < r; i++)
      SVS_INC(w->stats, replied);
    sent += r;
  }
}

/* Read one message from fd's error queue: 1 if it is a software TX timestamp with its key
   (*ts, *key set), 0 for any other message, -1 when the queue is empty. */
static int read_tx_timestamp(int fd, struct timespec *ts, uint32_t *key)
{
  _Alignas(struct cmsghdr) uint8_t ctl[WRK_CMSG_SPACE];
  struct msghdr msg;
  struct cmsghdr *c;
  int have_ts = 0, have_key = 0;

  memset(&msg, 0, sizeof(msg));
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof(ctl);
  if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
    return -1;
  for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING &&
        c->cmsg_len >= CMSG_LEN(sizeof(struct scm_timestamping))) {
      struct scm_timestamping st;

      memcpy(&st, CMSG_DATA(c), sizeof(st));
      *ts = st.ts[0];
      have_ts = ts->tv_sec != 0 || ts->tv_nsec != 0;
    } else if (((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) &&
               c->cmsg_len >= CMSG_LEN(sizeof(struct sock_extended_err))) {
      struct sock_extended_err ee;

      memcpy(&ee, CMSG_DATA(c), sizeof(ee));
      if (ee.ee_errno == ENOMSG && ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING) {
        *key = ee.ee_data;
        have_key = 1;
      }
    }
  }
  return have_ts && have_key;
}

void WRK_ReadErrQueue(WRK_Worker *w, int fd)
{
  struct timespec ts;
  uint32_t key;
  int i, r;

  /* bounded: a socket cannot keep the worker here */
  for (i = 0; i < 64 && (r = read_tx_timestamp(fd, &ts, &key)) >= 0; i++) {
    WRK_TxPending *p = &w->tx_pending[key % WRK_TX_PENDING];

    if (r == 1 && p->used && p->key == key) {
      NWR_Ts64 tx = RPL_ServedTs64(&w->clock, &ts, FRD_Next32(&w->rng));

      CLG_SaveTx(w->shared->clientlog, &p->ref, &p->rx_sent, &tx);
      p->used = 0;
      SVS_INC(w->stats, tx_timestamps);
    }
  }
}

void WRK_ReadControl(struct msghdr *msg, WRK_Packet *pkt)
{
  struct cmsghdr *c;
  int have_rx = 0;

  pkt->have_local = 0;
  for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
        c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
      memcpy(&pkt->rx, CMSG_DATA(c), sizeof(struct timespec));
      have_rx = 1;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
               c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
      memcpy(&pkt->local4, CMSG_DATA(c), sizeof(struct in_pktinfo));
      pkt->have_local = 1;
      pkt->family = AF_INET;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
               c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
      memcpy(&pkt->local6, CMSG_DATA(c), sizeof(struct in6_pktinfo));
      pkt->have_local = 1;
      pkt->family = AF_INET6;
    }
  }
  if (!have_rx)
    clock_gettime(CLOCK_REALTIME, &pkt->rx);
}

#ifndef SCM_TS_OPT_ID
#define SCM_TS_OPT_ID 81 /* Linux 6.13, include/uapi/asm-generic/socket.h */
#endif

/* SO_TIMESTAMPING (TX software) and SCM_TS_OPT_ID (the key) control messages at c;
   returns the bytes used. */
static size_t write_tx_request(struct cmsghdr *c, uint32_t key)
{
  uint32_t flags = SOF_TIMESTAMPING_TX_SOFTWARE;

  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SO_TIMESTAMPING;
  c->cmsg_len = CMSG_LEN(sizeof(flags));
  memcpy(CMSG_DATA(c), &flags, sizeof(flags));
  c = (struct cmsghdr *) ((uint8_t *) c + CMSG_SPACE(sizeof(flags)));
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_TS_OPT_ID;
  c->cmsg_len = CMSG_LEN(sizeof(key));
  memcpy(CMSG_DATA(c), &key, sizeof(key));
  return CMSG_SPACE(sizeof(flags)) + CMSG_SPACE(sizeof(key));
}

static size_t write_pktinfo(const WRK_Packet *pkt, struct cmsghdr *c)
{
  if (pkt->family == AF_INET) {
    struct in_pktinfo pi;

    memset(&pi, 0, sizeof(pi));
    pi.ipi_spec_dst = pkt->local4.ipi_addr;
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    return CMSG_SPACE(sizeof(pi));
  } else {
    struct in6_pktinfo pi;

    memset(&pi, 0, sizeof(pi));
    pi.ipi6_addr = pkt->local6.ipi6_addr;
    /* a link-local destination needs its interface to route the reply */
    pi.ipi6_ifindex = pkt->local6.ipi6_ifindex;
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    return CMSG_SPACE(sizeof(pi));
  }
}

size_t WRK_WriteControl(const WRK_Packet *pkt, const WRK_Reply *r, void *buf)
{
  size_t len = 0;

  memset(buf, 0, WRK_CMSG_SPACE);
  if (pkt->have_local)
    len += write_pktinfo(pkt, (struct cmsghdr *) buf);
  if (r->want_tx_ts)
    len += write_tx_request((struct cmsghdr *) ((uint8_t *) buf + len), r->tx_key);
  return len;
}

static int enable_tx_timestamps(int fd)
{
  int flags =
      SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;

  return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) < 0 ? -errno : 0;
}

int WRK_ProbeTxTimestamps(void)
{
  _Alignas(struct cmsghdr) uint8_t ctl[WRK_CMSG_SPACE];
  const uint32_t key = 0x6b616972; /* any key: the probe checks that it comes back */
  struct sockaddr_in sin;
  socklen_t len = sizeof(sin);
  struct msghdr msg;
  struct iovec iov;
  struct pollfd pfd;
  uint8_t byte = 0;
  int fd, ok = 0;

  fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return 0;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) < 0 ||
      getsockname(fd, (struct sockaddr *) &sin, &len) < 0 || enable_tx_timestamps(fd) < 0)
    goto out;

  memset(ctl, 0, sizeof(ctl));
  memset(&msg, 0, sizeof(msg));
  iov.iov_base = &byte;
  iov.iov_len = 1;
  msg.msg_name = &sin;
  msg.msg_namelen = sizeof(sin);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = write_tx_request((struct cmsghdr *) ctl, key);
  if (sendmsg(fd, &msg, 0) < 0)
    goto out; /* an older kernel refuses the unknown control message */

  pfd.fd = fd;
  pfd.events = 0;
  if (poll(&pfd, 1, 200) == 1 && (pfd.revents & POLLERR)) {
    struct timespec ts;
    uint32_t got = 0;

    ok = read_tx_timestamp(fd, &ts, &got) == 1 && got == key;
  }
out:
  close(fd);
  return ok;
}

int WRK_ConfigureSocket(int fd, int family, int tx_timestamps, int pktinfo)
{
  int on = 1, r;

  if (tx_timestamps && (r = enable_tx_timestamps(fd)) < 0)
    return r;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) < 0)
    return -errno;
  if (!pktinfo)
    return 0;
  if (family == AF_INET && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0)
    return -errno;
  if (family == AF_INET6 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) < 0)
    return -errno;
  return 0;
}
