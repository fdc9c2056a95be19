/* io_uring.c - the default I/O backend: one io_uring per worker, a multishot recvmsg per
   socket drawing on a ring of provided buffers, and the replies of each round of
   completions sent together with one sendmmsg per socket. A kernel without what this
   needs makes probe fail, and the server falls back to the mmsg backend.
   Worker thread only. */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/logging.h"
#include "server/worker.h"

/* The buffer ring hands its buffers out in turn, so all of them are touched: 64 stay
   within L2 where 1024 (1.6 MiB) did not. A longer round ends the multishot with -ENOBUFS;
   it is re-armed and the socket keeps the rest. */
#define RING_ENTRIES 1024
#define N_BUFS       64 /* provided receive buffers (a power of two) */
#define BUF_GROUP    0
#define SEND_SLOTS   512

/* name + control + payload of one received datagram, after the kernel's header */
#define BUF_SIZE                                                                              \
  (sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_storage) + WRK_CMSG_SPACE +   \
   WRK_MAX_REQUEST)

/* user_data: the kind in the top byte, an index below */
#define UD_RECV      (1ULL << 56)
#define UD_WAKE      (3ULL << 56)
#define UD_ERRQ      (4ULL << 56)
#define UD_CANCEL    (5ULL << 56)
#define UD_KIND(ud)  ((ud) & (0xffULL << 56))
#define UD_INDEX(ud) ((ud) & ((1ULL << 56) - 1))

typedef struct {
  struct msghdr msg;
  struct iovec iov;
  WRK_Packet pkt;
  WRK_Reply reply;
  int fd_index; /* the reply leaves on the socket the request came in on */
  int bid;      /* the provided buffer holding the request */
  const uint8_t *req;
  size_t req_len;
  uint8_t buf[WRK_MAX_REQUEST];
  _Alignas(struct cmsghdr) uint8_t ctl[WRK_CMSG_SPACE];
} Slot; /* a datagram of a round: the request taken, then its reply */

typedef struct {
  struct io_uring ring;
  struct io_uring_buf_ring *br;
  uint8_t *bufs;
  struct msghdr recv_tmpl; /* tells the kernel how much room name and control take */
  Slot *slots;
  int free_slots[SEND_SLOTS];
  int n_free;
  int taken[SEND_SLOTS]; /* slots holding requests of this round, to answer */
  int n_taken;
  int pending[SEND_SLOTS]; /* slots holding replies of this round, to stamp and send */
  struct mmsghdr batch[SEND_SLOTS];
  int n_pending;
  int bufs_returned;
  unsigned rearm_mask; /* sockets whose receive could not be re-armed: retried each round */
  unsigned errq_rearm_mask; /* likewise for their error-queue polls */
  uint64_t wake_value;
} Uring;

static int init_ring(struct io_uring *ring)
{
  struct io_uring_params p;
  int r;

  memset(&p, 0, sizeof(p));
  /* one thread submits and reaps: let the kernel run completions only when we wait */
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  r = io_uring_queue_init_params(RING_ENTRIES, ring, &p);
  if (r == -EINVAL) {
    memset(&p, 0, sizeof(p));
    r = io_uring_queue_init_params(RING_ENTRIES, ring, &p);
  }
  return r;
}

static struct io_uring_sqe *get_sqe(Uring *u)
{
  struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

  if (!sqe) {
    io_uring_submit(&u->ring);
    sqe = io_uring_get_sqe(&u->ring);
  }
  return sqe;
}

