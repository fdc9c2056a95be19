/* worker.c - the request path shared by the I/O backends, control-message helpers, and
   the worker thread's start and stop. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine/logging.h"
#include "server/reply.h"
#include "server/worker.h"

static void *worker_main(void *arg)
{
  WRK_Worker *w = arg;

  FRD_Init(&w->rng);
  w->result = w->backend->run(w);
  if (w->result < 0)
    LOG(LOGS_ERR, "server worker %d (%s) stopped: %s", w->id, w->backend->name,
        strerror(-w->result));
  return NULL;
}

int WRK_Start(WRK_Worker *w)
{
  int r;

  w->stop = 0;
  w->result = 0;
  w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->wake_fd < 0)
    return -errno;
  r = pthread_create(&w->thread, NULL, worker_main, w);
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

  memset(&ctx, 0, sizeof(ctx));
  ctx.clock = &w->clock;
  ctx.rx_system = pkt->rx;
  ctx.random = FRD_Next32(&w->rng);

  if (sh->clientlog) {
    CLG_Decision d = CLG_LogNtpRequest(sh->clientlog, (const struct sockaddr *) &pkt->peer,
                                       &pkt->rx, FRD_Next32(&w->rng), &out.ref);

    if (out.ref.evicted)
      SVS_INC(w->stats, clientlog_evicted);
    if (d == CLG_DROP) {
      SVS_INC(w->stats, drop_ratelimit);
      return out;
    }
    if (d == CLG_KOD) {
      ctx.kod_rate = 1;
    } else if (!NWR_Ts64IsZero(&request.origin) &&
               CLG_GetInterleaved(sh->clientlog, &out.ref, &prev_rx, &prev_tx) &&
               NWR_Ts64Equal(&request.origin, &prev_rx) &&
               !NWR_Ts64Equal(&request.receive, &request.transmit)) {
      /* RFC 9769: the client's origin is our previous receive timestamp, so it asks for
         the transmit timestamp of our previous reply */
      ctx.interleaved_rx = &prev_rx;
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
  if (interleaved)
    SVS_INC(w->stats, interleaved);
  else
    out.stamp_tx = 1;
  return out;
}

void WRK_FinishReply(WRK_Worker *w, uint8_t *reply, const WRK_Reply *r)
{
  struct timespec now;
  NWR_Ts64 tx;

  if (!r->stamp_tx && !r->logged)
    return; /* a KoD: its timestamps are set, nothing to remember */
  clock_gettime(CLOCK_REALTIME, &now);
  if (r->stamp_tx)
    tx = RPL_StampTransmit(reply, &w->clock, &now, FRD_Next32(&w->rng));
  else
    tx = RPL_ServedTs64(&w->clock, &now, FRD_Next32(&w->rng));
  /* the transmit time of every reply, basic or interleaved, is what the client's next
     interleaved request will ask for; this is the software time just before the send */
  if (r->logged)
    CLG_SaveTx(w->shared->clientlog, &r->ref, &r->rx_sent, &tx);
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

size_t WRK_WriteControl(const WRK_Packet *pkt, void *buf)
{
  struct msghdr msg;
  struct cmsghdr *c;

  if (!pkt->have_local)
    return 0;
  memset(buf, 0, WRK_CMSG_SPACE);
  memset(&msg, 0, sizeof(msg));
  msg.msg_control = buf;
  msg.msg_controllen = WRK_CMSG_SPACE;
  c = CMSG_FIRSTHDR(&msg);
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

int WRK_ConfigureSocket(int fd, int family)
{
  int on = 1;

  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) < 0)
    return -errno;
  if (family == AF_INET && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0)
    return -errno;
  if (family == AF_INET6 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) < 0)
    return -errno;
  return 0;
}
