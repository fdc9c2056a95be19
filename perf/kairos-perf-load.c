/* kairos-perf-load.c - the open-loop load: paced sendmmsg batches of client requests from
   many source addresses over a pool of sockets, recvmmsg of the replies and of the kernel
   TX timestamps, and the validation of every reply.

   Thread layout. --threads 1 (the default): the main thread does everything in one loop
   that wakes once per tick (--tick, 200 us): send what is due, then ppoll() the sockets
   without waiting and drain the ready ones. --threads 2: the main thread only sends and
   sleeps; a receiver thread ppoll()s, drains, and sleeps a tick. On a 2-core machine one
   thread leaves a core to the server under test; the second helps where cores are spare. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/ntpwire.h"
#include "perf/kairos-perf.h"

#define RX_BUF       2048 /* big enough to see an oversized reply whole */
#define ERRQ_BUF     256  /* a looped-back request: link, IP and UDP headers + 48 octets */
#define CTL_BUF      512
#define MAX_ROUNDS   8 /* recvmmsg calls per socket per wake-up, so that sending goes on */
#define INSERT_TRIES 16

typedef union {
  char buf[CTL_BUF];
  struct cmsghdr align;
} CtlBuf;

typedef union {
  char buf[PNT_SRC_CMSG_SPACE];
  struct cmsghdr align;
} SrcBuf;

typedef struct {
  uint64_t seq; /* requests scheduled so far: client = seq % clients */
  uint64_t rng;
  struct mmsghdr msg[PRF_BATCH];
  struct iovec iov[PRF_BATCH];
  uint8_t buf[PRF_BATCH][PRF_REQ_LEN];
  SrcBuf ctl[PRF_BATCH];
  PTK_Slot *slot[PRF_BATCH];
} Sender;

typedef struct {
  struct mmsghdr msg[PRF_BATCH];
  struct iovec iov[PRF_BATCH];
  uint8_t buf[PRF_BATCH][RX_BUF];
  PNT_Addr name[PRF_BATCH];
  CtlBuf ctl[PRF_BATCH];
  struct pollfd pfd[PRF_MAX_SOCKETS];
} Receiver;

struct PLD_Context {
  Sender tx;
  Receiver rx;
  pthread_t thread;
  int thread_started;
  _Atomic int quit;
};

/* ---- receiving ---- */

static void invalid(PRF_Run *r, int why)
{
  PRF_ADD(r->invalid[why], 1);
}

