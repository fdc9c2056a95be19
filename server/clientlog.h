/* clientlog.h - the client log shared by all server workers: one lock-free table of NTP
   clients (hit counters, chrony's `ratelimit` token bucket, interleaved-mode timestamps).
   The engine thread creates and destroys it; any thread may call everything else. */
#ifndef KAIROS_CLIENTLOG_H
#define KAIROS_CLIENTLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "engine/ntpwire.h"

/* Layout (details in clientlog.c). The table is an array of 64-byte buckets (exactly one
   cache line), each holding two 32-byte records; a client's bucket and its 63-bit
   fingerprint come from two keyed hashes of its address (secret seeds from getrandom at
   create). A client lives in its bucket or the other bucket of the same 128-byte block;
   lookups compare fingerprints only; a new client evicts the least recently seen of
   those four records when all are taken. The addresses themselves live in a separate
   array (16 bytes a record), written when a record is claimed and read only by reports.

   Memory: `memory_limit` (chrony's clientloglimit, in bytes) covers everything the table
   maps: 96 bytes a bucket (64 of records, 32 of addresses). The bucket count is the
   largest power of two that fits, at least 1; capacity is twice that many records.
   chrony's default 524288 gives 4096 buckets, 8192 records, 384 KiB; 1 GiB gives 8 Mi
   buckets, 16,777,216 records, 768 MiB. CLG_Create maps the table once and faults every
   page in (transparent huge pages where the kernel has them) so that the request path
   never stalls on a page fault; nothing is allocated after that.

   `noclientlog`: the caller creates no table; without one there is no rate limiting and
   no interleaved mode. Everything below needs a table. */

typedef struct CLG_Table_Record CLG_Table;

/* chrony's `ratelimit` directive. interval: log2 of the minimum mean interval between
   responses in seconds (-19..12, default 3); burst: responses allowed back to back
   (1..255, default 8); leak: log2 of the rate at which requests over the limit are
   answered anyway (1..4, default 2: one in four); kod: 0 = off, else log2 of the rate at
   which requests over the limit (and not leaked) get a KoD RATE (1..4, chrony 4.6).
   enabled: 0 = no rate limiting (the other fields are then ignored). */
typedef struct {
  int interval;
  int burst;
  int leak;
  int kod;
  int enabled;
} CLG_RateParams;

/* Engine thread. prefix6_bits: IPv6 clients are keyed by their /prefix6_bits prefix
   (kairos' `ratelimitprefix6`; 1..128, 0 or 128 = the full address); IPv4 clients and
   IPv4-mapped IPv6 addresses are always keyed by the full IPv4 address. ntp_rate NULL
   means disabled. Returns NULL with errno set: EINVAL for parameters out of range,
   ENOMEM when the table cannot be mapped, or getrandom's error. */
CLG_Table *CLG_Create(size_t memory_limit, int prefix6_bits, const CLG_RateParams *ntp_rate);

/* As CLG_Create, with flags: CLG_F_NO_PREFAULT leaves the pages to be faulted in on first
   use (tests and tools that map a large table but touch little of it). */
#define CLG_F_NO_PREFAULT 1U
CLG_Table *CLG_CreateFlags(size_t memory_limit, int prefix6_bits,
                           const CLG_RateParams *ntp_rate, unsigned flags);

/* Engine thread, after every other thread has stopped using the table. NULL is fine. */
void CLG_Destroy(CLG_Table *t);

size_t CLG_Capacity(const CLG_Table *t);   /* records */
size_t CLG_MemorySize(const CLG_Table *t); /* bytes mapped for buckets and addresses */

typedef enum { CLG_RESPOND, CLG_DROP, CLG_KOD } CLG_Decision;

/* What CLG_LogNtpRequest found, kept on the caller's stack for the calls below. record is
   NULL when nothing was logged (an address family other than AF_INET/AF_INET6, or all
   the records of its set being claimed by other threads at that instant). evicted: a live
   record of another client was displaced (evicted_hits: the requests it had counted);
   is_new: the record was claimed for this request. */
typedef struct {
  void *record;
  uint64_t fingerprint;
  int evicted;
  int is_new;
  uint32_t evicted_hits;
} CLG_Ref;

/* A client's key (its masked address) and where it lives in the table: computed once,
   then usable for a prefetch and a log call. */
typedef struct {
  uint64_t words[2]; /* the address, IPv4 as ::ffff:a.b.c.d, IPv6 masked to the prefix */
  uint64_t fingerprint;
  size_t bucket;
} CLG_Key;

