/* clientlog.c - the shared lock-free client log: see clientlog.h for the contract.

   A client lives in one of four records: the two of its bucket (64 bytes, one cache
   line) first, then the two of the other bucket of the same 128-byte block. Lookups read
   the client's own line and only on a miss the neighbour; a new client takes a free
   record of its line, else of the neighbour, else evicts the least recently seen of the
   four.

   A record (32 bytes, two to a bucket):
     fp     keyed 63-bit fingerprint of the client's key; 0 = free; FP_PENDING set while
            the thread that claimed it resets it (nobody evicts a pending record)
     state  hits:32 | seen:20 | debt:12, updated with one CAS per request: the request
            counter, when the client was last seen and its rate-limit debt
     rx     interleaved mode: the receive timestamp (NTP, sec << 32 | frac) the last reply
            carried, 0 = none
     tx     interleaved mode: seq:3 | busy:1 | offset:28, the transmit timestamp of that
            reply as an offset from rx in 2^-30 s (0 = unknown, at most 250 ms); busy and
            seq make the rx/tx pair a tiny try-lock plus seqlock (below)
     drops, kods  16-bit saturating counters

   Why this and not a separate last-seen time and token word: the suggested layout had no
   room for a last-seen time that dropped requests update (LRU eviction needs it), and a
   32-bit token word that wraps cannot tell a long-idle client from a busy one. Keeping
   seen and debt in the same unit (1/16 of the rate interval) makes them one 32-bit field
   with no rounding loss, and putting the hit counter beside them makes the whole request
   one CAS instead of three atomic operations.

   Rate limit: a GCRA (virtual scheduling) bucket. Time is counted in units of T/16, T =
   2^interval s. debt is how far the client's "theoretical arrival time" is ahead of its
   last request: a request at elapsed e first pays off e units; it is answered if the
   remaining debt is at most (burst - 1) * 16, which adds 16 (one interval) to the debt.
   So a quiet client gets `burst` answers back to back, then one per T on average, and a
   long pause refills to the burst and no further. debt never exceeds burst * 16 = 4080 <
   2^12. A request over the limit is answered anyway if the low `leak` bits of the
   caller's random word are zero (1 in 2^leak); else it gets a KoD RATE if kod is on and
   the next `kod` bits are zero; else it is dropped. This is chrony's behaviour (a leaked
   response costs no tokens, KoDs are drawn only from the requests that would be dropped
   and are not counted as drops), at a finer grain: chrony's limiting turns coarse below
   interval -4, ours stays at T/16.

   Fingerprints and buckets come from two keyed multiply-fold hashes of the 128-bit key
   (IPv4 as v4-mapped, IPv6 masked to the configured prefix) with four secret 64-bit
   words from getrandom(2): bucket index and fingerprint are independent, so two clients
   of one set share a fingerprint with probability 2^-63 per pair; a false match would
   merge two clients' counters and rate state (interleaved mode still checks the client's
   origin timestamp), which at 4 records a set and 10^8 new clients a second happens
   about once in 700 years. Without the secret an attacker cannot aim at a bucket.

   Races accepted (all benign, none tears a field, every field is read and written with
   single atomic operations):
   - A thread that found a record may still update it after another thread evicted it:
     that request is counted and rate-limited as the new client's.
   - Two threads claiming the same new client at once may claim two records of the set;
     after publishing, each checks the others and the record at the higher address is
     freed (the seq_cst claim, publish and check make sure one of them sees the other).
     The request counted in the freed record is collected by its next claimer.
   - Requests processed out of order by two workers (RX times t2 > t1, t1 processed
     last) make `seen` step back a little; the next request is then credited t2 - t1
     extra, at most the workers' processing skew.
   - `now` going backwards (a clock step), or a record idle for more than half the span
     of `seen` (2^15 intervals), reads as no time elapsed: such a client keeps the debt
     it had (at most burst intervals). A record idle for a whole multiple of the span
     reads as recently seen.
   - The interleaved pair is never mixed: SaveRx, SaveTx and a claim (when the old client
     left a pair) take the busy bit of the tx word with a CAS, write, and release it with
     the next sequence number; SaveTx
     writes its offset only if rx is still its rx. A writer that finds the bit taken for
     64 tries gives up (the record keeps an older, consistent pair; a lost SaveRx only
     means a basic reply next time). Readers never wait: they read tx, rx, tx and accept
     an unchanged, not busy word, else answer "no pair". The sequence has 3 bits: a
     reader preempted between its two reads while 8 writes of the same offset happen
     would accept a newer rx with an older TX.
   - Counters saturate (hits at 2^32 - 1, drops and KoDs at 65535); the 16-bit ones are
     small to keep the record at 32 bytes.

   Memory: one anonymous mapping, buckets then addresses, aligned to 2 MiB when large so
   that transparent huge pages can back it (a random lookup in 768 MiB then costs one
   cache miss, not a cache miss and a page walk), and faulted in at create. */

