/* test_clientlog.c - the shared client log: lookups and keys, LRU eviction, chrony's
   ratelimit semantics on a fake clock, no double spending of tokens across threads, a
   concurrency torture with exact hit accounting, the memory figures of a 1 GiB table,
   and the interleaved RX/TX pair. Includes the .c to check the records themselves. */
#include "server/clientlog.c"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/un.h>

#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define T0 1700000000 /* any time will do; this one is in 2023 */

static const CLG_RateParams rate_default = { 3, 8, 2, 0, 1 };

static struct sockaddr_storage sa(const char *ip)
{
  struct sockaddr_storage ss;

  memset(&ss, 0, sizeof(ss));
  if (strchr(ip, ':')) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;

    s6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
      abort();
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;

    s4->sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
      abort();
  }
  return ss;
}

static struct timespec ts_at(int64_t sec, int64_t nsec)
{
  struct timespec ts;

  sec += nsec / 1000000000;
  nsec %= 1000000000;
  ts.tv_sec = (time_t) sec;
  ts.tv_nsec = (long) nsec;
  return ts;
}

static CLG_Decision log_at(CLG_Table *t, const char *ip, int64_t sec, int64_t nsec,
                           uint32_t random, CLG_Ref *ref)
{
  struct sockaddr_storage ss = sa(ip);
  struct timespec now = ts_at(sec, nsec);
  CLG_Ref dummy;

  return CLG_LogNtpRequest(t, (struct sockaddr *) &ss, &now, random, ref ? ref : &dummy);
}

static size_t ref_index(const CLG_Table *t, const CLG_Ref *ref)
{
  return (size_t) ((const Record *) ref->record - &t->buckets[0].rec[0]);
}

static uint64_t rng_next(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* ================================================== */

static void test_create(void)
{
  CLG_RateParams p;
  CLG_Table *t;

  t = CLG_Create(524288, 0, NULL);
  TEST_CHECK(t != NULL);
  if (t) {
    /* chrony's default clientloglimit: 4096 buckets of 96 bytes with their addresses */
    TEST_CHECKF(CLG_Capacity(t) == 8192, "%zu", CLG_Capacity(t));
    TEST_CHECKF(CLG_MemorySize(t) == 393216, "%zu", CLG_MemorySize(t));
    TEST_CHECK(CLG_CountRecords(t) == 0);
  }
  CLG_Destroy(t);

  t = CLG_Create(0, 0, NULL); /* smallest: one bucket */
  TEST_CHECK(t && CLG_Capacity(t) == 2);
  CLG_Destroy(t);
  CLG_Destroy(NULL);

  p = rate_default;
  p.interval = -19;
  t = CLG_Create(4096, 64, &p);
  TEST_CHECK(t != NULL);
  CLG_Destroy(t);
  p.interval = 12;
  t = CLG_Create(4096, 128, &p);
  TEST_CHECK(t != NULL);
  CLG_Destroy(t);

  /* chrony's ranges: interval -19..12, burst 1..255, leak 1..4, kod 0..4 */
  {
    static const int bad[][4] = { { -20, 8, 2, 0 }, { 13, 8, 2, 0 }, { 3, 0, 2, 0 },
                                  { 3, 256, 2, 0 }, { 3, 8, 0, 0 },  { 3, 8, 5, 0 },
                                  { 3, 8, 2, -1 },  { 3, 8, 2, 5 } };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      p.interval = bad[i][0];
      p.burst = bad[i][1];
      p.leak = bad[i][2];
      p.kod = bad[i][3];
      p.enabled = 1;
      errno = 0;
      t = CLG_Create(4096, 0, &p);
      TEST_CHECKF(t == NULL && errno == EINVAL, "case %zu", i);
      CLG_Destroy(t);
      p.enabled = 0; /* ignored when disabled */
      t = CLG_Create(4096, 0, &p);
      TEST_CHECKF(t != NULL, "disabled case %zu", i);
      CLG_Destroy(t);
    }
  }
  errno = 0;
  t = CLG_Create(4096, 129, NULL);
  TEST_CHECK(t == NULL && errno == EINVAL);
  t = CLG_Create(4096, -1, NULL);
  TEST_CHECK(t == NULL && errno == EINVAL);
}