static int arm_recv(Uring *u, WRK_Worker *w, int index)
{
  struct io_uring_sqe *sqe = get_sqe(u);

  if (!sqe)
    return -EBUSY;
  io_uring_prep_recvmsg_multishot(sqe, w->fds[index], &u->recv_tmpl, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BUF_GROUP;
  io_uring_sqe_set_data64(sqe, UD_RECV | (uint64_t) index);
  return 0;
}

/* Kernel TX timestamps arrive on a socket's error queue, which poll reports as POLLERR. */
static int arm_errqueue(Uring *u, WRK_Worker *w, int index)
{
  struct io_uring_sqe *sqe = get_sqe(u);

  if (!sqe)
    return -EBUSY;
  io_uring_prep_poll_multishot(sqe, w->fds[index], POLLERR);
  io_uring_sqe_set_data64(sqe, UD_ERRQ | (uint64_t) index);
  return 0;
}

static int arm_wake(Uring *u, WRK_Worker *w)
{
  struct io_uring_sqe *sqe = get_sqe(u);

  if (!sqe)
    return -EBUSY;
  io_uring_prep_read(sqe, w->wake_fd, &u->wake_value, sizeof(u->wake_value), 0);
  io_uring_sqe_set_data64(sqe, UD_WAKE);
  return 0;
}

static void answer_taken(Uring *u, WRK_Worker *w);
static void send_replies(Uring *u, WRK_Worker *w);

static void return_buffer(Uring *u, int bid)
{
  io_uring_buf_ring_add(u->br, u->bufs + (size_t) bid * BUF_SIZE, BUF_SIZE,
                        (unsigned short) bid, io_uring_buf_ring_mask(N_BUFS),
                        u->bufs_returned++);
}

/* First pass over a round's completions: take the datagram's address, control data and
   payload into a slot, and start fetching its client-log record. */
static void take_datagram(Uring *u, WRK_Worker *w, struct io_uring_cqe *cqe, int fd_index)
{
  int bid = (int) (cqe->flags >> IORING_CQE_BUFFER_SHIFT);
  uint8_t *buf = u->bufs + (size_t) bid * BUF_SIZE;
  struct io_uring_recvmsg_out *out;
  struct msghdr ctl;
  Slot *s;
  int slot;

  out = io_uring_recvmsg_validate(buf, cqe->res, &u->recv_tmpl);
  if (!out) {
    SVS_INC(w->stats, received);
    SVS_INC(w->stats, drop_malformed);
    return_buffer(u, bid);
    return;
  }
  if (u->n_free == 0)
    answer_taken(u, w); /* a long round: answer what is taken to free the slots */
  slot = u->free_slots[--u->n_free];
  s = &u->slots[slot];
  s->fd_index = fd_index;
  s->bid = bid;

  memset(&s->pkt.peer, 0, sizeof(s->pkt.peer));
  s->pkt.peer_len = out->namelen <= sizeof(s->pkt.peer) ? out->namelen : sizeof(s->pkt.peer);
  memcpy(&s->pkt.peer, io_uring_recvmsg_name(out), s->pkt.peer_len);

  memset(&ctl, 0, sizeof(ctl));
  ctl.msg_control = io_uring_recvmsg_cmsg_firsthdr(out, &u->recv_tmpl);
  ctl.msg_controllen = ctl.msg_control ? out->controllen : 0;
  WRK_ReadControl(&ctl, &s->pkt);

  s->req = io_uring_recvmsg_payload(out, &u->recv_tmpl);
  s->req_len = io_uring_recvmsg_payload_length(out, cqe->res, &u->recv_tmpl);
  if (out->flags & MSG_TRUNC)
    s->req_len = 0; /* longer than any request we answer: malformed */
  WRK_PrepareRequest(w, &s->pkt, s->req, s->req_len);
  u->taken[u->n_taken++] = slot;
}

/* Second pass: answer the taken datagrams (their records are in cache by now), give their
   buffers back, and send the replies. */
static void answer_taken(Uring *u, WRK_Worker *w)
{
  int i;

  for (i = 0; i < u->n_taken; i++) {
    int slot = u->taken[i];
    Slot *s = &u->slots[slot];

    s->reply = WRK_HandleRequest(w, s->req, s->req_len, &s->pkt, s->buf);
    return_buffer(u, s->bid);
    if (s->reply.len == 0)
      u->free_slots[u->n_free++] = slot;
    else
      u->pending[u->n_pending++] = slot;
  }
  u->n_taken = 0;
  send_replies(u, w);
}

/* Stamp the round's replies as late as possible and send them, one sendmmsg per socket:
   io_uring's per-message sendmsg costs more per reply than one batched system call. */
static void send_replies(Uring *u, WRK_Worker *w)
{
  struct timespec now;
  int i, f;

  clock_gettime(CLOCK_REALTIME, &now);
  for (i = 0; i < u->n_pending; i++) {
    Slot *s = &u->slots[u->pending[i]];

    WRK_FinishReply(w, s->buf, &s->reply, &now);
    WRK_BuildMessage(&s->pkt, &s->reply, s->buf, &s->iov, s->ctl, &s->msg);
  }

  for (f = 0; f < w->n_fds; f++) {
    int n = 0;

    for (i = 0; i < u->n_pending; i++) {
      Slot *s = &u->slots[u->pending[i]];

      if (s->fd_index == f)
        u->batch[n++].msg_hdr = s->msg;
    }
    WRK_SendBatch(w, w->fds[f], u->batch, n);
  }

  for (i = 0; i < u->n_pending; i++)
    u->free_slots[u->n_free++] = u->pending[i];
  u->n_pending = 0;
}

static int setup(Uring *u, WRK_Worker *w)
{
  struct io_uring_buf_reg reg;
  size_t ring_size = N_BUFS * sizeof(struct io_uring_buf);
  int i, r;

  memset(u, 0, sizeof(*u));
  r = init_ring(&u->ring);
  if (r < 0)
    return r;
  io_uring_register_ring_fd(&u->ring); /* cheaper io_uring_enter; fine if it fails */

  if (posix_memalign((void **) &u->br, (size_t) sysconf(_SC_PAGESIZE), ring_size) != 0)
    return -ENOMEM;
  u->bufs = malloc((size_t) N_BUFS * BUF_SIZE);
  u->slots = calloc(SEND_SLOTS, sizeof(*u->slots));
  if (!u->bufs || !u->slots)
    return -ENOMEM;

  memset(&reg, 0, sizeof(reg));
  reg.ring_addr = (unsigned long) (uintptr_t) u->br;
  reg.ring_entries = N_BUFS;
  reg.bgid = BUF_GROUP;
  r = io_uring_register_buf_ring(&u->ring, &reg, 0);
  if (r < 0)
    return r;
  io_uring_buf_ring_init(u->br);
  for (i = 0; i < N_BUFS; i++)
    return_buffer(u, i);
  io_uring_buf_ring_advance(u->br, u->bufs_returned);
  u->bufs_returned = 0;

  for (i = 0; i < SEND_SLOTS; i++)
    u->free_slots[i] = SEND_SLOTS - 1 - i;
  u->n_free = SEND_SLOTS;

  u->recv_tmpl.msg_namelen = sizeof(struct sockaddr_storage);
  u->recv_tmpl.msg_controllen = WRK_CMSG_SPACE;

  for (i = 0; i < w->n_fds; i++) {
    if ((r = arm_recv(u, w, i)) < 0)
      return r;
    if (w->shared->tx_timestamps && (r = arm_errqueue(u, w, i)) < 0)
      return r;
  }
  return w->wake_fd >= 0 ? arm_wake(u, w) : 0;
}

/* Cancel every request still in flight and reap their last completions, so the ring
   holds no reference to our sockets when it goes: the kernel tears a ring down
   asynchronously, and a socket it still referenced would stay bound for a moment after
   kairosd exits, making a quick restart find the port "in use". */
static void cancel_all(Uring *u)
{
  struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
  struct __kernel_timespec ts = { 0, 20000000 }; /* 20 ms of quiet: all reaped */
  struct io_uring_cqe *cqe;
  int i;

  if (!sqe)
    return;
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
  io_uring_sqe_set_data64(sqe, UD_CANCEL);
  io_uring_submit(&u->ring);
  /* bounded: at most a few dozen requests are in flight (one receive and one error-queue
     poll per socket, the wake read, the cancel itself) */
  for (i = 0; i < 64; i++) {
    if (io_uring_wait_cqe_timeout(&u->ring, &cqe, &ts) < 0)
      break;
    io_uring_cqe_seen(&u->ring, cqe);
  }
}

static void teardown(Uring *u)
{
  if (u->ring.ring_fd > 0) {
    cancel_all(u);
    io_uring_queue_exit(&u->ring);
  }
  free(u->br);
  free(u->bufs);
  free(u->slots);
}

static int uring_run(WRK_Worker *w)
{
  Uring *u = malloc(sizeof(*u));
  int r;

  if (!u)
    return -ENOMEM;
  r = setup(u, w);

  while (r == 0 && !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    int i;

    for (i = 0; (u->rearm_mask || u->errq_rearm_mask) && i < w->n_fds; i++) {
      if ((u->rearm_mask & (1U << i)) && arm_recv(u, w, i) == 0)
        u->rearm_mask &= ~(1U << i);
      if ((u->errq_rearm_mask & (1U << i)) && arm_errqueue(u, w, i) == 0)
        u->errq_rearm_mask &= ~(1U << i);
    }

    r = io_uring_submit_and_wait(&u->ring, 1);
    if (r == -EINTR || r == -EAGAIN || r == -EBUSY || r >= 0) {
      r = 0; /* a signal, or the kernel short of resources for a moment: go round */
    } else {
      break;
    }

    WRK_BeginBatch(w);
    io_uring_for_each_cqe(&u->ring, head, cqe)
    {
      uint64_t ud = io_uring_cqe_get_data64(cqe);

      seen++;
      switch (UD_KIND(ud)) {
      case UD_RECV:
        if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER))
          take_datagram(u, w, cqe, (int) UD_INDEX(ud));
        else if (cqe->res < 0 && cqe->res != -ENOBUFS)
          LOG_RATE_LIMITED(LOGS_WARN, "worker %d: receive failed: %s", w->id,
                           strerror(-cqe->res));
        /* -ENOBUFS (all buffers in use) or any other end of the multishot: re-arm */
        if (!(cqe->flags & IORING_CQE_F_MORE) && arm_recv(u, w, (int) UD_INDEX(ud)) < 0)
          u->rearm_mask |= 1U << UD_INDEX(ud);
        break;
      case UD_ERRQ:
        WRK_ReadErrQueue(w, w->fds[UD_INDEX(ud)]);
        if (!(cqe->flags & IORING_CQE_F_MORE) && arm_errqueue(u, w, (int) UD_INDEX(ud)) < 0)
          u->errq_rearm_mask |= 1U << UD_INDEX(ud);
        break;
      case UD_WAKE:
        if (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
          r = arm_wake(u, w);
        break;
      }
    }
    io_uring_cq_advance(&u->ring, seen);
    answer_taken(u, w);
    if (u->bufs_returned) {
      io_uring_buf_ring_advance(u->br, u->bufs_returned);
      u->bufs_returned = 0;
    }
  }

  teardown(u);
  free(u);
  return r;
}