#include "server/clientlog.h"

#include <assert.h>
#include <ck_pr.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define FP_PENDING (1ULL << 63)

#define SEEN_BITS   20
#define SEEN_MASK   ((1U << SEEN_BITS) - 1)
#define SEEN_HALF   (1U << (SEEN_BITS - 1))
#define DEBT_BITS   12
#define DEBT_MASK   ((1U << DEBT_BITS) - 1)
#define DEBT_PER_TX 16 /* units of T/16 in one interval */

#define TX_OFF_BITS 28
#define TX_OFF_MASK ((1U << TX_OFF_BITS) - 1)
#define TX_BUSY     (1U << TX_OFF_BITS)
#define TX_SEQ_ONE  (1U << (TX_OFF_BITS + 1))
#define TX_SEQ_MASK (~(TX_OFF_MASK | TX_BUSY))
#define TX_MAX_DIFF (1ULL << 30) /* 250 ms in units of 2^-32 s */

/* Every record of a set pending, or the pair of interleaved mode busy: how often to look
   again before giving up */
#define MAX_PENDING_SPINS 64

#define SET_SLOTS 4

#define HUGE_PAGE (2UL << 20)

typedef struct {
  uint64_t fp;
  uint64_t state;
  uint64_t rx;
  uint32_t tx;
  uint16_t drops;
  uint16_t kods;
} Record;

typedef struct {
  _Alignas(64) Record rec[2];
} Bucket;

static_assert(sizeof(Record) == 32, "a record is half a cache line");
static_assert(sizeof(Bucket) == 64, "a bucket is one cache line");
static_assert(DEBT_PER_TX * 255 <= DEBT_MASK, "the debt of a full burst fits its field");

struct CLG_Table_Record {
  /* read-only after create */
  Bucket *buckets;
  uint64_t (*addrs)[2]; /* by record index: bucket * 2 + slot */
  size_t n_buckets;     /* a power of two */
  uint64_t seed[4];
  uint64_t mask6[2];
  int prefix6_bits;
  int time_shift; /* (sec << 32 | frac) >> time_shift = units of T/16 */
  double unit_seconds;
  int enabled;
  uint32_t debt_limit; /* (burst - 1) * 16: a request is answered up to this debt */
  uint32_t leak_mask;
  int leak_bits;
  uint32_t kod_mask; /* 0: no KoD */
  void *map;
  size_t map_len;
};

/* ================================================== */
/* Keys and hashing */

static inline uint64_t mix(uint64_t x, uint64_t y)
{
  unsigned __int128 p = (unsigned __int128) x * y;

  return (uint64_t) p ^ (uint64_t) (p >> 64);
}

static inline void hash_key(const CLG_Table *t, CLG_Key *k)
{
  uint64_t fp = mix(k->words[0] ^ t->seed[0], k->words[1] ^ t->seed[1]) & ~FP_PENDING;

  k->fingerprint = fp ? fp : 1;
  k->bucket = mix(k->words[0] ^ t->seed[2], k->words[1] ^ t->seed[3]) & (t->n_buckets - 1);
}