static void test_lookup(void)
{
  CLG_Table *t = CLG_Create(1 << 20, 0, NULL), *t64 = CLG_Create(1 << 20, 64, NULL);
  CLG_Ref a, b, c;
  CLG_Report rep;
  struct sockaddr_un un;
  struct timespec now = ts_at(T0, 0);
  uint8_t want[16];

  TEST_CHECK(t && t64);
  if (!t || !t64)
    return;

  TEST_CHECK(log_at(t, "192.0.2.1", T0, 0, 1, &a) == CLG_RESPOND);
  TEST_CHECK(a.record && a.is_new && !a.evicted);
  TEST_CHECK(log_at(t, "192.0.2.1", T0, 1000, 1, &b) == CLG_RESPOND);
  TEST_CHECK(b.record == a.record && !b.is_new && b.fingerprint == a.fingerprint);
  TEST_CHECK(log_at(t, "192.0.2.2", T0, 2000, 1, &c) == CLG_RESPOND);
  TEST_CHECK(c.record && c.record != a.record && c.is_new);
  /* an IPv4-mapped IPv6 address is the IPv4 client */
  log_at(t, "::ffff:192.0.2.1", T0, 3000, 1, &b);
  TEST_CHECK(b.record == a.record && !b.is_new);
  TEST_CHECK(CLG_CountRecords(t) == 2);

  TEST_CHECK(CLG_GetReport(t, ref_index(t, &a), &now, &rep) == 1);
  TEST_CHECK(rep.family == AF_INET && rep.prefix_bits == 32 && rep.hits == 3);
  inet_pton(AF_INET, "192.0.2.1", want);
  TEST_CHECK(memcmp(rep.addr, want, 4) == 0);
  TEST_CHECK(rep.drops == 0 && rep.kods == 0 && NWR_Ts64IsZero(&rep.last_rx));

  /* full IPv6 addresses without ratelimitprefix6 (0 and 128 both mean the full address) */
  log_at(t, "2001:db8::1", T0, 0, 1, &a);
  log_at(t, "2001:db8::2", T0, 0, 1, &b);
  TEST_CHECK(a.record && b.record && a.record != b.record && b.is_new);
  TEST_CHECK(CLG_GetReport(t, ref_index(t, &b), &now, &rep) == 1);
  inet_pton(AF_INET6, "2001:db8::2", want);
  TEST_CHECK(rep.family == AF_INET6 && rep.prefix_bits == 128 &&
             memcmp(rep.addr, want, 16) == 0);

  /* ratelimitprefix6 64: a host rotating through its /64 is one client */
  log_at(t64, "2001:db8::1", T0, 0, 1, &a);
  log_at(t64, "2001:db8::2", T0, 0, 1, &b);
  log_at(t64, "2001:db8::ffff:1234:5678:9abc", T0, 0, 1, &c);
  TEST_CHECK(a.is_new && b.record == a.record && c.record == a.record && !c.is_new);
  log_at(t64, "2001:db8:0:1::1", T0, 0, 1, &b);
  TEST_CHECK(b.record != a.record && b.is_new);
  TEST_CHECK(CLG_GetReport(t64, ref_index(t64, &a), &now, &rep) == 1);
  inet_pton(AF_INET6, "2001:db8::", want);
  TEST_CHECK(rep.family == AF_INET6 && rep.prefix_bits == 64 && rep.hits == 3 &&
             memcmp(rep.addr, want, 16) == 0);
  /* ... but IPv4 (mapped or not) is always keyed by the full address */
  log_at(t64, "::ffff:198.51.100.1", T0, 0, 1, &a);
  log_at(t64, "::ffff:198.51.100.2", T0, 0, 1, &b);
  log_at(t64, "198.51.100.1", T0, 0, 1, &c);
  TEST_CHECK(a.record != b.record && c.record == a.record);
  TEST_CHECK(CLG_CountRecords(t64) == 4);

  /* not an IP address: not logged, answered */
  memset(&un, 0, sizeof(un));
  un.sun_family = AF_UNIX;
  TEST_CHECK(CLG_LogNtpRequest(t, (struct sockaddr *) &un, &now, 1, &a) == CLG_RESPOND);
  TEST_CHECK(a.record == NULL && !a.is_new && !a.evicted);

  /* the bucket and fingerprint hashes are keyed: another table, other buckets */
  {
    CLG_Table *t2 = CLG_Create(1 << 20, 0, NULL);
    struct sockaddr_storage ss = sa("192.0.2.1");
    CLG_Key k1, k2;
    int same = 0, i;

    for (i = 0; t2 && i < 8; i++) {
      ((struct sockaddr_in *) &ss)->sin_addr.s_addr = htonl(0xc0000200U + (uint32_t) i);
      CLG_MakeKey(t, (struct sockaddr *) &ss, &k1);
      CLG_MakeKey(t2, (struct sockaddr *) &ss, &k2);
      same += k1.bucket == k2.bucket && k1.fingerprint == k2.fingerprint;
    }
    TEST_CHECK(t2 && same == 0);
    CLG_Destroy(t2);
  }

  CLG_Destroy(t);
  CLG_Destroy(t64);
}

