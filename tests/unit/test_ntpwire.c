/* test_ntpwire.c - the NTP header, timestamps, short format and kiss codes. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "engine/ntpwire.h"
#include "test.h"

/* 2036-02-07T06:28:16Z: NTP era 1 begins */
#define ERA1_UNIX ((int64_t) 2085978496)
/* 2106-02-07T06:28:16Z: the 32-bit Unix seconds wrap */
#define Y2106_UNIX ((int64_t) 4294967296)
#define Y1900_UNIX ((int64_t) -2208988800)
#define Y2024_UNIX ((int64_t) 1704067200)
#define HALF_ERA   ((int64_t) 1 << 31)

static uint64_t rng_state = 0x6b61697266736e74ULL;

static uint64_t rnd(void)
{
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static struct timespec ts_of(int64_t sec, long nsec)
{
  struct timespec t;

  t.tv_sec = (time_t) sec;
  t.tv_nsec = nsec;
  return t;
}

/* time -> NTP -> time with the given pivot must give back exactly the same time */
static int round_trips(int64_t sec, long nsec, int64_t pivot)
{
  struct timespec in = ts_of(sec, nsec), out;
  NWR_Ts64 ts;

  NWR_TimespecToTs64(&in, &ts);
  if (NWR_Ts64ToTimespec(&ts, (time_t) pivot, &out) != 0)
    return 0;
  return (int64_t) out.tv_sec == sec && out.tv_nsec == nsec;
}

static void test_header_fields(void)
{
  static const uint8_t pkt[48] = {
    0x24, 0x02, 0xfa, 0xe9,                         /* LI 0, v4, server; st 2; -6; -23 */
    0x00, 0x01, 0x80, 0x00,                         /* root delay 1.5 s */
    0x00, 0x00, 0x00, 0x21,                         /* root dispersion */
    0xc0, 0xa8, 0x01, 0x01,                         /* refid 192.168.1.1 */
    0xe9, 0x8f, 0x2b, 0x4c, 0x80, 0x00, 0x00, 0x00, /* reference */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* origin */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* receive */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* transmit */
  };
  uint8_t out[48];
  NWR_Header h;

  TEST_CHECK(NWR_DecodeHeader(pkt, 47, &h) == -EINVAL);
  TEST_CHECK(NWR_DecodeHeader(pkt, 0, &h) == -EINVAL);
  TEST_CHECK(NWR_DecodeHeader(pkt, 48, &h) == 0);
  TEST_CHECK(h.leap == NWR_LEAP_NONE);
  TEST_CHECK(h.version == 4);
  TEST_CHECK(h.mode == NWR_MODE_SERVER);
  TEST_CHECK(h.stratum == 2);
  TEST_CHECK(h.poll == -6);
  TEST_CHECK(h.precision == -23);
  TEST_CHECK(h.root_delay == 0x00018000);
  TEST_CHECK(NWR_ShortToDouble(h.root_delay) == 1.5);
  TEST_CHECK(h.root_dispersion == 0x21);
  TEST_CHECK(h.refid == 0xc0a80101);
  TEST_CHECK(h.reference.sec == 0xe98f2b4c && h.reference.frac == 0x80000000);
  TEST_CHECK(h.origin.sec == 0x01020304 && h.origin.frac == 0x05060708);
  TEST_CHECK(h.receive.sec == 0xffffffff && h.receive.frac == 0xffffffff);
  TEST_CHECK(h.transmit.sec == 0 && h.transmit.frac == 1);
  NWR_EncodeHeader(&h, out);
  TEST_CHECK(memcmp(out, pkt, 48) == 0);

  /* a longer buffer (extension fields follow) decodes the same */
  {
    uint8_t longer[100];
    NWR_Header h2;
    uint8_t out2[48];

    memset(longer, 0xaa, sizeof(longer));
    memcpy(longer, pkt, 48);
    TEST_CHECK(NWR_DecodeHeader(longer, sizeof(longer), &h2) == 0);
    /* compare through the encoder: the structs' padding bytes are undefined */
    NWR_EncodeHeader(&h2, out2);
    TEST_CHECK(memcmp(out2, pkt, 48) == 0);
  }

  /* first octet packing: LI 3, v4, client is 0xe3; v3 client 0x1b; out-of-range bits are
     masked, not spilled into the neighbours */
  memset(&h, 0, sizeof(h));
  h.leap = NWR_LEAP_UNSYNC;
  h.version = 4;
  h.mode = NWR_MODE_CLIENT;
  NWR_EncodeHeader(&h, out);
  TEST_CHECK(out[0] == 0xe3);
  h.leap = 0;
  h.version = 3;
  NWR_EncodeHeader(&h, out);
  TEST_CHECK(out[0] == 0x1b);
  h.leap = 0xff;
  h.version = 0xf9;
  h.mode = 0xfa;
  NWR_EncodeHeader(&h, out);
  TEST_CHECK(out[0] == ((3 << 6) | (1 << 3) | 2));
}

static void test_header_round_trip(void)
{
  int i, j, bad_bytes = 0, bad_fields = 0;

  /* every 48-octet input survives decode + encode */
  for (i = 0; i < 200000; i++) {
    uint8_t in[48], out[48];
    NWR_Header h;

    for (j = 0; j < 48; j += 8) {
      uint64_t r = rnd();

      memcpy(in + j, &r, 8);
    }
    if (i < 256)
      memset(in, i, 48); /* every value of every octet, including all-zero and all-ones */
    if (NWR_DecodeHeader(in, 48, &h) != 0) {
      bad_bytes++;
      continue;
    }
    NWR_EncodeHeader(&h, out);
    if (memcmp(in, out, 48) != 0)
      bad_bytes++;
  }
  TEST_CHECKF(bad_bytes == 0, "%d inputs changed", bad_bytes);

  /* and every header within the field widths survives encode + decode */
  for (i = 0; i < 100000; i++) {
    NWR_Header h, back;
    uint8_t buf[48];
    uint64_t r = rnd();

    memset(&h, 0, sizeof(h));
    h.leap = r & 3;
    h.version = (r >> 2) & 7;
    h.mode = (r >> 5) & 7;
    h.stratum = (uint8_t) (r >> 8);
    h.poll = (int8_t) (r >> 16);
    h.precision = (int8_t) (r >> 24);
    h.root_delay = (uint32_t) (r >> 32);
    r = rnd();
    h.root_dispersion = (uint32_t) r;
    h.refid = (uint32_t) (r >> 32);
    NWR_U64ToTs64(rnd(), &h.reference);
    NWR_U64ToTs64(rnd(), &h.origin);
    NWR_U64ToTs64(rnd(), &h.receive);
    NWR_U64ToTs64(rnd(), &h.transmit);
    NWR_EncodeHeader(&h, buf);
    memset(&back, 0x5a, sizeof(back));
    NWR_DecodeHeader(buf, sizeof(buf), &back);
    if (back.leap != h.leap || back.version != h.version || back.mode != h.mode ||
        back.stratum != h.stratum || back.poll != h.poll || back.precision != h.precision ||
        back.root_delay != h.root_delay || back.root_dispersion != h.root_dispersion ||
        back.refid != h.refid || !NWR_Ts64Equal(&back.reference, &h.reference) ||
        !NWR_Ts64Equal(&back.origin, &h.origin) || !NWR_Ts64Equal(&back.receive, &h.receive) ||
        !NWR_Ts64Equal(&back.transmit, &h.transmit))
      bad_fields++;
  }
  TEST_CHECKF(bad_fields == 0, "%d headers changed", bad_fields);
}

static void test_ts64_helpers(void)
{
  uint8_t b[8];
  NWR_Ts64 ts = { 0x89abcdef, 0x01234567 }, back;

  NWR_PutTs64(&ts, b);
  TEST_CHECK(b[0] == 0x89 && b[3] == 0xef && b[4] == 0x01 && b[7] == 0x67);
  NWR_GetTs64(b, &back);
  TEST_CHECK(NWR_Ts64Equal(&ts, &back));
  TEST_CHECK(NWR_Ts64ToU64(&ts) == 0x89abcdef01234567ULL);
  NWR_U64ToTs64(0x0000000100000002ULL, &back);
  TEST_CHECK(back.sec == 1 && back.frac == 2);
}

static void test_ns_frac(void)
{
  uint32_t ns;
  int i, bad = 0;

  TEST_CHECK(NWR_NsToFrac(0) == 0);
  TEST_CHECK(NWR_NsToFrac(1) == 4);
  TEST_CHECK(NWR_NsToFrac(500000000) == 0x80000000U);
  TEST_CHECK(NWR_NsToFrac(250000000) == 0x40000000U);
  TEST_CHECK(NWR_NsToFrac(999999999) == 0xfffffffcU);
  TEST_CHECK(NWR_FracToNs(0x80000000U) == 500000000);
  TEST_CHECK(NWR_FracToNs(1) == 0);
  TEST_CHECK(NWR_FracToNs(3) == 1);
  TEST_CHECK(NWR_FracToNs(0xfffffffcU) == 999999999);
  /* the top fractions are nearer the next second: NWR_Ts64ToTimespec carries them */
  TEST_CHECK(NWR_FracToNs(0xffffffffU) == 1000000000);

  /* ns -> frac -> ns exact: both ends densely, every 997th ns, and a random million */
  for (ns = 0; ns < 2000000; ns++)
    bad += NWR_FracToNs(NWR_NsToFrac(ns)) != ns;
  for (ns = 998000000; ns < 1000000000; ns++)
    bad += NWR_FracToNs(NWR_NsToFrac(ns)) != ns;
  for (ns = 0; ns < 1000000000; ns += 997)
    bad += NWR_FracToNs(NWR_NsToFrac(ns)) != ns;
  for (i = 0; i < 1000000; i++) {
    ns = (uint32_t) (rnd() % 1000000000);
    bad += NWR_FracToNs(NWR_NsToFrac(ns)) != ns;
  }
  TEST_CHECKF(bad == 0, "%d ns values not exact", bad);

  /* the fraction is the nearest one: within half a unit of ns * 2^32 / 1e9 */
  bad = 0;
  for (i = 0; i < 100000; i++) {
    uint32_t n = (uint32_t) (rnd() % 1000000000);
    double exact = ldexp((double) n, 32) / 1e9;

    bad += fabs(NWR_NsToFrac(n) - exact) > 0.5;
  }
  TEST_CHECK(bad == 0);
}

static void test_unix_epoch_and_negative(void)
{
  struct timespec t = ts_of(0, 0), out;
  NWR_Ts64 ts;

  NWR_TimespecToTs64(&t, &ts);
  TEST_CHECK(ts.sec == NWR_UNIX_EPOCH_OFFSET && ts.frac == 0);
  TEST_CHECK(!NWR_Ts64IsZero(&ts));
  TEST_CHECK(NWR_Ts64ToTimespec(&ts, 0, &out) == 0);
  TEST_CHECK(out.tv_sec == 0 && out.tv_nsec == 0);
  TEST_CHECK(NWR_Ts64ToTimespec(&ts, (time_t) Y2024_UNIX, &out) == 0);
  TEST_CHECK(out.tv_sec == 0 && out.tv_nsec == 0);

  /* one second and a half before 1970 */
  t = ts_of(-2, 500000000);
  NWR_TimespecToTs64(&t, &ts);
  TEST_CHECK(ts.sec == NWR_UNIX_EPOCH_OFFSET - 2 && ts.frac == 0x80000000U);
  TEST_CHECK(round_trips(-2, 500000000, 0));
  TEST_CHECK(round_trips(-1, 999999999, 0));
  TEST_CHECK(round_trips(-1000000000, 123456789, -1000000000));

  /* tv_nsec out of range is normalised */
  {
    NWR_Ts64 a, b;
    struct timespec odd = ts_of(5, -1), even = ts_of(4, 999999999);

    NWR_TimespecToTs64(&odd, &a);
    NWR_TimespecToTs64(&even, &b);
    TEST_CHECK(NWR_Ts64Equal(&a, &b));
    odd = ts_of(5, 2500000000L);
    even = ts_of(7, 500000000);
    NWR_TimespecToTs64(&odd, &a);
    NWR_TimespecToTs64(&even, &b);
    TEST_CHECK(NWR_Ts64Equal(&a, &b));
    odd = ts_of(5, -2000000001L);
    even = ts_of(2, 999999999);
    NWR_TimespecToTs64(&odd, &a);
    NWR_TimespecToTs64(&even, &b);
    TEST_CHECK(NWR_Ts64Equal(&a, &b));
  }
}

static void test_era_boundaries(void)
{
  struct timespec t, out;
  NWR_Ts64 ts;
  int64_t pivots[] = { ERA1_UNIX, ERA1_UNIX - 10 * 31557600LL, ERA1_UNIX + 10 * 31557600LL,
                       Y2024_UNIX, ERA1_UNIX + 60 * 31557600LL };
  unsigned i;

  /* 2036-02-07T06:28:16Z is NTP seconds 0 of era 1 */
  t = ts_of(ERA1_UNIX - 1, 0);
  NWR_TimespecToTs64(&t, &ts);
  TEST_CHECK(ts.sec == 0xffffffffU && ts.frac == 0);
  t = ts_of(ERA1_UNIX + 1, 0);
  NWR_TimespecToTs64(&t, &ts);
  TEST_CHECK(ts.sec == 1 && ts.frac == 0);
  t = ts_of(ERA1_UNIX, 1);
  NWR_TimespecToTs64(&t, &ts);
  TEST_CHECK(ts.sec == 0 && ts.frac == 4);
  t = ts_of(ERA1_UNIX - 1, 999999999);
  NWR_TimespecToTs64(&t, &ts);
  TEST_CHECK(ts.sec == 0xffffffffU && ts.frac == 0xfffffffcU);

  /* the instant itself would be all zero ("not set"): it is sent 2^-32 s later */
  t = ts_of(ERA1_UNIX, 0);
  NWR_TimespecToTs64(&t, &ts);
  TEST_CHECK(ts.sec == 0 && ts.frac == 1);
  TEST_CHECK(!NWR_Ts64IsZero(&ts));

  /* +-1 s and +-1 ns around the rollover, the era resolved from pivots on both sides */
  for (i = 0; i < sizeof(pivots) / sizeof(pivots[0]); i++) {
    int64_t p = pivots[i];

    TEST_CHECKF(round_trips(ERA1_UNIX, 0, p), "pivot %lld", (long long) p);
    TEST_CHECKF(round_trips(ERA1_UNIX - 1, 0, p), "pivot %lld", (long long) p);
    TEST_CHECKF(round_trips(ERA1_UNIX + 1, 0, p), "pivot %lld", (long long) p);
    TEST_CHECKF(round_trips(ERA1_UNIX - 1, 999999999, p), "pivot %lld", (long long) p);
    TEST_CHECKF(round_trips(ERA1_UNIX, 1, p), "pivot %lld", (long long) p);
    TEST_CHECKF(round_trips(ERA1_UNIX + 1, 999999999, p), "pivot %lld", (long long) p);
  }

  /* 1900-01-01T00:00:00Z is NTP seconds 0 of era 0: the same nudge */
  t = ts_of(Y1900_UNIX, 0);
  NWR_TimespecToTs64(&t, &ts);
  TEST_CHECK(ts.sec == 0 && ts.frac == 1);
  TEST_CHECK(round_trips(Y1900_UNIX, 0, Y1900_UNIX));
  TEST_CHECK(round_trips(Y1900_UNIX, 0, Y1900_UNIX + 1000000000));
  TEST_CHECK(round_trips(Y1900_UNIX + 1, 5, Y1900_UNIX - 1000000000));
  /* ... and read with a pivot of 2024 the same bits mean 2036 */
  TEST_CHECK(NWR_Ts64ToTimespec(&ts, (time_t) Y2024_UNIX, &out) == 0);
  TEST_CHECK(out.tv_sec == ERA1_UNIX && out.tv_nsec == 0);

  /* 2106-02-07T06:28:16Z is 2^32 s after 1970 and reads the same on the wire: only the
     pivot tells them apart */
  t = ts_of(Y2106_UNIX, 0);
  NWR_TimespecToTs64(&t, &ts);
  TEST_CHECK(ts.sec == NWR_UNIX_EPOCH_OFFSET && ts.frac == 0);
  TEST_CHECK(NWR_Ts64ToTimespec(&ts, (time_t) Y2106_UNIX, &out) == 0);
  TEST_CHECK(out.tv_sec == Y2106_UNIX);
  TEST_CHECK(NWR_Ts64ToTimespec(&ts, (time_t) ERA1_UNIX + 2 * 31557600LL * 30, &out) == 0);
  TEST_CHECK(out.tv_sec == Y2106_UNIX);
  TEST_CHECK(NWR_Ts64ToTimespec(&ts, 0, &out) == 0);
  TEST_CHECK(out.tv_sec == 0);
  TEST_CHECK(round_trips(Y2106_UNIX - 1, 999999999, Y2106_UNIX));
  TEST_CHECK(round_trips(Y2106_UNIX + 1, 1, Y2106_UNIX - 50 * 31557600LL));
}

static void test_pivot_window(void)
{
  int64_t pivots[] = { 0,           Y2024_UNIX,      ERA1_UNIX,        Y2106_UNIX,
                       -Y2106_UNIX, 1000000000000LL, -1000000000000LL, (int64_t) 1 << 61 };
  unsigned i;
  int j, bad = 0;

  for (i = 0; i < sizeof(pivots) / sizeof(pivots[0]); i++) {
    int64_t p = pivots[i];
    struct timespec t, out;
    NWR_Ts64 ts;

    /* [p - 2^31, p + 2^31): both ends inside, the next seconds out (one era away) */
    TEST_CHECKF(round_trips(p + HALF_ERA - 1, 999999999, p), "pivot %lld", (long long) p);
    TEST_CHECKF(round_trips(p - HALF_ERA, 0, p), "pivot %lld", (long long) p);
    TEST_CHECKF(round_trips(p, 0, p), "pivot %lld", (long long) p);
    t = ts_of(p + HALF_ERA, 0);
    NWR_TimespecToTs64(&t, &ts);
    TEST_CHECK(NWR_Ts64ToTimespec(&ts, (time_t) p, &out) == 0);
    TEST_CHECK(out.tv_sec == p - HALF_ERA);
    t = ts_of(p - HALF_ERA - 1, 0);
    NWR_TimespecToTs64(&t, &ts);
    TEST_CHECK(NWR_Ts64ToTimespec(&ts, (time_t) p, &out) == 0);
    TEST_CHECK(out.tv_sec == p + HALF_ERA - 1);

    /* random times within the window of this pivot come back exactly */
    for (j = 0; j < 20000; j++) {
      int64_t off = (int64_t) (rnd() % ((uint64_t) 1 << 32)) - HALF_ERA;
      long ns = (long) (rnd() % 1000000000);

      bad += !round_trips(p + off, ns, p);
    }
  }
  TEST_CHECKF(bad == 0, "%d random times did not round-trip", bad);

  /* pivots at the ends of time_t are clamped, not overflowed: the result is still the
     time whose NTP reading is the input */
  {
    time_t extreme[] = { (time_t) INT64_MAX, (time_t) INT64_MIN, (time_t) (INT64_MAX - 5),
                         (time_t) (INT64_MIN + 5) };

    for (i = 0; i < 4; i++) {
      NWR_Ts64 ts = { 0x12345678, 0x9abcdef0 }, again;
      struct timespec out;

      TEST_CHECK(NWR_Ts64ToTimespec(&ts, extreme[i], &out) == 0);
      NWR_TimespecToTs64(&out, &again);
      TEST_CHECK(again.sec == ts.sec);
      TEST_CHECK(out.tv_sec > 0 ? extreme[i] > 0 : extreme[i] < 0);
    }
  }
}

static void test_zero_timestamp(void)
{
  NWR_Ts64 zero = { 0, 0 }, one_frac = { 0, 1 }, one_sec = { 1, 0 };
  struct timespec out = ts_of(123, 456);

  TEST_CHECK(NWR_Ts64IsZero(&zero));
  TEST_CHECK(!NWR_Ts64IsZero(&one_frac));
  TEST_CHECK(!NWR_Ts64IsZero(&one_sec));
  TEST_CHECK(NWR_Ts64ToTimespec(&zero, (time_t) Y2024_UNIX, &out) == -ENODATA);
  TEST_CHECK(out.tv_sec == 0 && out.tv_nsec == 0);
  TEST_CHECK(NWR_Ts64ToTimespec(&one_frac, (time_t) Y2024_UNIX, &out) == 0);
  TEST_CHECK(out.tv_sec == ERA1_UNIX && out.tv_nsec == 0);
}

static void test_carry(void)
{
  NWR_Ts64 ts = { 0xfffffffeU, 0xffffffffU };
  struct timespec out;

  /* 0.99999999977 s rounds to the next second, here across the era boundary */
  TEST_CHECK(NWR_Ts64ToTimespec(&ts, (time_t) ERA1_UNIX, &out) == 0);
  TEST_CHECK(out.tv_sec == ERA1_UNIX - 1 && out.tv_nsec == 0);
  ts.sec = 0xffffffffU;
  TEST_CHECK(NWR_Ts64ToTimespec(&ts, (time_t) ERA1_UNIX, &out) == 0);
  TEST_CHECK(out.tv_sec == ERA1_UNIX && out.tv_nsec == 0);
}

static void test_diff(void)
{
  NWR_Ts64 a = { 1, 0 }, b = { 0xffffffffU, 0 }, c, d;
  struct timespec t1 = ts_of(ERA1_UNIX - 1, 250000000), t2 = ts_of(ERA1_UNIX, 750000000);

  TEST_CHECK(NWR_Ts64Diff(&a, &b) == 2.0);
  TEST_CHECK(NWR_Ts64Diff(&b, &a) == -2.0);
  TEST_CHECK(NWR_Ts64Diff(&a, &a) == 0.0);

  a.sec = 0;
  a.frac = 0x80000000U;
  b.frac = 0x80000000U;
  TEST_CHECK(NWR_Ts64Diff(&a, &b) == 1.0);

  a.sec = 10;
  a.frac = 1;
  b.sec = 10;
  b.frac = 0;
  TEST_CHECK(NWR_Ts64Diff(&a, &b) == ldexp(1.0, -32));
  TEST_CHECK(NWR_Ts64Diff(&b, &a) == -ldexp(1.0, -32));

  /* across 2036, from real times */
  NWR_TimespecToTs64(&t1, &c);
  NWR_TimespecToTs64(&t2, &d);
  TEST_CHECK(fabs(NWR_Ts64Diff(&d, &c) - 1.5) < 1e-9);
  TEST_CHECK(fabs(NWR_Ts64Diff(&c, &d) + 1.5) < 1e-9);

  /* the furthest apart two timestamps can be told: just under half an era */
  a.sec = 0x7fffffffU;
  a.frac = 0xffffffffU;
  b.sec = 0;
  b.frac = 0;
  TEST_CHECK(NWR_Ts64Diff(&a, &b) > 2147483647.9);
  a.sec = 0x80000000U;
  a.frac = 0;
  TEST_CHECK(NWR_Ts64Diff(&a, &b) == -2147483648.0);

  /* to double with a pivot */
  NWR_TimespecToTs64(&t1, &c);
  TEST_CHECK(NWR_Ts64ToDouble(&c, (time_t) ERA1_UNIX) == (double) (ERA1_UNIX - 1) + 0.25);
  TEST_CHECK(NWR_Ts64ToDouble(&c, (time_t) Y2024_UNIX) == (double) (ERA1_UNIX - 1) + 0.25);
}

static void test_short(void)
{
  int i, bad = 0;

  TEST_CHECK(NWR_DoubleToShort(-1.0) == 0);
  TEST_CHECK(NWR_DoubleToShort(-0.0) == 0);
  TEST_CHECK(NWR_DoubleToShort(0.0) == 0);
  TEST_CHECK(NWR_DoubleToShort(NAN) == 0);
  TEST_CHECK(NWR_DoubleToShort(-INFINITY) == 0);
  TEST_CHECK(NWR_DoubleToShort(1.0) == 0x00010000U);
  TEST_CHECK(NWR_DoubleToShort(1.5) == 0x00018000U);
  TEST_CHECK(NWR_DoubleToShort(1.0 / 65536) == 1);
  TEST_CHECK(NWR_DoubleToShort(1e-9) == 1); /* rounded up, never to zero */
  TEST_CHECK(NWR_DoubleToShort(0.001) == 66);
  TEST_CHECK(NWR_DoubleToShort(65535.0) == 0xffff0000U);
  TEST_CHECK(NWR_DoubleToShort(65535.99998) == NWR_SHORT_MAX);
  TEST_CHECK(NWR_DoubleToShort(65536.0) == NWR_SHORT_MAX);
  TEST_CHECK(NWR_DoubleToShort(1e12) == NWR_SHORT_MAX);
  TEST_CHECK(NWR_DoubleToShort(INFINITY) == NWR_SHORT_MAX);
  TEST_CHECK(NWR_ShortToDouble(0) == 0.0);
  TEST_CHECK(NWR_ShortToDouble(1) == 1.0 / 65536);
  TEST_CHECK(NWR_ShortToDouble(NWR_SHORT_MAX) == 65535.0 + 65535.0 / 65536);

  /* precision: the encoded value is never below the input and less than 1/65536 above */
  for (i = 0; i < 200000; i++) {
    double x = ldexp((double) (rnd() >> 11), -53) * 65535.0;
    double y = NWR_ShortToDouble(NWR_DoubleToShort(x));

    bad += !(y >= x && y - x < 1.0 / 65536);
  }
  TEST_CHECKF(bad == 0, "%d values out of precision", bad);

  /* every short value survives to double and back */
  bad = 0;
  for (i = 0; i < 200000; i++) {
    NWR_Short s = (NWR_Short) rnd();

    bad += NWR_DoubleToShort(NWR_ShortToDouble(s)) != s;
  }
  TEST_CHECK(bad == 0);
}

static void test_kod(void)
{
  NWR_Header h;
  char s[5];

  TEST_CHECK(NWR_KOD_RATE == 0x52415445U);
  TEST_CHECK(NWR_KOD_DENY == 0x44454e59U);
  TEST_CHECK(NWR_KOD_RSTR == 0x52535452U);
  TEST_CHECK(NWR_KOD_NTSN == 0x4e54534eU);

  memset(&h, 0, sizeof(h));
  h.version = 4;
  h.mode = NWR_MODE_SERVER;
  h.leap = NWR_LEAP_UNSYNC;
  h.stratum = 0;
  h.refid = NWR_KOD_RATE;
  TEST_CHECK(NWR_IsKoD(&h));
  h.refid = NWR_KOD_DENY;
  TEST_CHECK(NWR_IsKoD(&h));
  h.refid = NWR_KOD_RSTR;
  TEST_CHECK(NWR_IsKoD(&h));
  h.refid = NWR_KOD_NTSN;
  TEST_CHECK(NWR_IsKoD(&h));
  h.refid = 0;
  TEST_CHECK(!NWR_IsKoD(&h)); /* stratum 0 without a code: just unsynchronised */
  h.refid = NWR_REFID('r', 'a', 't', 'e');
  TEST_CHECK(!NWR_IsKoD(&h));
  h.refid = NWR_REFID('R', 'A', 'T', 0);
  TEST_CHECK(!NWR_IsKoD(&h));
  h.refid = NWR_KOD_RATE;
  h.stratum = 1; /* a stratum-1 server's refid is a clock name, not a kiss */
  TEST_CHECK(!NWR_IsKoD(&h));

  TEST_CHECK(strcmp(NWR_RefidToString(NWR_KOD_RATE, s), "RATE") == 0);
  TEST_CHECK(strcmp(NWR_RefidToString(NWR_REFID('G', 'P', 'S', 0), s), "GPS") == 0);
  TEST_CHECK(strcmp(NWR_RefidToString(NWR_REFID('P', 'P', 0, 0), s), "PP") == 0);
  TEST_CHECK(strcmp(NWR_RefidToString(0, s), "") == 0);
  TEST_CHECK(strcmp(NWR_RefidToString(0xc0a80101U, s), "....") == 0);
  TEST_CHECK(strcmp(NWR_RefidToString(NWR_REFID('A', 0, 0, 'B'), s), "A..B") == 0);
  TEST_CHECK(strcmp(NWR_RefidToString(NWR_REFID(' ', '~', 0x7f, 'x'), s), " ~.x") == 0);
}

static void test_classify(void)
{
  NWR_Header h;
  NWR_Ts64 sent = { 0xe98f2b4c, 0x12345678 }, zero = { 0, 0 };
  int v, m, clients = 0;

  memset(&h, 0, sizeof(h));
  h.version = 4;
  h.mode = NWR_MODE_CLIENT;
  TEST_CHECK(NWR_ClassifyRequest(&h) == NWR_REQ_CLIENT);
  TEST_CHECK(NWR_IsClientRequest(&h));
  h.version = 3;
  TEST_CHECK(NWR_ClassifyRequest(&h) == NWR_REQ_CLIENT);
  h.version = 1;
  h.mode = NWR_MODE_RESERVED;
  TEST_CHECK(NWR_ClassifyRequest(&h) == NWR_REQ_CLIENT);
  h.version = 2;
  TEST_CHECK(NWR_ClassifyRequest(&h) == NWR_REQ_OTHER);
  h.version = 4;
  h.mode = NWR_MODE_SYMMETRIC_ACTIVE;
  TEST_CHECK(NWR_ClassifyRequest(&h) == NWR_REQ_SYMMETRIC);
  TEST_CHECK(!NWR_IsClientRequest(&h));
  h.mode = NWR_MODE_CONTROL;
  TEST_CHECK(NWR_ClassifyRequest(&h) == NWR_REQ_CONTROL);
  h.mode = NWR_MODE_PRIVATE;
  TEST_CHECK(NWR_ClassifyRequest(&h) == NWR_REQ_PRIVATE);
  h.mode = NWR_MODE_SERVER;
  TEST_CHECK(NWR_ClassifyRequest(&h) == NWR_REQ_OTHER);
  h.mode = NWR_MODE_BROADCAST;
  TEST_CHECK(NWR_ClassifyRequest(&h) == NWR_REQ_OTHER);
  h.mode = NWR_MODE_CLIENT;
  h.version = 0;
  TEST_CHECK(NWR_ClassifyRequest(&h) == NWR_REQ_BAD_VERSION);
  h.version = 5;
  TEST_CHECK(NWR_ClassifyRequest(&h) == NWR_REQ_BAD_VERSION);

  /* exactly versions 1..4 x mode 3, plus v1 mode 0, are client requests: 5 of 64 */
  for (v = 0; v < 8; v++)
    for (m = 0; m < 8; m++) {
      h.version = (uint8_t) v;
      h.mode = (uint8_t) m;
      clients += NWR_IsClientRequest(&h);
    }
  TEST_CHECK(clients == 5);

  h.version = 4;
  h.mode = NWR_MODE_SERVER;
  TEST_CHECK(NWR_IsServerReply(&h));
  h.version = 7;
  TEST_CHECK(!NWR_IsServerReply(&h));
  h.version = 4;
  h.mode = NWR_MODE_CLIENT;
  TEST_CHECK(!NWR_IsServerReply(&h));

  h.leap = NWR_LEAP_NONE;
  h.stratum = 2;
  TEST_CHECK(!NWR_IsUnsynchronised(&h));
  h.stratum = 16;
  TEST_CHECK(NWR_IsUnsynchronised(&h));
  h.stratum = 255;
  TEST_CHECK(NWR_IsUnsynchronised(&h));
  h.stratum = 15;
  h.leap = NWR_LEAP_UNSYNC;
  TEST_CHECK(NWR_IsUnsynchronised(&h));

  h.origin = sent;
  TEST_CHECK(NWR_OriginMatches(&h, &sent));
  h.origin.frac ^= 1;
  TEST_CHECK(!NWR_OriginMatches(&h, &sent));
  h.origin = zero;
  TEST_CHECK(!NWR_OriginMatches(&h, &zero));
}

int main(void)
{
  test_header_fields();
  test_header_round_trip();
  test_ts64_helpers();
  test_ns_frac();
  test_unix_epoch_and_negative();
  test_era_boundaries();
  test_pivot_window();
  test_zero_timestamp();
  test_carry();
  test_diff();
  test_short();
  test_kod();
  test_classify();
  TEST_EXIT();
}