static uint64_t get64(const uint8_t *p)
{
  uint64_t v = 0;
  int i;

  for (i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

static void put64(uint8_t *p, uint64_t v)
{
  int i;

  for (i = 7; i >= 0; i--) {
    p[i] = (uint8_t) v;
    v >>= 8;
  }
}

static void process_reply(PRF_Run *r, int sock, const uint8_t *buf, unsigned int len,
                          int trunc, const PNT_Addr *from, const PNT_CmsgInfo *ci)
{
  NWR_Header h;
  PTK_Meta m;
  PTK_Slot *slot;
  PRF_Step *st;
  uint64_t key, sent_ns, tx_ns, rx_ns, lat;
  int kod, answer;

  if (len < NWR_HEADER_LEN) {
    invalid(r, PRF_INV_SHORT);
    return;
  }
  if (trunc || len > PRF_REQ_LEN) {
    invalid(r, PRF_INV_LONG);
    return;
  }
  if (!PNT_SameAddr(from, &r->server)) {
    invalid(r, PRF_INV_SOURCE);
    return;
  }
  NWR_DecodeHeader(buf, len, &h);
  if (h.mode != NWR_MODE_SERVER) {
    invalid(r, PRF_INV_MODE);
    return;
  }
  if (h.version != r->opt.version) {
    invalid(r, PRF_INV_VERSION);
    return;
  }
  key = NWR_Ts64ToU64(&h.origin);
  slot = PTK_Find(&r->table, key, &m, &sent_ns, &tx_ns);
  if (!slot || m.step >= r->opt.max_steps) {
    invalid(r, PRF_INV_ORIGIN);
    return;
  }
  if (m.sock != sock || !PNT_IsClient(&r->clients, m.client, ci)) {
    invalid(r, PRF_INV_CLIENT);
    return;
  }
  kod = h.stratum == NWR_STRATUM_KOD && NWR_IsKoD(&h);
  if (!kod && (h.stratum == NWR_STRATUM_KOD || h.stratum > NWR_STRATUM_MAX)) {
    invalid(r, PRF_INV_STRATUM);
    return;
  }
  answer = PTK_Answer(slot, key);
  if (answer == 0) {
    PRF_ADD(r->duplicates, 1);
    return;
  }
  if (answer < 0) {
    invalid(r, PRF_INV_ORIGIN);
    return;
  }

  rx_ns = ci->ts_ns;
  if (!rx_ns) {
    rx_ns = PRF_RealNs();
    PRF_ADD(r->rx_user, 1);
  }
  if (!tx_ns) {
    tx_ns = sent_ns;
    PRF_ADD(r->tx_user, 1);
  }
  lat = rx_ns > tx_ns ? rx_ns - tx_ns : 0;
  st = &r->steps[m.step];
  if (lat > r->table.timeout_ns) {
    PRF_ADD(st->late, 1);
    return;
  }
  PRF_ADD(st->received, 1);
  if (kod && h.refid == NWR_KOD_RATE)
    PRF_ADD(st->kod_rate, 1);
  else if (kod)
    PRF_ADD(st->kod_other, 1);
  else
    PHI_Add(&st->hist, lat);
}

static void prepare_rx(Receiver *rx, size_t buflen)
{
  int i;

  for (i = 0; i < PRF_BATCH; i++) {
    rx->iov[i].iov_base = rx->buf[i];
    rx->iov[i].iov_len = buflen;
    memset(&rx->msg[i].msg_hdr, 0, sizeof(rx->msg[i].msg_hdr));
    rx->msg[i].msg_hdr.msg_name = &rx->name[i];
    rx->msg[i].msg_hdr.msg_namelen = sizeof(rx->name[i]);
    rx->msg[i].msg_hdr.msg_iov = &rx->iov[i];
    rx->msg[i].msg_hdr.msg_iovlen = 1;
    rx->msg[i].msg_hdr.msg_control = rx->ctl[i].buf;
    rx->msg[i].msg_hdr.msg_controllen = sizeof(rx->ctl[i].buf);
  }
}

/* TX timestamps: the looped-back request ends with its transmit timestamp, the key */
static void drain_errqueue(PRF_Run *r, Receiver *rx, int sock)
{
  PNT_CmsgInfo ci;
  int rounds, got, i;
  unsigned int len;
  const uint8_t *p;

  for (rounds = 0; rounds < MAX_ROUNDS; rounds++) {
    prepare_rx(rx, ERRQ_BUF);
    got = recvmmsg(r->fds[sock], rx->msg, PRF_BATCH, MSG_ERRQUEUE | MSG_DONTWAIT, NULL);
    if (got <= 0)
      return;
    for (i = 0; i < got; i++) {
      PNT_ParseCmsgs(&rx->msg[i].msg_hdr, &ci);
      len = rx->msg[i].msg_len;
      p = rx->buf[i];
      if (!ci.tx_stamp || !ci.ts_ns || len < PRF_REQ_LEN ||
          (rx->msg[i].msg_hdr.msg_flags & MSG_TRUNC))
        continue;
      if (p[len - PRF_REQ_LEN] != (uint8_t) (r->opt.version << 3 | NWR_MODE_CLIENT))
        continue;
      PTK_SetTx(&r->table, get64(p + len - 8), ci.ts_ns);
      PRF_ADD(r->tx_stamps, 1);
    }
    if (got < PRF_BATCH)
      return;
  }
}

static void drain_data(PRF_Run *r, Receiver *rx, int sock)
{
  PNT_CmsgInfo ci;
  int rounds, got, i;

  for (rounds = 0; rounds < MAX_ROUNDS; rounds++) {
    prepare_rx(rx, RX_BUF);
    got = recvmmsg(r->fds[sock], rx->msg, PRF_BATCH, MSG_DONTWAIT, NULL);
    if (got <= 0)
      return;
    for (i = 0; i < got; i++) {
      PNT_ParseCmsgs(&rx->msg[i].msg_hdr, &ci);
      process_reply(r, sock, rx->buf[i], rx->msg[i].msg_len,
                    (rx->msg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0, &rx->name[i], &ci);
    }
    if (got < PRF_BATCH)
      return;
  }
}

static void progress(PRF_Run *r, uint64_t now)
{
  uint64_t sent = 0, recv = 0, kod = 0, inv = 0, p50;
  int i, cur = atomic_load(&r->cur_step);
  double dt;

  if (!r->opt.progress)
    return;
  if (!r->last_progress_ns) {
    /* the first line after a second of load */
    r->last_progress_ns = now;
    return;
  }
  if (now - r->last_progress_ns < 1000000000ULL)
    return;
  for (i = 0; i <= cur; i++) {
    sent += PRF_GET(r->steps[i].sent);
    recv += PRF_GET(r->steps[i].received);
    kod += PRF_GET(r->steps[i].kod_rate) + PRF_GET(r->steps[i].kod_other);
  }
  for (i = 0; i < PRF_INV_MAX; i++)
    inv += PRF_GET(r->invalid[i]);
  p50 = PHI_Quantile(&r->steps[cur].hist, 0.5);
  dt = (double) (now - r->last_progress_ns) * 1e-9;
  fprintf(stderr,
          "\r%6.1fs step %d target %.0f/s  sent %llu (%.0f/s)  replies %llu (%.0f/s)  "
          "loss %.2f%%  kod %llu  invalid %llu  p50 %.1fus   ",
          (double) (now - r->run_start_ns) * 1e-9, cur, r->steps[cur].rate,
          (unsigned long long) sent, (double) (sent - r->last_progress_sent) / dt,
          (unsigned long long) recv, (double) (recv - r->last_progress_recv) / dt,
          sent ? 100.0 * (double) (sent - recv) / (double) sent : 0.0,
          (unsigned long long) kod, (unsigned long long) inv, (double) p50 * 1e-3);
  r->last_progress_ns = now;
  r->progress_shown = 1;
  r->last_progress_sent = sent;
  r->last_progress_recv = recv;
}

static void sleep_until(uint64_t t)
{
  struct timespec ts = { (time_t) (t / 1000000000U), (long) (t % 1000000000U) };

  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Wait up to timeout_ns for packets and handle what came. */
static void poll_and_drain(PRF_Run *r, Receiver *rx, uint64_t timeout_ns)
{
  struct timespec ts;
  int i, n;

  ts.tv_sec = (time_t) (timeout_ns / 1000000000U);
  ts.tv_nsec = (long) (timeout_ns % 1000000000U);
  n = ppoll(rx->pfd, (nfds_t) r->nsock, &ts, NULL);
  if (n > 0) {
    for (i = 0; i < r->nsock; i++) {
      /* TX stamps first: the stamp of a request is queued before its reply can come */
      if (rx->pfd[i].revents & POLLERR)
        drain_errqueue(r, rx, i);
      if (rx->pfd[i].revents & POLLIN)
        drain_data(r, rx, i);
    }
  }
  progress(r, PRF_MonoNs());
}

static void *receiver_main(void *arg)
{
  PRF_Run *r = arg;

  while (!atomic_load(&r->load->quit)) {
    poll_and_drain(r, &r->load->rx, 20000000U);
    sleep_until(PRF_MonoNs() + r->opt.tick_ns);
  }
  return NULL;
}

/* ---- sending ---- */

static void send_batch(PRF_Run *r, Sender *s, PRF_Step *st, int step, int n)
{
  int sock = r->nsock > 1 ? (int) (PRF_Rand(&s->rng) % (uint64_t) r->nsock) : 0;
  uint64_t now = PRF_RealNs(), key = 0;
  int k = 0, i, tries, off = 0, ret, errors = 0;
  PTK_Meta m;
  PTK_Slot *slot;

  for (i = 0; i < n; i++) {
    m.client = (uint32_t) (s->seq++ % r->clients.count);
    m.step = (uint16_t) step;
    m.sock = (uint8_t) sock;
    m.state = 0;
    slot = NULL;
    for (tries = 0; tries < INSERT_TRIES && !slot; tries++) {
      key = PRF_Rand(&s->rng);
      if (key)
        slot = PTK_Insert(&r->table, key, m, now);
    }
    if (!slot) {
      /* the table is full of requests in flight: more than it was sized for */
      PRF_ADD(st->skipped, 1);
      continue;
    }
    put64(s->buf[k] + 40, key);
    s->msg[k].msg_hdr.msg_control = s->ctl[k].buf;
    s->msg[k].msg_hdr.msg_controllen = PNT_PutSource(&r->clients, m.client, s->ctl[k].buf);
    s->slot[k] = slot;
    k++;
  }
  while (off < k) {
    ret = sendmmsg(r->fds[sock], &s->msg[off], (unsigned int) (k - off), 0);
    if (ret > 0) {
      off += ret;
      continue;
    }
    if (ret < 0 && errno == EINTR)
      continue;
    /* sendmmsg reports the error of the first message it could not send */
    r->last_send_errno = ret < 0 ? errno : EIO;
    PTK_Release(s->slot[off]);
    errors++;
    off++;
  }
  PRF_ADD(st->send_errors, (uint64_t) errors);
  PRF_ADD(st->sent, (uint64_t) (k - errors));
}

/* Requests of the step due by `now` and not yet scheduled. A backlog beyond 5 ms of
   requests is dropped (counted as skipped) rather than sent in one burst: the load stays
   open-loop and the report shows that the generator fell behind. */
static uint64_t due_now(PRF_Step *st, uint64_t now, uint64_t *scheduled, uint64_t count)
{
  uint64_t due = (uint64_t) ((double) (now - st->start_ns) * 1e-9 * st->rate) + 1, backlog,
           cap;

  if (count && due > count)
    due = count;
  if (due <= *scheduled)
    return 0;
  backlog = due - *scheduled;
  cap = (uint64_t) (st->rate * 0.005);
  if (cap < 4 * PRF_BATCH)
    cap = 4 * PRF_BATCH;
  if (!count && backlog > cap) {
    PRF_ADD(st->skipped, backlog - cap);
    *scheduled += backlog - cap;
    backlog = cap;
  }
  return backlog;
}

/* When the next request is due, but not sooner than one tick after the last send */
static uint64_t next_wake(const PRF_Run *r, const PRF_Step *st, uint64_t scheduled,
                          uint64_t last_send)
{
  uint64_t due = st->start_ns + (uint64_t) ((double) scheduled * 1e9 / st->rate);

  return due > last_send + r->opt.tick_ns ? due : last_send + r->opt.tick_ns;
}

static int must_stop(PRF_Run *r, uint64_t now)
{
  if (atomic_load(&r->stop))
    return 1;
  if (now >= r->deadline_ns) {
    r->capped = 1;
    atomic_store(&r->stop, 1);
    return 1;
  }
  return 0;
}

/* One wake-up per tick: send what is due, then (one thread) read what came without
   waiting. Waking for every reply would cost a context switch per packet; the kernel
   timestamps keep the response times exact however late the replies are read. */
static void step_loop(PRF_Run *r, PRF_Step *st, int step, uint64_t end_ns, uint64_t count)
{
  struct PLD_Context *c = r->load;
  uint64_t scheduled = 0, now, n, b, wake;

  for (;;) {
    now = PRF_MonoNs();
    if (must_stop(r, now) || (count ? scheduled >= count : now >= end_ns))
      break;
    for (n = due_now(st, now, &scheduled, count); n > 0; n -= b) {
      b = n < PRF_BATCH ? n : PRF_BATCH;
      send_batch(r, &c->tx, st, step, (int) b);
      scheduled += b;
    }
    if (r->opt.threads < 2)
      poll_and_drain(r, &c->rx, 0);
    wake = next_wake(r, st, scheduled, now);
    if (!count && wake > end_ns)
      wake = end_ns;
    if (wake > now + 100000000U)
      wake = now + 100000000U;
    sleep_until(wake);
  }
}

static int all_answered(PRF_Step *st)
{
  return PRF_GET(st->received) + PRF_GET(st->late) >= PRF_GET(st->sent);
}

static void drain(PRF_Run *r, PRF_Step *st, uint64_t until)
{
  uint64_t now;

  for (;;) {
    now = PRF_MonoNs();
    if (now >= until || must_stop(r, now) || all_answered(st))
      return;
    if (r->opt.threads > 1) {
      struct timespec ts = { 0, 1000000 };

      nanosleep(&ts, NULL);
    } else {
      poll_and_drain(r, &r->load->rx, until - now < 20000000U ? until - now : 20000000U);
    }
  }
}

void PLD_RunStep(PRF_Run *r, int step, uint64_t duration_ns, uint64_t count)
{
  PRF_Step *st = &r->steps[step];

  st->start_ns = PRF_MonoNs();
  atomic_store(&r->cur_step, step);
  step_loop(r, st, step, st->start_ns + duration_ns, count);
  st->end_ns = PRF_MonoNs();
  drain(r, st, st->end_ns + r->table.timeout_ns);
}

int PLD_Start(PRF_Run *r)
{
  struct PLD_Context *c;
  sigset_t all, old;
  int i, ret;

  c = calloc(1, sizeof(*c));
  if (!c)
    return -ENOMEM;
  r->load = c;
  c->tx.rng = r->opt.seed;
  for (i = 0; i < PRF_BATCH; i++) {
    /* Client data minimisation (RFC 9109): only version, mode and transmit are set */
    c->tx.buf[i][0] = (uint8_t) (r->opt.version << 3 | NWR_MODE_CLIENT);
    c->tx.iov[i].iov_base = c->tx.buf[i];
    c->tx.iov[i].iov_len = PRF_REQ_LEN;
    c->tx.msg[i].msg_hdr.msg_name = &r->server;
    c->tx.msg[i].msg_hdr.msg_namelen = r->server_len;
    c->tx.msg[i].msg_hdr.msg_iov = &c->tx.iov[i];
    c->tx.msg[i].msg_hdr.msg_iovlen = 1;
  }
  for (i = 0; i < r->nsock; i++) {
    c->rx.pfd[i].fd = r->fds[i];
    c->rx.pfd[i].events = POLLIN;
  }
  if (r->opt.threads < 2)
    return 0;

  /* Signals go to the main thread, which owns the run */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  ret = pthread_create(&c->thread, NULL, receiver_main, r);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (ret != 0)
    return -ret;
  c->thread_started = 1;
  return 0;
}

void PLD_Stop(PRF_Run *r)
{
  struct PLD_Context *c = r->load;

  if (!c)
    return;
  if (c->thread_started) {
    atomic_store(&c->quit, 1);
    pthread_join(c->thread, NULL);
  }
  if (r->progress_shown)
    fputc('\n', stderr);
  free(c);
  r->load = NULL;
}