/* The key is the 16 bytes of the IPv6 address (IPv4 as ::ffff:a.b.c.d) in memory order,
   read as two native words. The IPv4 word is built in registers: assembling it in a
   buffer and reading it back whole would defeat store-to-load forwarding, and the
   stall, which waits for the previous request's cache miss to retire, serialises the
   misses of consecutive requests (measured: 6 M/s instead of 30+). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define V4MAPPED_LOW  0x00000000ffff0000ULL
#define V4MAPPED_MASK 0x00000000ffffffffULL
#define V4_SHIFT      32
#else
#define V4MAPPED_LOW  0x0000ffff00000000ULL
#define V4MAPPED_MASK 0xffffffff00000000ULL
#define V4_SHIFT      0
#endif

static inline int is_v4mapped(const uint64_t w[2])
{
  return w[0] == 0 && (w[1] & V4MAPPED_MASK) == V4MAPPED_LOW;
}

int CLG_MakeKey(const CLG_Table *t, const struct sockaddr *addr, CLG_Key *key)
{
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *) addr;

    key->words[0] = 0;
    key->words[1] = V4MAPPED_LOW | (uint64_t) sin->sin_addr.s_addr << V4_SHIFT;
  } else if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) addr;

    memcpy(key->words, &sin6->sin6_addr, 16);
    if (!is_v4mapped(key->words)) {
      key->words[0] &= t->mask6[0];
      key->words[1] &= t->mask6[1];
    }
  } else {
    return -EAFNOSUPPORT;
  }
  hash_key(t, key);
  return 0;
}

void CLG_Prefetch(const CLG_Table *t, const CLG_Key *key)
{
  __builtin_prefetch(&t->buckets[key->bucket], 1, 3);
}

/* ================================================== */
/* Time */

/* (sec << 32 | frac) of a timespec, modulo 2^64; 2^63 / 10^9 rounded up makes the
   fraction without a division */
static inline uint64_t fixed_time(const struct timespec *ts)
{
  return ((uint64_t) ts->tv_sec << 32) + (((uint64_t) ts->tv_nsec * 9223372037ULL) >> 31);
}

static inline uint32_t time_units(const CLG_Table *t, const struct timespec *now)
{
  return (uint32_t) (fixed_time(now) >> t->time_shift) & SEEN_MASK;
}

/* Units since the record was last seen; 0 if that reads as the future (see the races) */
static inline uint32_t state_age(uint64_t state, uint32_t now_u)
{
  uint32_t age = (now_u - (uint32_t) (state >> DEBT_BITS)) & SEEN_MASK;

  return age >= SEEN_HALF ? 0 : age;
}

/* ================================================== */
/* The request path */

static void count16(uint16_t *counter)
{
  uint16_t old = __atomic_load_n(counter, __ATOMIC_RELAXED);

  while (old != UINT16_MAX &&
         !__atomic_compare_exchange_n(counter, &old, (uint16_t) (old + 1), 1, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED))
    ;
}

/* The records a client may live in, its own bucket's first: the two buckets of its
   128-byte block (the only bucket of a one-bucket table). Four ways instead of two hold
   far more clients at the same memory (2% of the clients do not fit at a fifth of the
   capacity with two ways, 0.2% with four), and most lookups still read one line. */
static int set_slots(const CLG_Table *t, size_t bucket, Record *slot[SET_SLOTS])
{
  Bucket *b = &t->buckets[bucket];

  slot[0] = &b->rec[0];
  slot[1] = &b->rec[1];
  if (t->n_buckets == 1)
    return 2;
  b = &t->buckets[bucket ^ 1];
  slot[2] = &b->rec[0];
  slot[3] = &b->rec[1];
  return 4;
}

/* Free slots first, then the least recently seen; never a pending one. -1: all pending */
static int pick_victim(Record *const slot[SET_SLOTS], const uint64_t fp[SET_SLOTS], int n,
                       uint32_t now_u)
{
  uint32_t age, oldest = 0;
  int i, v = -1;

  for (i = 0; i < n; i++) {
    if (fp[i] == 0)
      return i;
  }
  for (i = 0; i < n; i++) {
    if (fp[i] & FP_PENDING)
      continue;
    age = state_age(__atomic_load_n(&slot[i]->state, __ATOMIC_RELAXED), now_u);
    if (v < 0 || age > oldest) {
      v = i;
      oldest = age;
    }
  }
  return v;
}

static void reset_pair(Record *r);

/* We own slot[v] (FP_PENDING set by our CAS): reset it for the new client with this
   request counted, publish it, and return the record to use */