static void test_eviction(void)
{
  /* 96..191 bytes: one bucket, two records: every client collides */
  CLG_Table *t = CLG_Create(100, 0, NULL);
  CLG_Ref a, b, c, d;
  CLG_Report rep;
  struct timespec now = ts_at(T0 + 100, 0);
  size_t i, live;

  TEST_CHECK(t && CLG_Capacity(t) == 2);
  if (!t)
    return;
  log_at(t, "192.0.2.1", T0 + 1, 0, 1, &a);
  log_at(t, "192.0.2.1", T0 + 2, 0, 1, &a);
  log_at(t, "192.0.2.2", T0 + 3, 0, 1, &b);
  TEST_CHECK(a.is_new == 0 && b.is_new && !b.evicted && b.record != a.record);
  /* a third client evicts the least recently seen: A (last seen at +2) */
  log_at(t, "192.0.2.3", T0 + 4, 0, 1, &c);
  TEST_CHECK(c.is_new && c.evicted && c.evicted_hits == 2 && c.record == a.record);
  /* B is now the oldest; refreshing B makes C the oldest */
  log_at(t, "192.0.2.2", T0 + 5, 0, 1, &b);
  TEST_CHECK(!b.is_new);
  log_at(t, "192.0.2.4", T0 + 6, 0, 1, &d);
  TEST_CHECK(d.is_new && d.evicted && d.evicted_hits == 1 && d.record == c.record);
  log_at(t, "192.0.2.1", T0 + 7, 0, 1, &a);
  TEST_CHECK(a.is_new && a.evicted && a.evicted_hits == 2 && a.record == b.record);

  for (i = 0, live = 0; i < 2; i++) {
    if (CLG_GetReport(t, i, &now, &rep)) {
      live++;
      TEST_CHECK(rep.family == AF_INET && rep.hits == 1);
      TEST_CHECKF(rep.last_seen_ago > 92.5 && rep.last_seen_ago < 94.5, "%f",
                  rep.last_seen_ago);
    }
  }
  TEST_CHECK(live == 2 && CLG_CountRecords(t) == 2);
  CLG_Destroy(t);

  /* two buckets: one set of four records, the least recently seen of the four goes */
  t = CLG_Create(2 * 96, 0, NULL);
  TEST_CHECK(t && CLG_Capacity(t) == 4);
  if (!t)
    return;
  log_at(t, "192.0.2.1", T0 + 1, 0, 1, &a);
  log_at(t, "192.0.2.2", T0 + 2, 0, 1, &b);
  log_at(t, "192.0.2.3", T0 + 3, 0, 1, &c);
  log_at(t, "192.0.2.4", T0 + 4, 0, 1, &d);
  TEST_CHECK(!a.evicted && !b.evicted && !c.evicted && !d.evicted && d.is_new);
  TEST_CHECK(CLG_CountRecords(t) == 4);
  log_at(t, "192.0.2.1", T0 + 5, 0, 1, &a);
  TEST_CHECK(!a.is_new);
  log_at(t, "192.0.2.5", T0 + 6, 0, 1, &c);
  TEST_CHECK(c.is_new && c.evicted && c.evicted_hits == 1 && c.record == b.record);
  log_at(t, "192.0.2.2", T0 + 7, 0, 1, &b);
  TEST_CHECK(b.is_new && b.evicted && b.record != a.record && b.record != c.record);
  log_at(t, "192.0.2.1", T0 + 8, 0, 1, &a);
  TEST_CHECK(!a.is_new);
  CLG_Destroy(t);

  /* 4 buckets, 100 clients: 8 stay, 92 evictions, every kept record is its client's */
  t = CLG_Create(4 * 96, 0, NULL);
  TEST_CHECK(t && CLG_Capacity(t) == 8);
  if (!t)
    return;
  {
    struct sockaddr_storage ss = sa("203.0.113.0");
    struct timespec when;
    int evictions = 0, j;

    for (j = 0; j < 100; j++) {
      ((struct sockaddr_in *) &ss)->sin_addr.s_addr = htonl(0xcb007100U + (uint32_t) j);
      when = ts_at(T0 + j, 0);
      CLG_LogNtpRequest(t, (struct sockaddr *) &ss, &when, 1, &a);
      evictions += a.evicted;
    }
    TEST_CHECKF(evictions == 92, "%d", evictions);
    TEST_CHECK(CLG_CountRecords(t) == 8);
    for (i = 0, live = 0; i < 8; i++)
      live += CLG_GetReport(t, i, &now, &rep);
    TEST_CHECK(live == 8);
  }
  CLG_Destroy(t);
}

/* ================================================== */
/* Rate limiting on a fake clock */

static double interval_ns(int interval)
{
  double ns = 1e9;
  int i;

  for (i = 0; i < (interval < 0 ? -interval : interval); i++)
    ns = interval < 0 ? ns / 2 : ns * 2;
  return ns;
}

static void test_ratelimit_default(void)
{
  CLG_Table *t = CLG_Create(1 << 20, 0, &rate_default);
  const char *ip = "198.51.100.7";
  CLG_Ref ref;
  CLG_Report rep;
  struct timespec now;
  uint64_t s = 42;
  int64_t sec = T0;
  int i, answered, dropped = 0, hits = 0, n;

  TEST_CHECK(t != NULL);
  if (!t)
    return;
  /* burst 8: the first 8 back-to-back requests are answered, the 9th not */
  for (i = 0, answered = 0; i < 8; i++, hits++)
    answered += log_at(t, ip, sec, 0, ~0U, &ref) == CLG_RESPOND;
  TEST_CHECK(answered == 8);
  TEST_CHECK(log_at(t, ip, sec, 0, ~0U, &ref) == CLG_DROP);
  hits++, dropped++;

  /* leak 2: over the limit exactly the requests whose two low random bits are zero */
  for (i = 0, answered = 0; i < 4000; i++, hits++) {
    CLG_Decision d = log_at(t, ip, sec, 0, (uint32_t) i, &ref);

    answered += d == CLG_RESPOND;
    dropped += d == CLG_DROP;
    TEST_CHECK(d != CLG_KOD);
  }
  TEST_CHECKF(answered == 1000, "%d", answered);
  /* and with random bits, one in four within 1% */
  n = 100000;
  for (i = 0, answered = 0; i < n; i++, hits++) {
    CLG_Decision d = log_at(t, ip, sec, 0, (uint32_t) rng_next(&s), &ref);

    answered += d == CLG_RESPOND;
    dropped += d == CLG_DROP;
  }
  TEST_CHECKF(answered > 0.24 * n && answered < 0.26 * n, "%d of %d", answered, n);

  /* one interval (8 s) later: one more token */
  sec += 8;
  TEST_CHECK(log_at(t, ip, sec, 0, ~0U, &ref) == CLG_RESPOND);
  TEST_CHECK(log_at(t, ip, sec, 0, ~0U, &ref) == CLG_DROP);
  hits += 2, dropped++;
  /* half an interval twice: nothing after the first half, a token after the second */
  TEST_CHECK(log_at(t, ip, sec + 4, 0, ~0U, &ref) == CLG_DROP);
  TEST_CHECK(log_at(t, ip, sec + 8, 0, ~0U, &ref) == CLG_RESPOND);
  TEST_CHECK(log_at(t, ip, sec + 8, 0, ~0U, &ref) == CLG_DROP);
  hits += 3, dropped += 2;
  sec += 8;

  /* a day of quiet refills to the burst and not beyond */
  sec += 86400;
  for (i = 0, answered = 0; i < 20; i++, hits++) {
    CLG_Decision d = log_at(t, ip, sec, 0, ~0U, &ref);

    answered += d == CLG_RESPOND;
    dropped += d == CLG_DROP;
  }
  TEST_CHECK(answered == 8);

  /* a client polling every 8 s is never limited; every 4 s, half are answered */
  sec += 86400;
  for (i = 0, answered = 0; i < 1000; i++, hits++)
    answered += log_at(t, ip, sec + 8 * i, 0, ~0U, &ref) == CLG_RESPOND;
  TEST_CHECK(answered == 1000);
  sec += 86400;
  for (i = 0, answered = 0; i < 1000; i++, hits++) {
    CLG_Decision d = log_at(t, ip, sec + 4 * i, 0, ~0U, &ref);

    answered += d == CLG_RESPOND;
    dropped += d == CLG_DROP;
  }
  /* 8 of burst, then one per 8 s over 3996 s */
  TEST_CHECKF(answered == 8 + 499 || answered == 8 + 500, "%d", answered);

  now = ts_at(sec + 4000, 0);
  TEST_CHECK(CLG_GetReport(t, ref_index(t, &ref), &now, &rep) == 1);
  TEST_CHECKF(rep.hits == (uint32_t) hits, "%u vs %d", rep.hits, hits);
  TEST_CHECKF(rep.drops == (uint32_t) (dropped > 65535 ? 65535 : dropped), "%u vs %d",
              rep.drops, dropped);
  TEST_CHECK(rep.kods == 0);
  CLG_Destroy(t);
}

