/* kairos-perf.h - kairos-perf's options and the state of one run, shared by its modules:
   load (kairos-perf-load.c), garbage mode, report and main. Threads: the main thread
   sends and, with --threads 2, one receiver thread receives; the counters of a step say
   in their comment which of the two writes them (single writer, relaxed atomics). */
#ifndef KAIROS_PERF_H
#define KAIROS_PERF_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "perf/kairos-perf-hist.h"
#include "perf/kairos-perf-net.h"
#include "perf/kairos-perf-track.h"

#define PRF_BATCH       64  /* packets per sendmmsg/recvmmsg call */
#define PRF_REQ_LEN     48  /* a request: the bare header */
#define PRF_MAX_SOCKETS 256 /* socket index is 8 bits in the tracker */
#define PRF_MAX_STEPS   200

/* Single-writer counter increment: a plain load and store, no locked instruction */
#define PRF_ADD(c, n)                                                                         \
  atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + (n),         \
                        memory_order_relaxed)
#define PRF_GET(c) atomic_load_explicit(&(c), memory_order_relaxed)

typedef enum { PRF_MODE_RATE, PRF_MODE_COUNT, PRF_MODE_SWEEP, PRF_MODE_GARBAGE } PRF_Mode;

typedef struct {
  const char *server;
  unsigned int port;
  uint32_t clients;
  int sockets;
  int threads;
  int version;
  double rate;     /* requests/s (start rate of a sweep) */
  double duration; /* seconds of a fixed-rate run */
  uint64_t count;  /* exact number of requests (0: unset) */
  double timeout;  /* seconds after which a request counts as lost */
  PRF_Mode mode;
  double step_time; /* sweep */
  double step_factor;
  int max_steps;
  double max_rate;
  double loss_limit; /* percent */
  int retries;       /* sweep: tries again at the same rate after a failed step */
  double max_time;   /* hard cap of the whole run, seconds */
  uint64_t tick_ns;  /* the sender wakes at most once per tick and sends what is due */
  int json;
  int progress;
  int txstamp;
  pid_t server_pid;
  const char *src6;
  uint64_t seed;
} PRF_Options;

/* Why a reply was rejected */
enum {
  PRF_INV_SHORT,   /* under 48 octets */
  PRF_INV_LONG,    /* longer than the request (amplification) */
  PRF_INV_SOURCE,  /* not from the server's address and port */
  PRF_INV_MODE,    /* not mode 4 */
  PRF_INV_VERSION, /* not the version sent */
  PRF_INV_ORIGIN,  /* origin matches no outstanding request (or later than --timeout) */
  PRF_INV_CLIENT,  /* matched a request of another client address or source port */
  PRF_INV_STRATUM, /* stratum 16+, or 0 without a kiss code */
  PRF_INV_MAX
};
extern const char *const PRF_InvalidNames[PRF_INV_MAX];

typedef struct {
  /* written by the sender (main thread) */
  _Alignas(64) double rate;
  _Atomic uint64_t sent;
  _Atomic uint64_t send_errors;
  _Atomic uint64_t skipped;  /* due but not sent: the generator fell behind */
  uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC, the sending phase */
  double cpu_s;              /* server CPU time over the step and its drain, -1: unknown */
  /* written by the receiver */
  _Alignas(64) _Atomic uint64_t received; /* matched replies in time, KoDs included */
  _Atomic uint64_t kod_rate;
  _Atomic uint64_t kod_other;
  _Atomic uint64_t late;
  PHI_Hist hist; /* response times of the non-KoD replies */
} PRF_Step;

typedef struct {
  PRF_Options opt;
  PNT_Addr server;
  socklen_t server_len;
  PNT_Clients clients;
  int nsock;
  int fds[PRF_MAX_SOCKETS];
  int ts_mode; /* PNT_TS_* common to all sockets */
  PTK_Table table;
  PRF_Step *steps;
  int nsteps;            /* steps started */
  _Atomic int cur_step;  /* the step being sent (progress line) */
  uint64_t run_start_ns; /* CLOCK_MONOTONIC */
  uint64_t deadline_ns;  /* hard cap */
  int last_send_errno;
  /* written by the receiver */
  _Alignas(64) _Atomic uint64_t invalid[PRF_INV_MAX];
  _Atomic uint64_t duplicates;
  _Atomic uint64_t tx_user;   /* response times measured from the user-space send time */
  _Atomic uint64_t rx_user;   /* ... or to the user-space receive time */
  _Atomic uint64_t tx_stamps; /* kernel TX timestamps read from the error queue */
  uint64_t last_progress_ns;
  uint64_t last_progress_sent, last_progress_recv;
  int progress_shown;
  /* set by signal handlers and the deadline */
  _Alignas(64) _Atomic int stop;
  int interrupted;
  int capped;
  int generator_limited;
  const char *stop_reason;  /* sweep: what ended it (loss, generator, max-steps, ...) */
  int best_step;            /* sweep: -1 if none passed */
  struct PLD_Context *load; /* the load module's buffers and receiver thread */
} PRF_Run;

uint64_t PRF_MonoNs(void);
uint64_t PRF_RealNs(void);

/* splitmix64: the random transmit timestamps and socket choices */
static inline uint64_t PRF_Rand(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Load (kairos-perf-load.c). PLD_Start starts the receiver thread with --threads 2. */
int PLD_Start(PRF_Run *r);
/* Send step `step` at its rate for duration_ns or `count` requests (0: no count), then
   keep receiving for the timeout (or until every request is answered). */
void PLD_RunStep(PRF_Run *r, int step, uint64_t duration_ns, uint64_t count);
void PLD_Stop(PRF_Run *r);

/* Garbage mode (kairos-perf-garbage.c): sends, receives and prints its own summary.
   Returns the exit status. */
int PGB_Run(PRF_Run *r);

/* Summary (kairos-perf-report.c) */
double PRP_ServerCpu(pid_t pid); /* utime + stime of all threads in seconds, -1 on error */
void PRP_PrintStep(const PRF_Run *r, int step);
void PRP_PrintSummary(PRF_Run *r, double cpu_total_s, double wall_s);

#endif