/* Any thread: find or claim the record of `addr` (struct sockaddr_in or sockaddr_in6),
   count the request, apply the rate limit at `now` (the request's receive time,
   CLOCK_REALTIME), and count a drop or a KoD. `random`: 32 fresh random bits from the
   caller's own generator (leak and KoD decisions). Lock-free; no allocation, no system
   call. An address of another family is not logged and gets CLG_RESPOND. */
CLG_Decision CLG_LogNtpRequest(CLG_Table *t, const struct sockaddr *addr,
                               const struct timespec *now, uint32_t random, CLG_Ref *ref);

/* The same in steps, for a worker that handles a batch of requests: make the keys and
   prefetch the buckets of the whole batch first, then log each. In a table larger than
   the caches this is several times faster than one CLG_LogNtpRequest after the other
   (perf/bench_clientlog: 54 vs 16 M/s for 100,000 clients on AMD Zen 3), because each
   log call ends with an atomic operation that waits for its cache miss, and a prefetch
   issued between two calls waits behind the next one's. Batches of 16 are enough.
   CLG_MakeKey returns 0 or -EAFNOSUPPORT. */
int CLG_MakeKey(const CLG_Table *t, const struct sockaddr *addr, CLG_Key *key);
void CLG_Prefetch(const CLG_Table *t, const CLG_Key *key);
CLG_Decision CLG_LogNtpRequestKey(CLG_Table *t, const CLG_Key *key, const struct timespec *now,
                                  uint32_t random, CLG_Ref *ref);

/* A whole batch (n requests: keys, receive times, random words in; refs and decisions
   out), faster still: requests of clients not in their own bucket are handled after the
   others, when their second line has arrived. The requests of each client are handled
   in order, so each gets the decision it would get one call at a time. */
void CLG_LogNtpRequests(CLG_Table *t, size_t n, const CLG_Key *keys,
                        const struct timespec *now, const uint32_t *random, CLG_Ref *refs,
                        CLG_Decision *decisions);

/* Any thread, interleaved mode. CLG_GetInterleaved: the receive timestamp of the client's
   previous answered request as it was sent, and the transmit timestamp of that reply;
   returns 1 if both are known and consistent (else 0, prev_tx zero, prev_rx what is known
   or zero). CLG_SaveRx: the receive timestamp the reply to this request carries (clears
   the transmit timestamp). CLG_SaveTx: that reply's transmit timestamp, matched by `rx`:
   ignored if the record's saved RX is no longer rx (a newer request came in, or the
   record was evicted), or if tx is not within 0..250 ms after rx; a later call for the
   same rx replaces the TX (the kernel's timestamp after the software one). Kept to
   2^-30 s (rounded). */
int CLG_GetInterleaved(CLG_Table *t, const CLG_Ref *ref, NWR_Ts64 *prev_rx, NWR_Ts64 *prev_tx);
void CLG_SaveRx(CLG_Table *t, const CLG_Ref *ref, const NWR_Ts64 *rx);
void CLG_SaveTx(CLG_Table *t, const CLG_Ref *ref, const NWR_Ts64 *rx, const NWR_Ts64 *tx);

/* Reports: any thread, not on the request path (they walk the whole table). */

/* Records in use */
size_t CLG_CountRecords(const CLG_Table *t);

typedef struct {
  int family;           /* AF_INET or AF_INET6 */
  uint8_t addr[16];     /* AF_INET: the first 4 bytes; AF_INET6: the (masked) address */
  int prefix_bits;      /* 32 for IPv4, the table's prefix6_bits for IPv6 */
  uint32_t hits;        /* requests (saturates) */
  uint32_t drops;       /* requests dropped by the rate limit (saturates at 65535) */
  uint32_t kods;        /* KoD RATE replies sent (saturates at 65535) */
  NWR_Ts64 last_rx;     /* receive timestamp of the last answered request, zero if none */
  double last_seen_ago; /* seconds since the last request of any outcome, to 1/16 of the
                           rate interval, ambiguous for records idle longer than 2^15
                           intervals (3 days with interval 3) */
} CLG_Report;

/* Record `index` (0 .. CLG_Capacity - 1) at `now`: 1 and *r filled if it is in use, 0 if
   free or being claimed at that instant. */
int CLG_GetReport(const CLG_Table *t, size_t index, const struct timespec *now, CLG_Report *r);

#endif