/* burst, one per interval, long-run rate and refill, for one interval */
static void check_interval(int interval)
{
  CLG_RateParams p = { interval, 8, 2, 0, 1 };
  CLG_Table *t = CLG_Create(1 << 16, 0, &p);
  const char *ip = "2001:db8::77";
  double tns = interval_ns(interval);
  int64_t step = (int64_t) tns + 2, now_ns = 0, i;
  int answered;

  TEST_CHECK(t != NULL);
  if (!t)
    return;
  for (i = 0, answered = 0; i < 8; i++)
    answered += log_at(t, ip, T0, now_ns, ~0U, NULL) == CLG_RESPOND;
  TEST_CHECKF(answered == 8, "interval %d: %d", interval, answered);
  TEST_CHECKF(log_at(t, ip, T0, now_ns, ~0U, NULL) == CLG_DROP, "interval %d", interval);
  now_ns += step;
  TEST_CHECKF(log_at(t, ip, T0, now_ns, ~0U, NULL) == CLG_RESPOND, "interval %d", interval);
  TEST_CHECKF(log_at(t, ip, T0, now_ns, ~0U, NULL) == CLG_DROP, "interval %d", interval);

  /* 64 intervals of requests four times an interval: 64 answers, give or take the
     boundary of the first and the last */
  for (i = 1, answered = 0; i <= 256; i++)
    answered += log_at(t, ip, T0, now_ns + (int64_t) (i * tns / 4), ~0U, NULL) == CLG_RESPOND;
  TEST_CHECKF(answered >= 63 && answered <= 65, "interval %d: %d", interval, answered);
  now_ns += (int64_t) (256 * tns / 4);

  /* 100 intervals quiet: the burst again, not more */
  now_ns += (int64_t) (100 * tns);
  for (i = 0, answered = 0; i < 12; i++)
    answered += log_at(t, ip, T0, now_ns, ~0U, NULL) == CLG_RESPOND;
  TEST_CHECKF(answered == 8, "interval %d: %d", interval, answered);
  CLG_Destroy(t);
}

static void test_ratelimit_intervals(void)
{
  static const int intervals[] = { -19, -10, -4, -1, 0, 1, 6, 12 };
  size_t i;

  for (i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++)
    check_interval(intervals[i]);
}

static void test_ratelimit_kod(void)
{
  CLG_RateParams p = { 3, 8, 2, 2, 1 };
  CLG_Table *t = CLG_Create(1 << 16, 0, &p);
  const char *ip = "192.0.2.99";
  CLG_Ref ref;
  CLG_Report rep;
  struct timespec now = ts_at(T0, 0);
  uint64_t s = 7;
  int i, n[3] = { 0, 0, 0 }, total;

  TEST_CHECK(t != NULL);
  if (!t)
    return;
  for (i = 0; i < 8; i++)
    TEST_CHECK(log_at(t, ip, T0, 0, 0x55555555U, &ref) == CLG_RESPOND);
  /* over the limit: leak (1 in 4) first, then KoD for 1 in 4 of the rest (3/16), the
     remaining 9/16 dropped; exactly so with every 4-bit pattern once */
  for (i = 0; i < 4096; i++)
    n[log_at(t, ip, T0, 0, (uint32_t) i, &ref)]++;
  TEST_CHECKF(n[CLG_RESPOND] == 1024 && n[CLG_KOD] == 768 && n[CLG_DROP] == 2304, "%d %d %d",
              n[CLG_RESPOND], n[CLG_KOD], n[CLG_DROP]);
  TEST_CHECK(CLG_GetReport(t, ref_index(t, &ref), &now, &rep) == 1);
  TEST_CHECK(rep.hits == 8 + 4096 && rep.kods == 768 && rep.drops == 2304);

  n[0] = n[1] = n[2] = 0;
  total = 200000;
  for (i = 0; i < total; i++)
    n[log_at(t, ip, T0, 0, (uint32_t) rng_next(&s), &ref)]++;
  TEST_CHECKF(n[CLG_RESPOND] > 0.24 * total && n[CLG_RESPOND] < 0.26 * total, "%d",
              n[CLG_RESPOND]);
  TEST_CHECKF(n[CLG_KOD] > 0.1775 * total && n[CLG_KOD] < 0.1975 * total, "%d", n[CLG_KOD]);
  TEST_CHECK(CLG_GetReport(t, ref_index(t, &ref), &now, &rep) == 1);
  TEST_CHECK(rep.kods == 768U + (uint32_t) n[CLG_KOD]);
  TEST_CHECK(rep.drops == 65535); /* 2304 + about 112500: saturated */

  /* kod 4: 1 in 16 of the non-leaked */
  p.kod = 4;
  CLG_Destroy(t);
  t = CLG_Create(1 << 16, 0, &p);
  TEST_CHECK(t != NULL);
  if (!t)
    return;
  for (i = 0; i < 8; i++)
    log_at(t, ip, T0, 0, ~0U, &ref);
  n[0] = n[1] = n[2] = 0;
  for (i = 0; i < 1 << 6; i++)
    n[log_at(t, ip, T0, 0, (uint32_t) i, &ref)]++;
  TEST_CHECKF(n[CLG_RESPOND] == 16 && n[CLG_KOD] == 3 && n[CLG_DROP] == 45, "%d %d %d",
              n[CLG_RESPOND], n[CLG_KOD], n[CLG_DROP]);
  CLG_Destroy(t);
}

