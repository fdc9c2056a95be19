/* worker.h - one NTP server worker: its sockets, its I/O backend loop, and the request
   path (ACL, client log and rate limit, reply) that both backends share. The engine
   thread creates, starts and joins workers (server.c); everything else here runs on the
   worker's own thread, touching only its own struct and the shared read-mostly tables. */
#ifndef KAIROS_WORKER_H
#define KAIROS_WORKER_H

#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "engine/clockstate.h"
#include "server/acl.h"
#include "server/clientlog.h"
#include "server/fastrand.h"
#include "server/srvstats.h"

#define WRK_MAX_SOCKETS 8
/* Largest request we look at; longer datagrams are truncated and counted as malformed. */
#define WRK_MAX_REQUEST 1280
/* Room for the control messages of one received or sent datagram (a multiple of 8, and
   buffers of it are aligned for struct cmsghdr). */
#define WRK_CMSG_SPACE 256

/* Read-only after the workers start. */
typedef struct {
  const ACL_Table *acl;
  CLG_Table *clientlog; /* NULL with noclientlog: no rate limiting, no interleaved mode */
  int tx_timestamps;    /* kernel TX timestamps with keys we choose (WRK_ProbeTxTimestamps) */
  int min_poll;         /* poll announced at least (the rate-limit interval), or -128 */
} WRK_Shared;

/* Interleaved replies waiting for their kernel transmit timestamp, by key. */
#define WRK_TX_PENDING 1024 /* >= the replies of one round */

typedef struct {
  CLG_Ref ref;
  NWR_Ts64 rx_sent;
  uint32_t key;
  int used;
} WRK_TxPending;

typedef struct WRK_Worker_Record WRK_Worker;

typedef struct {
  const char *name;
  /* 0 if the backend can run here, else a negative errno (engine thread, at startup) */
  int (*probe)(void);
  /* the worker's loop; returns 0 after WRK_Stop, or a negative errno */
  int (*run)(WRK_Worker *w);
} WRK_Backend;

extern const WRK_Backend WRK_UringBackend;
extern const WRK_Backend WRK_MmsgBackend;

struct WRK_Worker_Record {
  int id;
  int fds[WRK_MAX_SOCKETS];
  int n_fds;
  int wake_fd; /* eventfd: a write wakes the loop to see `stop` */
  int stop;
  int result;
  const WRK_Shared *shared;
  const WRK_Backend *backend;
  SVS_WorkerCounters *stats;
  FRD_State rng;
  CST_State clock; /* the snapshot replies of the current batch are built from */
  uint32_t tx_key; /* next key for a kernel TX timestamp request */
  WRK_TxPending tx_pending[WRK_TX_PENDING];
  pthread_t thread;
};

/* Where a datagram came from and went to, and when it arrived. */
typedef struct {
  struct sockaddr_storage peer;
  socklen_t peer_len;
  struct timespec rx; /* kernel receive timestamp, or the time it was read */
  int have_local;
  int family;
  struct in_pktinfo local4;  /* destination address of the request (IPv4) */
  struct in6_pktinfo local6; /* (IPv6) */
  int have_key;              /* WRK_PrepareRequest computed the client-log key */
  CLG_Key key;
} WRK_Packet;

/* What the request path decided. */
typedef struct {
  size_t len;      /* reply length; 0: dropped (and counted) */
  int stamp_tx;    /* 1: basic mode: WRK_FinishReply writes the transmit timestamp */
  int logged;      /* 1: ref and rx_sent name the client-log record to save the TX in */
  int want_tx_ts;  /* 1: ask the kernel for this reply's transmit timestamp */
  uint32_t tx_key; /* the key that timestamp will carry */
  CLG_Ref ref;
  NWR_Ts64 rx_sent; /* the receive timestamp the reply carries */
} WRK_Reply;

/* Engine thread: run w->backend->run on a new thread / ask it to stop / wait for it. */
int WRK_Start(WRK_Worker *w);
void WRK_Stop(WRK_Worker *w);
int WRK_Join(WRK_Worker *w);

/* Worker thread: refresh the clock snapshot (once per batch of datagrams). */
void WRK_BeginBatch(WRK_Worker *w);

/* Worker thread: before WRK_HandleRequest, for each datagram of a batch in turn: compute
   the client's client-log key and start fetching its record, so that the batch's cache
   misses overlap instead of following one another. */
void WRK_PrepareRequest(WRK_Worker *w, WRK_Packet *pkt, const uint8_t *req, size_t len);

/* Worker thread: the request path. `reply` has room for WRK_MAX_REQUEST bytes. */
WRK_Reply WRK_HandleRequest(WRK_Worker *w, const uint8_t *req, size_t len,
                            const WRK_Packet *pkt, uint8_t *reply);

/* Worker thread, for every reply of a round, with the time read once just before the
   round's replies go out (a read per reply would be no later for the send that carries
   them all): write the served transmit time into a basic-mode reply, and keep it in the
   client log for a later interleaved reply. */
void WRK_FinishReply(WRK_Worker *w, uint8_t *reply, WRK_Reply *r, const struct timespec *now);

/* Any thread: the message that sends `reply` (r->len bytes) back to pkt's sender, with
   the control data WRK_WriteControl gives; iov and ctl (WRK_CMSG_SPACE bytes) must live
   until it is sent. */
void WRK_BuildMessage(WRK_Packet *pkt, const WRK_Reply *r, uint8_t *reply, struct iovec *iov,
                      void *ctl, struct msghdr *msg);

/* Worker thread: send n prepared replies on fd with as few sendmmsg calls as it takes,
   counting each as replied or (a failed one, skipped) as drop_send. */
void WRK_SendBatch(WRK_Worker *w, int fd, struct mmsghdr *msgs, int n);

/* Worker thread: read the kernel transmit timestamps queued on fd's error queue and keep
   them in the client log in place of the software ones. */
void WRK_ReadErrQueue(WRK_Worker *w, int fd);

/* Any thread: fill pkt->rx and the local address from a received message's control
   data (SCM_TIMESTAMPNS, IP_PKTINFO, IPV6_PKTINFO). */
void WRK_ReadControl(struct msghdr *msg, WRK_Packet *pkt);

/* Any thread: control data for the reply `r` to `pkt`, so that it leaves from the address
   the request arrived on, and, for replies that want one, a kernel transmit timestamp
   with the reply's key. Returns the length written into buf (WRK_CMSG_SPACE bytes). */
size_t WRK_WriteControl(const WRK_Packet *pkt, const WRK_Reply *r, void *buf);

/* Any thread: options every server socket gets: SO_TIMESTAMPNS; packet info when
   `pktinfo` (a socket bound to a wildcard address must learn each request's destination
   to reply from it; one bound to an address need not pay for it); the timestamping flags
   for keyed TX timestamps when tx_timestamps. */
int WRK_ConfigureSocket(int fd, int family, int tx_timestamps, int pktinfo);

/* Engine thread, at startup: 1 if this kernel gives software TX timestamps carrying a
   key set per packet (SCM_TS_OPT_ID, Linux 6.13), checked by a datagram to ourselves. */
int WRK_ProbeTxTimestamps(void);

#endif