static Record *claim(CLG_Table *t, const CLG_Key *k, Record *const slot[SET_SLOTS], int n,
                     int v, uint64_t old_fp, uint64_t fresh, CLG_Ref *ref, int *counted)
{
  Record *r = slot[v];
  size_t index = (size_t) (r - &t->buckets[0].rec[0]);
  uint64_t old_state, f, expect;
  int i;

  /* the exchange hands the old client's count to the caller, including requests that a
     late thread added to it after we took it over */
  old_state = __atomic_exchange_n(&r->state, fresh, __ATOMIC_RELAXED);
  reset_pair(r);
  __atomic_store_n(&r->drops, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&r->kods, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&t->addrs[index][0], k->words[0], __ATOMIC_RELAXED);
  __atomic_store_n(&t->addrs[index][1], k->words[1], __ATOMIC_RELAXED);
  __atomic_store_n(&r->fp, k->fingerprint, __ATOMIC_SEQ_CST);

  ref->evicted = (old_fp & ~FP_PENDING) != 0;
  ref->evicted_hits = (uint32_t) (old_state >> 32);
  ref->is_new = 1;
  *counted = 1;

  /* Another thread may have claimed another slot for the same client at the same time:
     the record at the lowest address stays. A duplicate above ours we free once it is
     published (not while pending: its owner is still writing it, and its own check,
     made after ours, will see us); below ours, we give ours back. The seq_cst claim,
     publish and check make sure at least one of two such threads sees the other. */
  for (i = 0; i < n; i++) {
    if (i == v)
      continue;
    f = __atomic_load_n(&slot[i]->fp, __ATOMIC_SEQ_CST);
    if ((f & ~FP_PENDING) != k->fingerprint)
      continue;
    expect = k->fingerprint;
    if (slot[i] < r) {
      /* this request stays counted in the record we free, for its next claimer to
         collect, like any late update */
      __atomic_compare_exchange_n(&r->fp, &expect, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
      ref->is_new = 0;
      return slot[i];
    }
    if (!(f & FP_PENDING))
      __atomic_compare_exchange_n(&slot[i]->fp, &expect, 0, 0, __ATOMIC_SEQ_CST,
                                  __ATOMIC_RELAXED);
  }
  return r;
}

/* The client's record, claimed if need be (*counted: this request is counted already);
   NULL if every record of the set stayed pending */
static Record *find_record(CLG_Table *t, const CLG_Key *k, uint32_t now_u, uint64_t fresh,
                           CLG_Ref *ref, int *counted)
{
  Record *slot[SET_SLOTS];
  uint64_t fp[SET_SLOTS];
  int i, n, v, spins = 0;

  n = set_slots(t, k->bucket, slot);
  for (;;) {
    for (i = 0; i < n; i++) {
      fp[i] = __atomic_load_n(&slot[i]->fp, __ATOMIC_ACQUIRE);
      if ((fp[i] & ~FP_PENDING) == k->fingerprint)
        return slot[i];
    }
    v = pick_victim(slot, fp, n, now_u);
    if (v < 0) {
      /* all being reset by other threads, for nanoseconds unless one was preempted:
         rather than wait on them, leave this request unlogged */
      if (++spins > MAX_PENDING_SPINS)
        return NULL;
      ck_pr_stall();
      continue;
    }
    __builtin_prefetch(&t->addrs[slot[v] - &t->buckets[0].rec[0]], 1, 3);
    /* a failed CAS means another thread changed the slot: look again */
    if (__atomic_compare_exchange_n(&slot[v]->fp, &fp[v], k->fingerprint | FP_PENDING, 0,
                                    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
      return claim(t, k, slot, n, v, fp[v], fresh, ref, counted);
  }
}

/* One CAS: count the hit, note the time, pay off and charge the debt */
static CLG_Decision update_state(const CLG_Table *t, Record *r, uint32_t now_u,
                                 CLG_Decision over)
{
  uint64_t old = __atomic_load_n(&r->state, __ATOMIC_RELAXED), new;
  uint32_t hits, debt, elapsed;
  CLG_Decision d;

  do {
    hits = (uint32_t) (old >> 32);
    debt = (uint32_t) old & DEBT_MASK;
    elapsed = state_age(old, now_u);
    debt = elapsed >= debt ? 0 : debt - elapsed;
    d = CLG_RESPOND;
    if (t->enabled) {
      if (debt <= t->debt_limit)
        debt += DEBT_PER_TX;
      else
        d = over;
    }
    if (hits != UINT32_MAX)
      hits++;
    new = (uint64_t) hits << 32 | (uint64_t) now_u << DEBT_BITS | debt;
  } while (!__atomic_compare_exchange_n(&r->state, &old, new, 1, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
  return d;
}

/* Count and rate-limit a request in the client's existing record */
static CLG_Decision log_hit(const CLG_Table *t, Record *r, uint32_t now_u, uint32_t random)
{
  CLG_Decision d, over;

  /* what a request over the limit gets: drawn before the CAS loop, which may run twice */
  if ((random & t->leak_mask) == 0)
    over = CLG_RESPOND;
  else if (t->kod_mask && ((random >> t->leak_bits) & t->kod_mask) == 0)
    over = CLG_KOD;
  else
    over = CLG_DROP;

  d = update_state(t, r, now_u, over);
  if (d == CLG_DROP)
    count16(&r->drops);
  else if (d == CLG_KOD)
    count16(&r->kods);
  return d;
}

static void init_ref(CLG_Ref *ref, const CLG_Key *key, Record *r)
{
  ref->record = r;
  ref->fingerprint = key->fingerprint;
  ref->evicted = ref->is_new = 0;
  ref->evicted_hits = 0;
}

CLG_Decision CLG_LogNtpRequestKey(CLG_Table *t, const CLG_Key *key, const struct timespec *now,
                                  uint32_t random, CLG_Ref *ref)
{
  uint32_t now_u = time_units(t, now);
  /* a new record: this request counted, seen now, one interval of debt if limiting */
  uint64_t fresh = 1ULL << 32 | (uint64_t) now_u << DEBT_BITS | (t->enabled ? DEBT_PER_TX : 0);
  Record *r;
  int counted = 0;

  init_ref(ref, key, NULL);
  r = find_record(t, key, now_u, fresh, ref, &counted);
  ref->record = r;
  if (!r || counted)
    return CLG_RESPOND;
  return log_hit(t, r, now_u, random);
}

void CLG_LogNtpRequests(CLG_Table *t, size_t n, const CLG_Key *keys,
                        const struct timespec *now, const uint32_t *random, CLG_Ref *refs,
                        CLG_Decision *decisions)
{
  size_t base, i, m;
  uint64_t fp;
  uint32_t later;
  Bucket *b;
  int j;

  for (base = 0; base < n; base += 32) {
    m = n - base < 32 ? n - base : 32;
    for (i = 0; i < m; i++)
      CLG_Prefetch(t, &keys[base + i]);
    /* clients found in their own line now; the others after their neighbour line (and
       the lines of the batch still in flight) had time to arrive */
    later = 0;
    for (i = 0; i < m; i++) {
      const CLG_Key *k = &keys[base + i];

      b = &t->buckets[k->bucket];
      for (j = 0; j < 2; j++) {
        fp = __atomic_load_n(&b->rec[j].fp, __ATOMIC_ACQUIRE);
        if ((fp & ~FP_PENDING) == k->fingerprint)
          break;
      }
      if (j == 2) {
        later |= 1U << i;
        __builtin_prefetch(&t->buckets[k->bucket ^ (t->n_buckets > 1)], 1, 3);
        /* and the addresses of the set, in case it is a new client */
        __builtin_prefetch(&t->addrs[(k->bucket & ~(size_t) 1) * 2], 1, 3);
        continue;
      }
      init_ref(&refs[base + i], k, &b->rec[j]);
      decisions[base + i] =
          log_hit(t, &b->rec[j], time_units(t, &now[base + i]), random[base + i]);
    }
    for (i = 0; i < m; i++) {
      if (later & 1U << i)
        decisions[base + i] = CLG_LogNtpRequestKey(t, &keys[base + i], &now[base + i],
                                                   random[base + i], &refs[base + i]);
    }
  }
}

CLG_Decision CLG_LogNtpRequest(CLG_Table *t, const struct sockaddr *addr,
                               const struct timespec *now, uint32_t random, CLG_Ref *ref)
{
  CLG_Key key;

  if (CLG_MakeKey(t, addr, &key) < 0) {
    memset(ref, 0, sizeof(*ref));
    return CLG_RESPOND;
  }
  return CLG_LogNtpRequestKey(t, &key, now, random, ref);
}

/* ================================================== */
/* Interleaved mode */

static inline uint64_t ts_u64(const NWR_Ts64 *ts)
{
  return (uint64_t) ts->sec << 32 | ts->frac;
}

static inline void u64_ts(uint64_t v, NWR_Ts64 *ts)
{
  ts->sec = (uint32_t) (v >> 32);
  ts->frac = (uint32_t) v;
}

/* The pair is written under TX_BUSY, taken with a CAS, so one writer at a time; a writer
   that cannot take it within a few tries gives up (the record keeps a consistent older
   pair). Readers never wait: they fail on TX_BUSY or when the word changed under them. */
static int tx_lock(Record *r, uint32_t *word)
{
  uint32_t old;
  int i;

  for (i = 0; i < MAX_PENDING_SPINS; i++) {
    old = __atomic_load_n(&r->tx, __ATOMIC_RELAXED);
    if (!(old & TX_BUSY) && __atomic_compare_exchange_n(&r->tx, &old, old | TX_BUSY, 0,
                                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      /* the stores of the pair must not be seen before TX_BUSY */
      __atomic_thread_fence(__ATOMIC_RELEASE);
      *word = old;
      return 1;
    }
    ck_pr_stall();
  }
  return 0;
}

/* Release with a new sequence number and the given offset (0 = TX unknown) */
static void tx_unlock(Record *r, uint32_t word, uint32_t off)
{
  __atomic_store_n(&r->tx, ((word & TX_SEQ_MASK) + TX_SEQ_ONE) | off, __ATOMIC_RELEASE);
}

static void reset_pair(Record *r)
{
  uint32_t w;

  /* Nothing to clear (no interleaved mode for the old client): spare the CAS. A writer of
     the old client holding the pair keeps it: its pair is consistent, and the new
     client's origin timestamp will not match it. */
  if (__atomic_load_n(&r->rx, __ATOMIC_RELAXED) == 0 &&
      (__atomic_load_n(&r->tx, __ATOMIC_RELAXED) & TX_OFF_MASK) == 0)
    return;
  if (!tx_lock(r, &w))
    return;
  __atomic_store_n(&r->rx, 0, __ATOMIC_RELAXED);
  tx_unlock(r, w, 0);
}

/* The record if it still belongs to the client of ref */
static Record *ref_record(const CLG_Ref *ref)
{
  Record *r = ref->record;

  if (!r || (__atomic_load_n(&r->fp, __ATOMIC_ACQUIRE) & ~FP_PENDING) != ref->fingerprint)
    return NULL;
  return r;
}

int CLG_GetInterleaved(CLG_Table *t, const CLG_Ref *ref, NWR_Ts64 *prev_rx, NWR_Ts64 *prev_tx)
{
  Record *r = ref_record(ref);
  uint32_t w1, w2;
  uint64_t rx;

  (void) t;
  u64_ts(0, prev_rx);
  u64_ts(0, prev_tx);
  if (!r)
    return 0;
  w1 = __atomic_load_n(&r->tx, __ATOMIC_ACQUIRE);
  if (w1 & TX_BUSY)
    return 0;
  rx = __atomic_load_n(&r->rx, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  w2 = __atomic_load_n(&r->tx, __ATOMIC_RELAXED);
  if (w1 != w2)
    return 0;
  u64_ts(rx, prev_rx);
  if (rx == 0 || (w1 & TX_OFF_MASK) == 0)
    return 0;
  u64_ts(rx + ((uint64_t) (w1 & TX_OFF_MASK) << 2), prev_tx);
  return 1;
}

void CLG_SaveRx(CLG_Table *t, const CLG_Ref *ref, const NWR_Ts64 *rx)
{
  Record *r = ref_record(ref);
  uint32_t w;

  (void) t;
  if (!r || !tx_lock(r, &w))
    return;
  __atomic_store_n(&r->rx, ts_u64(rx), __ATOMIC_RELAXED);
  tx_unlock(r, w, 0);
}

void CLG_SaveTx(CLG_Table *t, const CLG_Ref *ref, const NWR_Ts64 *rx, const NWR_Ts64 *tx)
{
  Record *r = ref_record(ref);
  uint64_t rxv = ts_u64(rx), diff = ts_u64(tx) - rxv;
  uint32_t off, w;

  (void) t;
  if (!r || rxv == 0 || diff >= TX_MAX_DIFF)
    return;
  off = (uint32_t) ((diff + 2) >> 2);
  if (off == 0)
    off = 1;
  else if (off > TX_OFF_MASK)
    off = TX_OFF_MASK;
  /* cheap early out for a stale TX, before taking the pair */
  if (__atomic_load_n(&r->rx, __ATOMIC_RELAXED) != rxv || !tx_lock(r, &w))
    return;
  if (__atomic_load_n(&r->rx, __ATOMIC_RELAXED) == rxv)
    tx_unlock(r, w, off);
  else
    __atomic_store_n(&r->tx, w, __ATOMIC_RELEASE);
}

/* ================================================== */
/* Create and destroy */

static void *map_table(size_t len, unsigned flags, void **map, size_t *map_len)
{
  size_t total = len >= HUGE_PAGE ? len + HUGE_PAGE : len;
  uint8_t *p, *start;
  size_t head, tail;

  p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
           -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  start = p;
  if (total != len) {
    /* 2 MiB alignment, so that huge pages can cover the table from its first byte */
    start = (uint8_t *) (((uintptr_t) p + HUGE_PAGE - 1) & ~(uintptr_t) (HUGE_PAGE - 1));
    head = (size_t) (start - p);
    tail = total - head - len;
    if (head)
      munmap(p, head);
    if (tail)
      munmap(start + len, tail);
    madvise(start, len, MADV_HUGEPAGE); /* a hint: fine if THP is off */
  }
  if (!(flags & CLG_F_NO_PREFAULT) && madvise(start, len, MADV_POPULATE_WRITE) < 0) {
    /* older kernels: touch every page ourselves */
    size_t off;

    for (off = 0; off < len; off += 4096)
      ((volatile uint8_t *) start)[off] = 0;
  }
  *map = start;
  *map_len = len;
  return start;
}

static int check_rate(const CLG_RateParams *p)
{
  if (!p || !p->enabled)
    return 0;
  if (p->interval < -19 || p->interval > 12 || p->burst < 1 || p->burst > 255 || p->leak < 1 ||
      p->leak > 4 || p->kod < 0 || p->kod > 4)
    return -EINVAL;
  return 0;
}

CLG_Table *CLG_CreateFlags(size_t memory_limit, int prefix6_bits,
                           const CLG_RateParams *ntp_rate, unsigned flags)
{
  const size_t bucket_bytes = sizeof(Bucket) + 2 * sizeof(uint64_t[2]);
  CLG_Table *t;
  size_t n = 1, i;
  uint8_t mask[16];
  int interval, err;

  if (prefix6_bits < 0 || prefix6_bits > 128 || check_rate(ntp_rate) < 0) {
    errno = EINVAL;
    return NULL;
  }
  t = aligned_alloc(64, (sizeof(*t) + 63) & ~(size_t) 63);
  if (!t) {
    errno = ENOMEM;
    return NULL;
  }
  memset(t, 0, sizeof(*t));

  while (n < ((size_t) 1 << 31) && 2 * n <= memory_limit / bucket_bytes)
    n *= 2;
  t->n_buckets = n;

  if (getrandom(t->seed, sizeof(t->seed), 0) != (ssize_t) sizeof(t->seed)) {
    err = errno ? errno : EIO;
    free(t);
    errno = err;
    return NULL;
  }

  t->prefix6_bits = prefix6_bits == 0 ? 128 : prefix6_bits;
  memset(mask, 0, sizeof(mask));
  for (i = 0; i < 16; i++) {
    int bits = t->prefix6_bits - 8 * (int) i;

    mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t) (0xff << (8 - bits));
  }
  memcpy(t->mask6, mask, sizeof(mask));

  t->enabled = ntp_rate && ntp_rate->enabled;
  interval = t->enabled ? ntp_rate->interval : 3;
  t->time_shift = 28 + interval; /* 2^-32 s << (28 + I) = 2^(I - 4) s = T/16 */
  t->unit_seconds = 1.0;
  for (i = 0; i < (size_t) (interval < 4 ? 4 - interval : interval - 4); i++)
    t->unit_seconds = interval < 4 ? t->unit_seconds / 2 : t->unit_seconds * 2;
  if (t->enabled) {
    t->debt_limit = (uint32_t) (ntp_rate->burst - 1) * DEBT_PER_TX;
    t->leak_bits = ntp_rate->leak;
    t->leak_mask = (1U << ntp_rate->leak) - 1;
    t->kod_mask = ntp_rate->kod ? (1U << ntp_rate->kod) - 1 : 0;
  }

  if (!map_table(n * bucket_bytes, flags, &t->map, &t->map_len)) {
    free(t);
    errno = ENOMEM;
    return NULL;
  }
  t->buckets = t->map;
  t->addrs = (uint64_t(*)[2])((uint8_t *) t->map + n * sizeof(Bucket));
  return t;
}

CLG_Table *CLG_Create(size_t memory_limit, int prefix6_bits, const CLG_RateParams *ntp_rate)
{
  return CLG_CreateFlags(memory_limit, prefix6_bits, ntp_rate, 0);
}

void CLG_Destroy(CLG_Table *t)
{
  if (!t)
    return;
  munmap(t->map, t->map_len);
  free(t);
}

size_t CLG_Capacity(const CLG_Table *t)
{
  return t->n_buckets * 2;
}

size_t CLG_MemorySize(const CLG_Table *t)
{
  return t->map_len;
}

/* ================================================== */
/* Reports */

size_t CLG_CountRecords(const CLG_Table *t)
{
  size_t i, n = 0;

  for (i = 0; i < t->n_buckets; i++) {
    n += __atomic_load_n(&t->buckets[i].rec[0].fp, __ATOMIC_RELAXED) != 0;
    n += __atomic_load_n(&t->buckets[i].rec[1].fp, __ATOMIC_RELAXED) != 0;
  }
  return n;
}

int CLG_GetReport(const CLG_Table *t, size_t index, const struct timespec *now, CLG_Report *r)
{
  const Record *rec;
  CLG_Key key;
  uint64_t fp, state, rx;
  uint8_t b[16];

  if (index >= CLG_Capacity(t))
    return 0;
  rec = &t->buckets[index / 2].rec[index % 2];
  fp = __atomic_load_n(&rec->fp, __ATOMIC_ACQUIRE);
  if (fp == 0 || (fp & FP_PENDING))
    return 0;
  key.words[0] = __atomic_load_n(&t->addrs[index][0], __ATOMIC_RELAXED);
  key.words[1] = __atomic_load_n(&t->addrs[index][1], __ATOMIC_RELAXED);
  state = __atomic_load_n(&rec->state, __ATOMIC_RELAXED);
  rx = __atomic_load_n(&rec->rx, __ATOMIC_RELAXED);
  /* the address must still be the one the record was claimed for (not being replaced
     under us by a claim of another client) */
  hash_key(t, &key);
  if (key.fingerprint != fp || (key.bucket | 1) != ((index / 2) | 1) ||
      __atomic_load_n(&rec->fp, __ATOMIC_ACQUIRE) != fp)
    return 0;

  memset(r, 0, sizeof(*r));
  memcpy(b, key.words, 16);
  if (is_v4mapped(key.words)) {
    r->family = AF_INET;
    memcpy(r->addr, b + 12, 4);
    r->prefix_bits = 32;
  } else {
    r->family = AF_INET6;
    memcpy(r->addr, b, 16);
    r->prefix_bits = t->prefix6_bits;
  }
  r->hits = (uint32_t) (state >> 32);
  r->drops = __atomic_load_n(&rec->drops, __ATOMIC_RELAXED);
  r->kods = __atomic_load_n(&rec->kods, __ATOMIC_RELAXED);
  u64_ts(rx, &r->last_rx);
  r->last_seen_ago = state_age(state, time_units(t, now)) * t->unit_seconds;
  return 1;
}