/* CLG_LogNtpRequests decides as one call after the other would (no evictions here) */
static void test_batch(void)
{
  CLG_RateParams p = { 0, 4, 2, 1, 1 };
  CLG_Table *t1 = CLG_Create(1 << 20, 64, &p), *t2 = CLG_Create(1 << 20, 64, &p);
  enum { N = 300 };
  static CLG_Key keys[N];
  static struct timespec now[N];
  static uint32_t random[N];
  static CLG_Ref refs[N];
  static CLG_Decision dec[N], seq[N];
  uint64_t s = 99;
  int i, same = 0, n[3] = { 0, 0, 0 };

  TEST_CHECK(t1 && t2);
  if (!t1 || !t2) {
    CLG_Destroy(t1);
    CLG_Destroy(t2);
    return;
  }
  for (i = 0; i < N; i++) {
    char ip[64];
    struct sockaddr_storage ss;
    CLG_Ref ref;

    /* ten clients in runs, a request every 50 ms (interval 0: one a second allowed) */
    if ((i / 7) % 2)
      snprintf(ip, sizeof(ip), "192.0.2.%d", (int) (rng_next(&s) % 5));
    else
      snprintf(ip, sizeof(ip), "2001:db8:%d::%d", (int) (rng_next(&s) % 5), i);
    ss = sa(ip);
    now[i] = ts_at(T0, (int64_t) i * 50000000);
    random[i] = (uint32_t) rng_next(&s);
    CLG_MakeKey(t1, (struct sockaddr *) &ss, &keys[i]);
    seq[i] = CLG_LogNtpRequest(t2, (struct sockaddr *) &ss, &now[i], random[i], &ref);
    n[seq[i]]++;
  }
  CLG_LogNtpRequests(t1, N, keys, now, random, refs, dec);
  for (i = 0; i < N; i++)
    same += dec[i] == seq[i] && refs[i].record && refs[i].fingerprint == keys[i].fingerprint;
  TEST_CHECKF(same == N, "%d of %d", same, N);
  /* and the sequence did exercise the limit */
  TEST_CHECKF(n[CLG_RESPOND] > 0 && n[CLG_DROP] > 0 && n[CLG_KOD] > 0, "%d %d %d",
              n[CLG_RESPOND], n[CLG_DROP], n[CLG_KOD]);
  TEST_CHECK(CLG_CountRecords(t1) == 10 && CLG_CountRecords(t2) == 10);
  CLG_Destroy(t1);
  CLG_Destroy(t2);
}

/* Rate limiting disabled: everything answered, still counted and timed */
static void test_ratelimit_off(void)
{
  CLG_RateParams p = { 3, 8, 2, 2, 0 };
  CLG_Table *t = CLG_Create(1 << 16, 0, &p);
  CLG_Ref ref;
  CLG_Report rep;
  struct timespec now = ts_at(T0 + 10, 0);
  int i, answered = 0;

  TEST_CHECK(t != NULL);
  if (!t)
    return;
  for (i = 0; i < 1000; i++)
    answered += log_at(t, "192.0.2.5", T0, 0, (uint32_t) i, &ref) == CLG_RESPOND;
  TEST_CHECK(answered == 1000);
  TEST_CHECK(CLG_GetReport(t, ref_index(t, &ref), &now, &rep) == 1);
  TEST_CHECK(rep.hits == 1000 && rep.drops == 0 && rep.kods == 0);
  TEST_CHECKF(rep.last_seen_ago >= 9.5 && rep.last_seen_ago <= 10.5, "%f", rep.last_seen_ago);
  CLG_Destroy(t);
}

/* ================================================== */
/* Threads */

#define N_THREADS 4

typedef struct {
  CLG_Table *t;
  pthread_barrier_t *barrier;
  struct sockaddr_storage addr;
  int phase; /* 0: random bits that never leak; 1: a counter, leaking 1 in 4 */
  int n;
  int answered, eligible, answered_eligible;
} OneAddrArg;

static void *one_addr_thread(void *p)
{
  OneAddrArg *a = p;
  struct timespec now = ts_at(T0, 0);
  CLG_Ref ref;
  int i;

  pthread_barrier_wait(a->barrier);
  for (i = 0; i < a->n; i++) {
    uint32_t random = a->phase == 0 ? ~0U : (uint32_t) i;
    int leaks = (random & 3) == 0;
    CLG_Decision d = CLG_LogNtpRequest(a->t, (struct sockaddr *) &a->addr, &now, random, &ref);

    a->answered += d == CLG_RESPOND;
    a->eligible += leaks;
    a->answered_eligible += leaks && d == CLG_RESPOND;
  }
  return NULL;
}

