/* srvstats.h - the NTP server's counters: one cache-line-padded block per worker, written
   only by its worker (plain increments, no lock prefix), summed on read by any thread with
   relaxed atomic loads. Every dropped request is counted under exactly one reason. */
#ifndef KAIROS_SRVSTATS_H
#define KAIROS_SRVSTATS_H

#include <stdint.h>

/* X-macro: name and description of each counter, in report order */
#define SVS_COUNTERS(X)                                                                       \
  X(received, "requests received")                                                            \
  X(replied, "replies sent")                                                                  \
  X(drop_acl, "dropped: denied by allow/deny")                                                \
  X(drop_ratelimit, "dropped: rate limited")                                                  \
  X(drop_malformed, "dropped: malformed")                                                     \
  X(drop_mode, "dropped: not a client request (modes 1,2,4-7)")                               \
  X(drop_send, "dropped: send failed")                                                        \
  X(drop_backlog, "dropped: send queue full")                                                 \
  X(kod_rate, "KoD RATE sent")                                                                \
  X(interleaved, "interleaved replies")                                                       \
  X(tx_timestamps, "kernel TX timestamps read")                                               \
  X(clientlog_evicted, "client-log records evicted")

typedef struct {
#define SVS_FIELD(name, desc) uint64_t name;
  SVS_COUNTERS(SVS_FIELD)
#undef SVS_FIELD
} SVS_Counters;

/* One worker's block, alone on its cache lines so workers never share a line. */
typedef struct {
  _Alignas(64) SVS_Counters c;
} SVS_WorkerCounters;

_Static_assert(sizeof(SVS_WorkerCounters) % 64 == 0, "worker counters pad to cache lines");

/* Worker thread, on its own block only. */
#define SVS_INC(block, name)                                                                  \
  __atomic_store_n(&(block)->c.name, __atomic_load_n(&(block)->c.name, __ATOMIC_RELAXED) + 1, \
                   __ATOMIC_RELAXED)

/* Any thread: the sum of n blocks. */
void SVS_Sum(const SVS_WorkerCounters *blocks, int n, SVS_Counters *total);

/* Log a counter set, one line, with a label ("total", "worker 1"). */
void SVS_Log(const char *label, const SVS_Counters *c);

#endif
