/* io_mmsg.c - the fallback I/O backend: poll(2) over the worker's sockets, recvmmsg a
   batch, answer it, sendmmsg the replies. Used where io_uring is unavailable (containers
   often block it) or with `serverio mmsg`. Worker thread only. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/worker.h"

#define BATCH 64

typedef struct {
  struct mmsghdr rx[BATCH];
  struct iovec rx_iov[BATCH];
  WRK_Packet pkt[BATCH];
  WRK_Packet *tx_pkt[BATCH];
  uint8_t rx_buf[BATCH][WRK_MAX_REQUEST];
  _Alignas(struct cmsghdr) uint8_t rx_ctl[BATCH][WRK_CMSG_SPACE];
  struct mmsghdr tx[BATCH];
  struct iovec tx_iov[BATCH];
  WRK_Reply reply[BATCH];
  uint8_t tx_buf[BATCH][WRK_MAX_REQUEST];
  _Alignas(struct cmsghdr) uint8_t tx_ctl[BATCH][WRK_CMSG_SPACE];
} Buffers;

static int mmsg_probe(void)
{
  return 0;
}

static void prepare_rx(Buffers *b)
{
  int i;

  for (i = 0; i < BATCH; i++) {
    struct msghdr *m = &b->rx[i].msg_hdr;

    b->rx_iov[i].iov_base = b->rx_buf[i];
    b->rx_iov[i].iov_len = WRK_MAX_REQUEST;
    memset(m, 0, sizeof(*m));
    m->msg_name = &b->pkt[i].peer;
    m->msg_namelen = sizeof(b->pkt[i].peer);
    m->msg_iov = &b->rx_iov[i];
    m->msg_iovlen = 1;
    m->msg_control = b->rx_ctl[i];
    m->msg_controllen = WRK_CMSG_SPACE;
  }
}

/* Receive and answer up to one batch from fd; returns the number of datagrams read. */
static int serve_batch(WRK_Worker *w, Buffers *b, int fd)
{
  struct timespec now;
  int i, n, n_tx = 0;

  prepare_rx(b);
  n = recvmmsg(fd, b->rx, BATCH, MSG_DONTWAIT, NULL);
  if (n <= 0)
    return 0;

  WRK_BeginBatch(w);
  for (i = 0; i < n; i++) {
    b->pkt[i].peer_len = b->rx[i].msg_hdr.msg_namelen;
    WRK_ReadControl(&b->rx[i].msg_hdr, &b->pkt[i]);
    WRK_PrepareRequest(w, &b->pkt[i], b->rx_buf[i],
                       b->rx[i].msg_hdr.msg_flags & MSG_TRUNC ? 0 : b->rx[i].msg_len);
  }
  for (i = 0; i < n; i++) {
    struct msghdr *m = &b->rx[i].msg_hdr;
    WRK_Packet *pkt = &b->pkt[i];
    size_t len = b->rx[i].msg_len;
    WRK_Reply r;

    if (m->msg_flags & MSG_TRUNC)
      len = 0; /* longer than any request we answer: malformed */
    r = WRK_HandleRequest(w, b->rx_buf[i], len, pkt, b->tx_buf[n_tx]);
    if (r.len == 0)
      continue;

    b->reply[n_tx] = r;
    b->tx_pkt[n_tx] = pkt;
    n_tx++;
  }

  /* transmit timestamps as late as possible: just before the batch goes out */
  clock_gettime(CLOCK_REALTIME, &now);
  for (i = 0; i < n_tx; i++) {
    WRK_FinishReply(w, b->tx_buf[i], &b->reply[i], &now);
    WRK_BuildMessage(b->tx_pkt[i], &b->reply[i], b->tx_buf[i], &b->tx_iov[i], b->tx_ctl[i],
                     &b->tx[i].msg_hdr);
  }

  WRK_SendBatch(w, fd, b->tx, n_tx);
  return n;
}

static int mmsg_run(WRK_Worker *w)
{
  struct pollfd pfd[WRK_MAX_SOCKETS + 1];
  Buffers *b;
  int i, r = 0;

  b = malloc(sizeof(*b));
  if (!b)
    return -ENOMEM;

  for (i = 0; i < w->n_fds; i++) {
    pfd[i].fd = w->fds[i];
    pfd[i].events = POLLIN;
  }
  pfd[w->n_fds].fd = w->wake_fd;
  pfd[w->n_fds].events = POLLIN;

  while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
    if (poll(pfd, (nfds_t) w->n_fds + 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      r = -errno;
      break;
    }
    for (i = 0; i < w->n_fds; i++) {
      int rounds = 0;

      /* kernel TX timestamps of interleaved replies wait on the error queue */
      if (pfd[i].revents & POLLERR)
        WRK_ReadErrQueue(w, pfd[i].fd);
      if (!(pfd[i].revents & POLLIN))
        continue;
      /* drain a busy socket in batches, but let the others have a turn */
      while (serve_batch(w, b, pfd[i].fd) == BATCH && ++rounds < 16)
        ;
    }
  }
  free(b);
  return r;
}

const WRK_Backend WRK_MmsgBackend = { "mmsg", mmsg_probe, mmsg_run };