static void test_threads_one_address(void)
{
  CLG_Table *t = CLG_Create(1 << 16, 0, &rate_default);
  pthread_barrier_t barrier;
  pthread_t th[N_THREADS];
  OneAddrArg args[N_THREADS];
  int round, phase, i, bad = 0;

  TEST_CHECK(t != NULL);
  if (!t)
    return;
  pthread_barrier_init(&barrier, NULL, N_THREADS);
  for (round = 0; round < (UNDER_ASAN ? 10 : 50); round++) {
    char ip[32];

    snprintf(ip, sizeof(ip), "10.1.%d.%d", round / 256, round % 256);
    for (phase = 0; phase < 2; phase++) {
      int answered = 0, eligible = 0, answered_eligible = 0;

      for (i = 0; i < N_THREADS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].t = t;
        args[i].barrier = &barrier;
        args[i].addr = sa(ip);
        args[i].phase = phase;
        args[i].n = 5000;
        pthread_create(&th[i], NULL, one_addr_thread, &args[i]);
      }
      for (i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        answered += args[i].answered;
        eligible += args[i].eligible;
        answered_eligible += args[i].answered_eligible;
      }
      /* phase 0: exactly the burst, however the CASes interleave; phase 1 (same instant,
         tokens gone): exactly the requests that drew a leak */
      if (phase == 0 && answered != 8) {
        bad++;
        fprintf(stderr, "round %d: %d answered, want 8\n", round, answered);
      }
      if (phase == 1 && (answered != eligible || answered_eligible != eligible)) {
        bad++;
        fprintf(stderr, "round %d: %d answered, %d leak draws\n", round, answered, eligible);
      }
    }
  }
  TEST_CHECK(bad == 0);
  pthread_barrier_destroy(&barrier);
  CLG_Destroy(t);
}

typedef struct {
  CLG_Table *t;
  pthread_barrier_t *barrier;
  const struct sockaddr_storage *addrs;
  int n_addrs;
  int n;
  int id;
  uint64_t requests, evicted_hits, unlogged, evictions, pairs, bad_pairs;
} TortureArg;

/* the TX each writer saves for an RX: checkable from the RX alone, a multiple of 4 so that
   the 2^-30 s offset keeps it exactly */
static uint64_t tx_for(uint64_t rx)
{
  return rx + 4 * (1 + ((rx >> 8) & 0xffff));
}

static void *torture_thread(void *p)
{
  TortureArg *a = p;
  uint64_t s = 1000 + (uint64_t) a->id;
  /* odd threads log in batches of 8 with CLG_LogNtpRequests, even ones one at a time */
  int batch = a->id % 2 ? 8 : 1, i, j;
  CLG_Key keys[8];
  struct timespec now[8];
  uint32_t random[8];
  CLG_Ref refs[8];
  CLG_Decision dec[8];

  pthread_barrier_wait(a->barrier);
  for (i = 0; i + batch <= a->n; i += batch) {
    for (j = 0; j < batch; j++) {
      uint64_t r = rng_next(&s);
      const struct sockaddr_storage *addr = &a->addrs[r % (uint64_t) a->n_addrs];

      /* each thread on its own clock, a little apart: seen steps back and forth */
      now[j] = ts_at(T0, (int64_t) (i + j) * 5000 + a->id * 777);
      random[j] = (uint32_t) (r >> 32);
      if (batch == 1)
        dec[j] = CLG_LogNtpRequest(a->t, (const struct sockaddr *) addr, &now[j], random[j],
                                   &refs[j]);
      else
        CLG_MakeKey(a->t, (const struct sockaddr *) addr, &keys[j]);
    }
    if (batch > 1)
      CLG_LogNtpRequests(a->t, (size_t) batch, keys, now, random, refs, dec);

    for (j = 0; j < batch; j++) {
      CLG_Ref *ref = &refs[j];
      NWR_Ts64 prx, ptx, rx, tx;

      a->requests++;
      a->evicted_hits += ref->evicted_hits;
      a->evictions += ref->evicted;
      if (!ref->record) {
        a->unlogged++;
        continue;
      }
      if (dec[j] != CLG_RESPOND)
        continue;
      if (CLG_GetInterleaved(a->t, ref, &prx, &ptx)) {
        a->pairs++;
        a->bad_pairs += NWR_Ts64ToU64(&ptx) != tx_for(NWR_Ts64ToU64(&prx));
      }
      NWR_U64ToTs64((uint64_t) (T0 + i) << 32 | (uint32_t) rng_next(&s), &rx);
      NWR_U64ToTs64(tx_for(NWR_Ts64ToU64(&rx)), &tx);
      CLG_SaveRx(a->t, ref, &rx);
      if ((i + j) % 7 != 0) /* sometimes the TX never comes */
        CLG_SaveTx(a->t, ref, &rx, &tx);
    }
  }
  return NULL;
}