/* Probe by doing what a worker does: set up a ring with provided buffers and a multishot
   recvmsg on a loopback socket, send it a datagram and see it arrive with more to come.
   Kernels before 6.0 fail one step or another. */
static int uring_probe(void)
{
  struct sockaddr_in sin;
  socklen_t len = sizeof(sin);
  WRK_Shared shared;
  WRK_Worker *w;
  Uring *u;
  int r, fd;

  w = calloc(1, sizeof(*w));
  u = malloc(sizeof(*u));
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (!w || !u || fd < 0) {
    r = fd < 0 ? -errno : -ENOMEM;
    goto out;
  }
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) < 0 ||
      getsockname(fd, (struct sockaddr *) &sin, &len) < 0) {
    r = -errno;
    goto out;
  }
  memset(&shared, 0, sizeof(shared));
  w->shared = &shared;
  w->fds[0] = fd;
  w->n_fds = 1;
  w->wake_fd = -1; /* no wake read: arm_wake is not needed to probe */

  r = setup(u, w);
  if (r == 0 && sendto(fd, "", 1, 0, (struct sockaddr *) &sin, sizeof(sin)) < 0)
    r = -errno;
  if (r == 0) {
    struct __kernel_timespec ts = { 1, 0 };
    struct io_uring_cqe *cqe;

    cqe = NULL;
    r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
    if (r >= 0 && !cqe)
      r = -ETIME;
    if (r >= 0) {
      r = 0; /* liburing 2.3 may return the count of submissions here */
      if (UD_KIND(cqe->user_data) != UD_RECV)
        r = -EPROTO;
      else if (cqe->res < 0)
        r = cqe->res;
      else if (!(cqe->flags & IORING_CQE_F_BUFFER) || !(cqe->flags & IORING_CQE_F_MORE))
        r = -EOPNOTSUPP;
    }
  }
  teardown(u);
out:
  if (fd >= 0)
    close(fd);
  free(u);
  free(w);
  return r;
}

const WRK_Backend WRK_UringBackend = { "uring", uring_probe, uring_run };