static void torture(size_t limit, int n_addrs, int n_per_thread, int max_unlogged_permille)
{
  CLG_RateParams p = { -10, 4, 1, 1, 1 };
  CLG_Table *t = CLG_Create(limit, 64, &p);
  struct sockaddr_storage *addrs = calloc((size_t) n_addrs, sizeof(*addrs));
  pthread_barrier_t barrier;
  pthread_t th[N_THREADS];
  TortureArg args[N_THREADS];
  uint64_t requests = 0, accounted = 0, evictions = 0, pairs = 0, bad_pairs = 0, unlogged = 0;
  size_t b, i, pending = 0, dups = 0, inconsistent = 0, live = 0;
  struct timespec now = ts_at(T0 + 1, 0);
  CLG_Report rep;

  TEST_CHECK(t && addrs);
  if (!t || !addrs) {
    CLG_Destroy(t);
    free(addrs);
    return;
  }
  for (i = 0; i < (size_t) n_addrs; i++) {
    char ip[64];

    if (i % 3 == 0)
      snprintf(ip, sizeof(ip), "192.0.%zu.%zu", i / 256, i % 256);
    else if (i % 3 == 1)
      snprintf(ip, sizeof(ip), "2001:db8:%zx::1", i);
    else
      snprintf(ip, sizeof(ip), "::ffff:198.51.%zu.%zu", i / 256, i % 256);
    addrs[i] = sa(ip);
  }
  pthread_barrier_init(&barrier, NULL, N_THREADS);
  for (i = 0; i < N_THREADS; i++) {
    memset(&args[i], 0, sizeof(args[i]));
    args[i].t = t;
    args[i].barrier = &barrier;
    args[i].addrs = addrs;
    args[i].n_addrs = n_addrs;
    args[i].n = n_per_thread;
    args[i].id = (int) i;
    pthread_create(&th[i], NULL, torture_thread, &args[i]);
  }
  for (i = 0; i < N_THREADS; i++) {
    pthread_join(th[i], NULL);
    requests += args[i].requests;
    accounted += args[i].evicted_hits + args[i].unlogged;
    unlogged += args[i].unlogged;
    evictions += args[i].evictions;
    pairs += args[i].pairs;
    bad_pairs += args[i].bad_pairs;
  }

  /* every request counted exactly once: in a record (live or freed) or handed over at an
     eviction, or reported as not logged */
  for (b = 0; b < t->n_buckets; b++) {
    const Record *r = t->buckets[b].rec;

    for (i = 0; i < 2; i++) {
      accounted += r[i].state >> 32;
      pending += (r[i].fp & FP_PENDING) != 0;
      if (r[i].fp) {
        live++;
        inconsistent += !CLG_GetReport(t, b * 2 + i, &now, &rep);
      }
    }
  }
  /* one client twice in a set of four records (two buckets; one in a one-bucket table) */
  for (b = 0; b < t->n_buckets * 2; b++) {
    const Record *r = &t->buckets[0].rec[0];
    size_t base = t->n_buckets == 1 ? 0 : b & ~(size_t) 3, n = t->n_buckets == 1 ? 2 : 4;

    for (i = base; i < base + n; i++)
      dups += i != b && r[b].fp && r[i].fp == r[b].fp;
  }
  TEST_CHECKF(accounted == requests, "%llu counted of %llu requests",
              (unsigned long long) accounted, (unsigned long long) requests);
  TEST_CHECK(pending == 0);
  TEST_CHECKF(dups == 0, "%zu records hold a client held by another", dups);
  TEST_CHECKF(inconsistent == 0, "%zu records whose address is not their client's",
              inconsistent);
  TEST_CHECKF(bad_pairs == 0, "%llu of %llu interleaved pairs mixed",
              (unsigned long long) bad_pairs, (unsigned long long) pairs);
  TEST_CHECK(pairs > 0 && evictions > 0);
  /* not logged: all records of the set pending, i.e. a claiming thread preempted
     (4 threads, 2 cores here); only tables of a few buckets make that common */
  TEST_CHECKF(unlogged * 1000 <= requests * (uint64_t) max_unlogged_permille, "%llu",
              (unsigned long long) unlogged);
  fprintf(stderr,
          "torture %zu records, %d clients, %d threads: %llu requests, %llu evictions, "
          "%llu unlogged, %llu interleaved pairs read, %zu live\n",
          CLG_Capacity(t), n_addrs, N_THREADS, (unsigned long long) requests,
          (unsigned long long) evictions, (unsigned long long) unlogged,
          (unsigned long long) pairs, live);
  pthread_barrier_destroy(&barrier);
  CLG_Destroy(t);
  free(addrs);
}

static void test_torture(void)
{
  int n = UNDER_ASAN ? 50000 : 300000;

  torture(1 * 96, 6, n, 50);      /* one bucket, six clients */
  torture(4 * 96, 24, n, 50);     /* four buckets */
  torture(256 * 96, 2000, n, 10); /* more clients than records */
}

/* ================================================== */

static long vm_rss_kib(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;

  if (!f)
    return -1;
  while (fgets(line, sizeof(line), f)) {
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  }
  fclose(f);
  return kib;
}

static void test_memory(void)
{
  const size_t gib = (size_t) 1 << 30;
  long before = vm_rss_kib(), after;
  CLG_Table *t;
  CLG_Ref ref;
  int i, found = 0;

  /* under ASan the pages are left to be faulted in as used: a 768 MiB prefault there is
     slow and only proves what the plain build proves */
  t = CLG_CreateFlags(gib, 0, &rate_default, UNDER_ASAN ? CLG_F_NO_PREFAULT : 0);
  TEST_CHECK(t != NULL);
  if (!t)
    return;
  after = vm_rss_kib();
  TEST_CHECKF(CLG_Capacity(t) >= 16777216, "%zu", CLG_Capacity(t));
  TEST_CHECKF(CLG_MemorySize(t) <= gib, "%zu", CLG_MemorySize(t));
  TEST_CHECK(CLG_MemorySize(t) == t->n_buckets * (sizeof(Bucket) + 2 * 16));
  fprintf(stderr, "1 GiB limit: %zu records in %zu MiB, RSS grew %ld MiB%s\n", CLG_Capacity(t),
          CLG_MemorySize(t) >> 20, (after - before) >> 10,
          UNDER_ASAN ? " (ASan: not prefaulted)" : "");
  if (!UNDER_ASAN) {
    /* all faulted in at create, nothing beyond the mapping */
    TEST_CHECKF(after - before >= (long) (CLG_MemorySize(t) >> 10) * 95 / 100 &&
                    after - before <= (long) (gib >> 10),
                "RSS grew %ld KiB for %zu bytes", after - before, CLG_MemorySize(t));
  }
  for (i = 0; i < 1000; i++) {
    struct sockaddr_storage ss = sa("10.0.0.0");
    struct timespec now = ts_at(T0, 0);

    ((struct sockaddr_in *) &ss)->sin_addr.s_addr = htonl(0x0a000000U + (uint32_t) i * 7919);
    CLG_LogNtpRequest(t, (struct sockaddr *) &ss, &now, ~0U, &ref);
    CLG_LogNtpRequest(t, (struct sockaddr *) &ss, &now, ~0U, &ref);
    found += ref.record && !ref.is_new;
  }
  TEST_CHECK(found == 1000);
  CLG_Destroy(t);
}

/* ================================================== */

static uint64_t u64(const NWR_Ts64 *ts)
{
  return NWR_Ts64ToU64(ts);
}

static void test_interleaved(void)
{
  CLG_Table *t = CLG_Create(1 << 16, 0, NULL);
  NWR_Ts64 rx1 = { 3900000000U, 0x10000000U }, rx2 = { 3900000008U, 0xfffff000U };
  NWR_Ts64 tx1, tx2, prx, ptx, bad;
  CLG_Ref a, b, c;

  TEST_CHECK(t != NULL);
  if (!t)
    return;
  log_at(t, "192.0.2.10", T0, 0, 1, &a);
  TEST_CHECK(CLG_GetInterleaved(t, &a, &prx, &ptx) == 0);
  TEST_CHECK(NWR_Ts64IsZero(&prx) && NWR_Ts64IsZero(&ptx));

  CLG_SaveRx(t, &a, &rx1);
  TEST_CHECK(CLG_GetInterleaved(t, &a, &prx, &ptx) == 0); /* no TX yet */
  TEST_CHECK(NWR_Ts64Equal(&prx, &rx1) && NWR_Ts64IsZero(&ptx));
  NWR_U64ToTs64(u64(&rx1) + 53255, &tx1); /* ~12.4 us; not a multiple of 4 */
  CLG_SaveTx(t, &a, &rx1, &tx1);
  TEST_CHECK(CLG_GetInterleaved(t, &a, &prx, &ptx) == 1);
  TEST_CHECK(NWR_Ts64Equal(&prx, &rx1));
  TEST_CHECKF(u64(&ptx) - u64(&tx1) + 2 <= 4, "%llx vs %llx", (unsigned long long) u64(&ptx),
              (unsigned long long) u64(&tx1));

  /* a later TX for the same RX (the kernel's, after the software one) replaces it */
  NWR_U64ToTs64(u64(&rx1) + 40000, &tx1);
  CLG_SaveTx(t, &a, &rx1, &tx1);
  TEST_CHECK(CLG_GetInterleaved(t, &a, &prx, &ptx) == 1);
  TEST_CHECK(NWR_Ts64Equal(&prx, &rx1) && NWR_Ts64Equal(&ptx, &tx1));

  /* the next request of the client (from another port: same record) */
  log_at(t, "192.0.2.10", T0 + 8, 0, 1, &b);
  TEST_CHECK(b.record == a.record);
  TEST_CHECK(CLG_GetInterleaved(t, &b, &prx, &ptx) == 1 && NWR_Ts64Equal(&prx, &rx1));
  CLG_SaveRx(t, &b, &rx2);
  TEST_CHECK(CLG_GetInterleaved(t, &b, &prx, &ptx) == 0 && NWR_Ts64Equal(&prx, &rx2));
  /* a late TX of the previous reply no longer applies */
  CLG_SaveTx(t, &a, &rx1, &tx1);
  TEST_CHECK(CLG_GetInterleaved(t, &b, &prx, &ptx) == 0);
  /* TX out of range: before RX, or 250 ms after it */
  NWR_U64ToTs64(u64(&rx2) - 4, &bad);
  CLG_SaveTx(t, &b, &rx2, &bad);
  TEST_CHECK(CLG_GetInterleaved(t, &b, &prx, &ptx) == 0);
  NWR_U64ToTs64(u64(&rx2) + (1ULL << 30), &bad);
  CLG_SaveTx(t, &b, &rx2, &bad);
  TEST_CHECK(CLG_GetInterleaved(t, &b, &prx, &ptx) == 0);
  /* 249 ms, across a second boundary, exact when a multiple of 4 */
  NWR_U64ToTs64(u64(&rx2) + (uint64_t) (0.249 * 4294967296.0) / 4 * 4, &tx2);
  CLG_SaveTx(t, &b, &rx2, &tx2);
  TEST_CHECK(CLG_GetInterleaved(t, &b, &prx, &ptx) == 1);
  TEST_CHECK(NWR_Ts64Equal(&prx, &rx2) && NWR_Ts64Equal(&ptx, &tx2));
  TEST_CHECK(ptx.sec == rx2.sec + 1);
  CLG_Destroy(t);

  /* a ref to an evicted record reads nothing and writes nothing */
  t = CLG_Create(100, 0, NULL);
  TEST_CHECK(t != NULL);
  if (!t)
    return;
  log_at(t, "192.0.2.1", T0, 0, 1, &a);
  CLG_SaveRx(t, &a, &rx1);
  CLG_SaveTx(t, &a, &rx1, &tx1);
  log_at(t, "192.0.2.2", T0 + 1, 0, 1, &b);
  log_at(t, "192.0.2.3", T0 + 2, 0, 1, &c);
  TEST_CHECK(c.evicted && c.record == a.record);
  TEST_CHECK(CLG_GetInterleaved(t, &a, &prx, &ptx) == 0);
  TEST_CHECK(CLG_GetInterleaved(t, &c, &prx, &ptx) == 0 && NWR_Ts64IsZero(&prx));
  CLG_SaveRx(t, &a, &rx2);
  TEST_CHECK(CLG_GetInterleaved(t, &c, &prx, &ptx) == 0 && NWR_Ts64IsZero(&prx));
  CLG_Destroy(t);
}

int main(void)
{
  test_create();
  test_lookup();
  test_eviction();
  test_ratelimit_default();
  test_ratelimit_intervals();
  test_ratelimit_kod();
  test_ratelimit_off();
  test_batch();
  test_interleaved();
  test_threads_one_address();
  test_torture();
  test_memory();
  TEST_EXIT();
}
