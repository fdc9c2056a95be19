/* test_reply.c - requests judged and replies built field by field: NTPv4, v3, v1, an
   unsynchronised clock, root dispersion growth, poll clamping, KoD and interleaved shapes,
   the random bits below the precision, and every drop reason. Also the per-thread random
   generator (fastrand) the replies take their noise from. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/clockstate.h"
#include "engine/ntpext.h"
#include "engine/ntpwire.h"
#include "server/fastrand.h"
#include "server/reply.h"
#include "test.h"

#define T_CLIENT_SEC  0xE93C0001U
#define T_CLIENT_FRAC 0x9ABCDEF0U

static const struct timespec rx_system = { 1700000050, 123456789 };

static CST_State synced_clock(void)
{
  CST_State c;

  memset(&c, 0, sizeof(c));
  c.base.tv_sec = 1700000000;
  c.offset = 0.25;
  c.freq = 2e-6;
  c.reference_time.tv_sec = 1699999900;
  c.reference_time.tv_nsec = 500000000;
  c.root_delay = 0.0123;
  c.root_dispersion = 0.0005;
  c.dispersion_rate = 15e-6;
  c.refid = 0xC0000201;
  c.leap = NWR_LEAP_NONE;
  c.stratum = 2;
  c.precision = -20;
  c.synchronised = 1;
  c.generation = 7;
  return c;
}

/* What CST_Initialise publishes */
static CST_State unsynced_clock(void)
{
  CST_State c;

  memset(&c, 0, sizeof(c));
  c.leap = NWR_LEAP_UNSYNC;
  c.stratum = NWR_STRATUM_UNSYNC;
  return c;
}

static size_t make_request(uint8_t *buf, int version, int mode, int poll)
{
  NWR_Header h;

  memset(&h, 0, sizeof(h));
  h.version = (uint8_t) version;
  h.mode = (uint8_t) mode;
  h.poll = (int8_t) poll;
  h.precision = -6;
  h.transmit.sec = T_CLIENT_SEC;
  h.transmit.frac = T_CLIENT_FRAC;
  NWR_EncodeHeader(&h, buf);
  return NWR_HEADER_LEN;
}

static NWR_Ts64 served_ts(const CST_State *c, const struct timespec *sys)
{
  struct timespec served;
  NWR_Ts64 ts;

  CST_ServedTime(c, sys, &served);
  NWR_TimespecToTs64(&served, &ts);
  return ts;
}

/* Parse the request, build the reply, decode it */
static size_t build(const uint8_t *req, size_t len, const RPL_Context *ctx, NWR_Header *h,
                    NWR_Ts64 *rx_sent)
{
  RPL_Request r;
  uint8_t out[2048];
  size_t n;

  TEST_CHECK(RPL_ParseRequest(req, len, &r) == RPL_OK);
  memset(out, 0xEE, sizeof(out));
  n = RPL_BuildReply(&r, ctx, out, rx_sent);
  TEST_CHECK(n == NWR_HEADER_LEN && n <= len);
  TEST_CHECK(out[NWR_HEADER_LEN] == 0xEE); /* nothing written past the reply */
  TEST_CHECK(NWR_DecodeHeader(out, n, h) == 0);
  return n;
}

static void context(RPL_Context *ctx, const CST_State *c, uint32_t random)
{
  memset(ctx, 0, sizeof(*ctx));
  ctx->clock = c;
  ctx->rx_system = rx_system;
  ctx->random = random;
}

static double step(int precision)
{
  return ldexp(1.0, precision);
}

static void test_v4_reply(void)
{
  CST_State c = synced_clock();
  RPL_Context ctx;
  uint8_t req[NWR_HEADER_LEN];
  NWR_Header h;
  NWR_Ts64 rx_sent, want_rx, want_ref, client_tx = { T_CLIENT_SEC, T_CLIENT_FRAC };
  struct timespec served;
  double elapsed, want_disp;

  make_request(req, 4, NWR_MODE_CLIENT, 6);
  context(&ctx, &c, 0x12345678);
  build(req, sizeof(req), &ctx, &h, &rx_sent);

  TEST_CHECK(h.leap == NWR_LEAP_NONE);
  TEST_CHECK(h.version == 4);
  TEST_CHECK(h.mode == NWR_MODE_SERVER);
  TEST_CHECK(h.stratum == 2);
  TEST_CHECK(h.poll == 6);
  TEST_CHECK(h.precision == -20);
  TEST_CHECK(h.root_delay == NWR_DoubleToShort(0.0123));
  TEST_CHECK(h.refid == 0xC0000201);

  /* dispersion grown from the reference time to the served receive time */
  CST_ServedTime(&c, &rx_system, &served);
  elapsed = (double) (served.tv_sec - c.reference_time.tv_sec) +
            (served.tv_nsec - c.reference_time.tv_nsec) * 1e-9;
  TEST_CHECK(elapsed > 149.0 && elapsed < 151.0);
  want_disp = 0.0005 + 15e-6 * elapsed;
  TEST_CHECKF(fabs(NWR_ShortToDouble(h.root_dispersion) - want_disp) <= ldexp(1.0, -16),
              "%.9f vs %.9f", NWR_ShortToDouble(h.root_dispersion), want_disp);
  TEST_CHECK(NWR_ShortToDouble(h.root_dispersion) >= want_disp);

  NWR_TimespecToTs64(&c.reference_time, &want_ref);
  TEST_CHECK(NWR_Ts64Equal(&h.reference, &want_ref));
  TEST_CHECK(NWR_Ts64Equal(&h.origin, &client_tx));

  /* the served receive time, noise below 2^-20 s, and the receive flag */
  want_rx = served_ts(&c, &rx_system);
  TEST_CHECK(fabs(NWR_Ts64Diff(&h.receive, &want_rx)) < step(-20));
  TEST_CHECK((h.receive.frac & 0xfff) == ((0x12345678 & 0xfff) | RPL_RX_FLAG));
  TEST_CHECK(h.receive.frac >> 12 == want_rx.frac >> 12);
  TEST_CHECK(NWR_Ts64Equal(&rx_sent, &h.receive));
  TEST_CHECK(RPL_MaybeOurReceive(&h.receive));

  /* transmit left for RPL_StampTransmit */
  TEST_CHECK(NWR_Ts64IsZero(&h.transmit));
}

static void test_stamp_transmit(void)
{
  CST_State c = synced_clock();
  struct timespec now = { 1700000050, 124000000 };
  uint8_t reply[NWR_HEADER_LEN];
  NWR_Header h;
  NWR_Ts64 tx, want = served_ts(&c, &now);

  memset(reply, 0, sizeof(reply));
  tx = RPL_StampTransmit(reply, &c, &now, 0xfffff);
  TEST_CHECK(NWR_DecodeHeader(reply, sizeof(reply), &h) == 0);
  TEST_CHECK(NWR_Ts64Equal(&h.transmit, &tx));
  TEST_CHECK(fabs(NWR_Ts64Diff(&tx, &want)) < step(-20));
  TEST_CHECK((tx.frac & 0xfff) == (0xfff & ~RPL_RX_FLAG));
  TEST_CHECK(!RPL_MaybeOurReceive(&tx));
  /* only the transmit field */
  TEST_CHECK(h.stratum == 0 && NWR_Ts64IsZero(&h.receive) && NWR_Ts64IsZero(&h.origin));
}

static void test_old_versions(void)
{
  CST_State c = synced_clock();
  RPL_Context ctx;
  uint8_t req[NWR_HEADER_LEN + 20];
  NWR_Header h;
  NWR_Ts64 client_tx = { T_CLIENT_SEC, T_CLIENT_FRAC };
  RPL_Request r;
  int v;

  context(&ctx, &c, 1);
  for (v = 1; v <= 3; v++) {
    make_request(req, v, NWR_MODE_CLIENT, 10);
    build(req, NWR_HEADER_LEN, &ctx, &h, NULL);
    TEST_CHECK(h.version == v && h.mode == NWR_MODE_SERVER && h.stratum == 2);
    TEST_CHECK(h.poll == 10);
    TEST_CHECK(NWR_Ts64Equal(&h.origin, &client_tx));
  }

  /* RFC 1059: NTPv1 had no mode field, a client sent 0 */
  make_request(req, 1, NWR_MODE_RESERVED, 6);
  build(req, NWR_HEADER_LEN, &ctx, &h, NULL);
  TEST_CHECK(h.version == 1 && h.mode == NWR_MODE_SERVER);
  TEST_CHECK(NWR_Ts64Equal(&h.origin, &client_tx));

  /* v3 with a legacy MAC: answered, without one, after the MAC is noted */
  make_request(req, 3, NWR_MODE_CLIENT, 6);
  memset(req + NWR_HEADER_LEN, 0x5a, 20);
  TEST_CHECK(RPL_ParseRequest(req, sizeof(req), &r) == RPL_OK);
  TEST_CHECK(r.mac_len == 20 && r.ef_count == 0 && r.length == sizeof(req));
  build(req, sizeof(req), &ctx, &h, NULL);
  TEST_CHECK(h.version == 3);
}

static void test_unsynchronised(void)
{
  CST_State states[3];
  RPL_Context ctx;
  uint8_t req[NWR_HEADER_LEN];
  NWR_Header h;
  NWR_Ts64 client_tx = { T_CLIENT_SEC, T_CLIENT_FRAC }, want_rx;
  int i;

  states[0] = unsynced_clock();
  /* a clock that says synchronised but carries stratum 16 or leap 3 is not */
  states[1] = synced_clock();
  states[1].stratum = 16;
  states[1].refid = NWR_KOD_RATE; /* must not leak out as a kiss code */
  states[2] = synced_clock();
  states[2].leap = NWR_LEAP_UNSYNC;
  states[2].synchronised = 0;

  make_request(req, 4, NWR_MODE_CLIENT, 6);
  for (i = 0; i < 3; i++) {
    context(&ctx, &states[i], 0x55);
    build(req, sizeof(req), &ctx, &h, NULL);
    TEST_CHECK(h.leap == NWR_LEAP_UNSYNC);
    TEST_CHECK(h.stratum == 0);
    TEST_CHECK(h.refid == 0);
    TEST_CHECK(!NWR_IsKoD(&h));
    TEST_CHECK(NWR_IsUnsynchronised(&h));
    TEST_CHECK(h.root_delay == 0x00010000 && h.root_dispersion == 0x00010000);
    TEST_CHECK(NWR_Ts64IsZero(&h.reference));
    TEST_CHECK(h.mode == NWR_MODE_SERVER && h.version == 4);
    TEST_CHECK(h.precision == states[i].precision);
    /* the timestamps as usual */
    TEST_CHECK(NWR_Ts64Equal(&h.origin, &client_tx));
    want_rx = served_ts(&states[i], &rx_system);
    TEST_CHECK(fabs(NWR_Ts64Diff(&h.receive, &want_rx)) <=
               step(states[i].precision < -31 ? -31 : states[i].precision));
    TEST_CHECK(NWR_Ts64IsZero(&h.transmit));
  }
}

static void test_root_dispersion(void)
{
  CST_State c = synced_clock();
  RPL_Context ctx;
  uint8_t req[NWR_HEADER_LEN];
  NWR_Header h1, h2;
  double growth;

  make_request(req, 4, NWR_MODE_CLIENT, 6);
  context(&ctx, &c, 0);
  build(req, sizeof(req), &ctx, &h1, NULL);
  ctx.rx_system.tv_sec += 1000;
  build(req, sizeof(req), &ctx, &h2, NULL);
  growth = NWR_ShortToDouble(h2.root_dispersion) - NWR_ShortToDouble(h1.root_dispersion);
  TEST_CHECKF(fabs(growth - 15e-6 * 1000 * (1 + 2e-6)) <= 2 * ldexp(1.0, -16), "%.9f", growth);
  TEST_CHECK(h1.root_delay == h2.root_delay);

  /* before the reference time (a step back): no growth, and never below the base */
  ctx.rx_system.tv_sec = c.reference_time.tv_sec - 500;
  build(req, sizeof(req), &ctx, &h1, NULL);
  TEST_CHECK(h1.root_dispersion == NWR_DoubleToShort(0.0005));

  /* no reference time: no growth either (and no reference timestamp) */
  c.reference_time.tv_sec = 0;
  c.reference_time.tv_nsec = 0;
  ctx.rx_system = rx_system;
  build(req, sizeof(req), &ctx, &h1, NULL);
  TEST_CHECK(h1.root_dispersion == NWR_DoubleToShort(0.0005));
  TEST_CHECK(NWR_Ts64IsZero(&h1.reference));

  /* a huge or broken dispersion saturates instead of wrapping or vanishing */
  c = synced_clock();
  c.dispersion_rate = 1e9;
  build(req, sizeof(req), &ctx, &h1, NULL);
  TEST_CHECK(h1.root_dispersion == NWR_SHORT_MAX);
  c.dispersion_rate = NAN;
  build(req, sizeof(req), &ctx, &h1, NULL);
  TEST_CHECK(h1.root_dispersion == NWR_SHORT_MAX);
  c = synced_clock();
  c.root_delay = INFINITY;
  build(req, sizeof(req), &ctx, &h1, NULL);
  TEST_CHECK(h1.root_delay == NWR_SHORT_MAX);

  /* a leap second announced is passed on */
  c = synced_clock();
  c.leap = NWR_LEAP_INSERT;
  build(req, sizeof(req), &ctx, &h1, NULL);
  TEST_CHECK(h1.leap == NWR_LEAP_INSERT && h1.stratum == 2);
}

static void test_poll_clamp(void)
{
  static const int polls[][2] = { { 6, 6 },    { 0, 0 },     { -7, -7 }, { -8, -7 },
                                  { -20, -7 }, { -128, -7 }, { 17, 17 }, { 24, 24 },
                                  { 25, 24 },  { 127, 24 },  { 4, 4 },   { -1, -1 } };
  CST_State c = synced_clock();
  RPL_Context ctx;
  uint8_t req[NWR_HEADER_LEN];
  NWR_Header h;
  RPL_Request r;
  size_t i;

  context(&ctx, &c, 0);
  for (i = 0; i < sizeof(polls) / sizeof(polls[0]); i++) {
    make_request(req, 4, NWR_MODE_CLIENT, polls[i][0]);
    TEST_CHECK(RPL_ParseRequest(req, sizeof(req), &r) == RPL_OK);
    TEST_CHECKF(r.poll == polls[i][1], "%d -> %d", polls[i][0], r.poll);
    build(req, sizeof(req), &ctx, &h, NULL);
    TEST_CHECKF(h.poll == polls[i][1], "%d -> %d", polls[i][0], h.poll);
  }
}

static void test_kod(void)
{
  CST_State c = synced_clock();
  RPL_Context ctx;
  uint8_t req[NWR_HEADER_LEN];
  NWR_Header h;
  NWR_Ts64 client_tx = { T_CLIENT_SEC, T_CLIENT_FRAC }, want_rx, rx_sent, saved = { 5, 6 };

  make_request(req, 4, NWR_MODE_CLIENT, 6);
  context(&ctx, &c, 0xabcdef01);
  ctx.kod_rate = 1;
  build(req, sizeof(req), &ctx, &h, &rx_sent);
  TEST_CHECK(h.leap == NWR_LEAP_UNSYNC);
  TEST_CHECK(h.stratum == 0);
  TEST_CHECK(h.refid == NWR_KOD_RATE);
  TEST_CHECK(NWR_IsKoD(&h));
  TEST_CHECK(h.mode == NWR_MODE_SERVER && h.version == 4);
  TEST_CHECK(NWR_OriginMatches(&h, &client_tx));
  want_rx = served_ts(&c, &rx_system);
  TEST_CHECK(fabs(NWR_Ts64Diff(&h.receive, &want_rx)) < step(-20));
  TEST_CHECK(NWR_Ts64Equal(&rx_sent, &h.receive));
  /* the transmit is set (no stamping for a KoD), apart from the receive */
  TEST_CHECK(!NWR_Ts64IsZero(&h.transmit));
  TEST_CHECK(!NWR_Ts64Equal(&h.transmit, &h.receive));
  TEST_CHECK(fabs(NWR_Ts64Diff(&h.transmit, &want_rx)) < step(-20));
  /* header fields the KoD does not change */
  TEST_CHECK(h.poll == 6 && h.precision == -20);

  /* a KoD wins over interleaved mode, and is in basic mode */
  ctx.interleaved_tx = &saved;
  build(req, sizeof(req), &ctx, &h, NULL);
  TEST_CHECK(NWR_IsKoD(&h) && NWR_OriginMatches(&h, &client_tx));
  TEST_CHECK(!NWR_Ts64Equal(&h.transmit, &saved));

  /* unsynchronised and rate limited: still a RATE kiss */
  c = unsynced_clock();
  ctx.interleaved_tx = NULL;
  build(req, sizeof(req), &ctx, &h, NULL);
  TEST_CHECK(NWR_IsKoD(&h) && h.refid == NWR_KOD_RATE && h.leap == NWR_LEAP_UNSYNC);
}

static void test_interleaved(void)
{
  CST_State c = synced_clock();
  RPL_Context ctx;
  uint8_t req[NWR_HEADER_LEN];
  NWR_Header h, rh;
  RPL_Request r;
  /* our previous reply: receive t2 (flagged) and transmit t3 as sent */
  NWR_Ts64 prev_rx = { 0xE93C0000U, 0x10000001U }, prev_tx = { 0xE93C0000U, 0x10200001U };
  NWR_Ts64 client_rx = { 0xE93C0000U, 0x30000000U }, want_tx = prev_tx, want_rx, rx_sent;
  NWR_Ts64 zero = { 0, 0 };

  /* the client's interleaved request: origin t2, receive t4, transmit t5 */
  make_request(req, 4, NWR_MODE_CLIENT, 6);
  TEST_CHECK(NWR_DecodeHeader(req, sizeof(req), &rh) == 0);
  rh.origin = prev_rx;
  rh.receive = client_rx;
  NWR_EncodeHeader(&rh, req);

  TEST_CHECK(RPL_ParseRequest(req, sizeof(req), &r) == RPL_OK);
  TEST_CHECK(NWR_Ts64Equal(&r.origin, &prev_rx) && NWR_Ts64Equal(&r.receive, &client_rx));
  TEST_CHECK(RPL_IsInterleaved(&r, &prev_rx));
  TEST_CHECK(RPL_MaybeOurReceive(&r.origin));
  TEST_CHECK(!RPL_IsInterleaved(&r, &prev_tx));
  TEST_CHECK(!RPL_IsInterleaved(&r, &zero));
  TEST_CHECK(!RPL_IsInterleaved(&r, NULL));
  r.receive = r.transmit; /* RFC 9769 condition 1 */
  TEST_CHECK(!RPL_IsInterleaved(&r, &prev_rx));

  context(&ctx, &c, 0x777);
  ctx.interleaved_tx = &prev_tx;
  build(req, sizeof(req), &ctx, &h, &rx_sent);
  /* RFC 9769 section 2: origin = the request's receive, receive = this request's,
     transmit = the previous reply's */
  TEST_CHECK(NWR_Ts64Equal(&h.origin, &client_rx));
  want_rx = served_ts(&c, &rx_system);
  TEST_CHECK(fabs(NWR_Ts64Diff(&h.receive, &want_rx)) < step(-20));
  TEST_CHECK(NWR_Ts64Equal(&rx_sent, &h.receive));
  want_tx.frac &= ~RPL_RX_FLAG;
  TEST_CHECK(NWR_Ts64Equal(&h.transmit, &want_tx));
  TEST_CHECK(!NWR_Ts64Equal(&h.transmit, &h.receive));
  TEST_CHECK(h.stratum == 2 && h.leap == NWR_LEAP_NONE && h.refid == 0xC0000201);

  /* no saved transmit timestamp: zero, which the client rejects */
  ctx.interleaved_tx = &zero;
  build(req, sizeof(req), &ctx, &h, NULL);
  TEST_CHECK(NWR_Ts64IsZero(&h.transmit));
  TEST_CHECK(NWR_Ts64Equal(&h.origin, &client_rx));
}

/* The bits below the precision are the random ones; those above are the served time */
static void test_random_low_bits(void)
{
  static const int precisions[] = { -20, -1, -10, -24, -29, -31 };
  CST_State c = synced_clock();
  NWR_Ts64 want = served_ts(&c, &rx_system), a, b;
  size_t i;

  for (i = 0; i < sizeof(precisions) / sizeof(precisions[0]); i++) {
    int p = precisions[i], noise = 32 + p;
    uint32_t mask = (1U << noise) - 1;

    c.precision = (int8_t) p;
    a = RPL_ServedTs64(&c, &rx_system, 0x00000000);
    b = RPL_ServedTs64(&c, &rx_system, 0xffffffff);
    TEST_CHECK(a.sec == b.sec && a.sec == want.sec);
    TEST_CHECK(a.frac >> noise == want.frac >> noise && b.frac >> noise == want.frac >> noise);
    TEST_CHECK((a.frac & mask) == 0 && (b.frac & mask) == mask);
    TEST_CHECKF(fabs(NWR_Ts64Diff(&a, &want)) < step(p), "precision %d", p);
    TEST_CHECKF(fabs(NWR_Ts64Diff(&b, &want)) < step(p), "precision %d", p);
    a = RPL_ServedTs64(&c, &rx_system, 0x5a5a5a5a);
    TEST_CHECK((a.frac & mask) == (0x5a5a5a5aU & mask));
  }

  /* a coarse clock: the whole fraction is noise, the seconds stay */
  c.precision = 0;
  a = RPL_ServedTs64(&c, &rx_system, 0x87654321);
  TEST_CHECK(a.sec == want.sec && a.frac == 0x87654321);
  c.precision = 5;
  a = RPL_ServedTs64(&c, &rx_system, 0x12345678);
  TEST_CHECK(a.sec == want.sec && a.frac == 0x12345678);
  c.precision = 127;
  a = RPL_ServedTs64(&c, &rx_system, 0);
  TEST_CHECK(a.sec == want.sec && a.frac == 0);

  /* finer than the timestamp: no noise at all */
  c.precision = -32;
  a = RPL_ServedTs64(&c, &rx_system, 0xffffffff);
  TEST_CHECK(NWR_Ts64Equal(&a, &want));
  c.precision = -128;
  a = RPL_ServedTs64(&c, &rx_system, 0xffffffff);
  TEST_CHECK(NWR_Ts64Equal(&a, &want));

  /* replies built with different noise differ only in the noise */
  {
    RPL_Context ctx;
    uint8_t req[NWR_HEADER_LEN], b1[NWR_HEADER_LEN], b2[NWR_HEADER_LEN];
    NWR_Header h1, h2;

    c = synced_clock();
    make_request(req, 4, NWR_MODE_CLIENT, 6);
    context(&ctx, &c, 0x00000abc);
    build(req, sizeof(req), &ctx, &h1, NULL);
    ctx.random = 0xfffff123;
    build(req, sizeof(req), &ctx, &h2, NULL);
    TEST_CHECK(h1.receive.sec == h2.receive.sec);
    TEST_CHECK(h1.receive.frac >> 12 == h2.receive.frac >> 12);
    TEST_CHECK((h1.receive.frac & 0xfff) == 0xabd && (h2.receive.frac & 0xfff) == 0x123);
    h1.receive = h2.receive;
    NWR_EncodeHeader(&h1, b1);
    NWR_EncodeHeader(&h2, b2);
    TEST_CHECK(memcmp(b1, b2, sizeof(b1)) == 0);
  }
}

/* A time served at the first instant of an era must not go out as the all-zero "not set" */
static void test_never_zero(void)
{
  CST_State c = synced_clock();
  struct timespec era1 = { (time_t) 2085978496, 0 }; /* 2036-02-07T06:28:16Z */
  uint8_t reply[NWR_HEADER_LEN];
  NWR_Ts64 ts;

  c.offset = 0.0;
  c.freq = 0.0;
  c.precision = 0;
  ts = RPL_ServedTs64(&c, &era1, 0);
  TEST_CHECK(!NWR_Ts64IsZero(&ts));
  ts = RPL_StampTransmit(reply, &c, &era1, 0);
  TEST_CHECK(!NWR_Ts64IsZero(&ts) && !RPL_MaybeOurReceive(&ts));
}

/* Build a request with extension fields appended */
static size_t with_fields(uint8_t *buf, size_t size, const uint16_t *lengths, int n)
{
  size_t len = make_request(buf, 4, NWR_MODE_CLIENT, 6);
  int i;

  for (i = 0; i < n; i++) {
    TEST_CHECK(NEF_AddMin(buf, size, &len, 0x1234, NULL, 0, lengths[i]) > 0);
  }
  return len;
}

static void test_drops(void)
{
  uint8_t req[1024], before[sizeof(RPL_Request)];
  RPL_Request r;
  size_t len;
  int mode, v;

  memset(&r, 0xA5, sizeof(r));
  memcpy(before, &r, sizeof(r));

  /* too short */
  make_request(req, 4, NWR_MODE_CLIENT, 6);
  TEST_CHECK(RPL_ParseRequest(req, 0, &r) == RPL_DROP_MALFORMED);
  TEST_CHECK(RPL_ParseRequest(req, 47, &r) == RPL_DROP_MALFORMED);
  TEST_CHECK(RPL_ParseRequest(NULL, 48, &r) == RPL_DROP_MALFORMED);

  /* bad versions */
  for (v = 0; v < 8; v += v == 0 ? 5 : 1) {
    make_request(req, v, NWR_MODE_CLIENT, 6);
    TEST_CHECKF(RPL_ParseRequest(req, 48, &r) == RPL_DROP_MALFORMED, "version %d", v);
  }

  /* not client requests, in every version */
  for (v = 1; v <= 4; v++) {
    for (mode = 0; mode < 8; mode++) {
      RPL_Verdict want =
          mode == NWR_MODE_CLIENT || (mode == 0 && v == 1) ? RPL_OK : RPL_DROP_MODE;

      make_request(req, v, mode, 6);
      if (want == RPL_OK)
        continue;
      TEST_CHECKF(RPL_ParseRequest(req, 48, &r) == want, "v%d mode %d", v, mode);
    }
  }

  /* lengths off the 32-bit grid */
  make_request(req, 4, NWR_MODE_CLIENT, 6);
  memset(req + 48, 0, 64);
  TEST_CHECK(RPL_ParseRequest(req, 49, &r) == RPL_DROP_MALFORMED);
  TEST_CHECK(RPL_ParseRequest(req, 50, &r) == RPL_DROP_MALFORMED);
  TEST_CHECK(RPL_ParseRequest(req, 51, &r) == RPL_DROP_MALFORMED);
  make_request(req, 3, NWR_MODE_CLIENT, 6);
  TEST_CHECK(RPL_ParseRequest(req, 70, &r) == RPL_DROP_MALFORMED);

  /* NTPv4 extension fields that break RFC 7822 */
  {
    static const uint16_t lone16[] = { 16 };
    static const uint16_t two16[] = { 16, 16 };

    len = with_fields(req, sizeof(req), lone16, 1);
    TEST_CHECK(RPL_ParseRequest(req, len, &r) == RPL_DROP_MALFORMED); /* last < 28 */
    len = with_fields(req, sizeof(req), two16, 2);
    TEST_CHECK(RPL_ParseRequest(req, len, &r) == RPL_DROP_MALFORMED);
  }
  make_request(req, 4, NWR_MODE_CLIENT, 6);
  memset(req + 48, 0, 32);
  req[48 + 3] = 30; /* length not a multiple of 4 */
  TEST_CHECK(RPL_ParseRequest(req, 80, &r) == RPL_DROP_MALFORMED);
  req[48 + 3] = 64; /* past the end */
  TEST_CHECK(RPL_ParseRequest(req, 80, &r) == RPL_DROP_MALFORMED);
  req[48 + 3] = 12; /* below the minimum */
  TEST_CHECK(RPL_ParseRequest(req, 80, &r) == RPL_DROP_MALFORMED);
  req[48 + 3] = 0;
  TEST_CHECK(RPL_ParseRequest(req, 80, &r) == RPL_DROP_MALFORMED);
  /* 12 octets are neither a field nor a MAC */
  TEST_CHECK(RPL_ParseRequest(req, 60, &r) == RPL_DROP_MALFORMED);

  /* nothing was written on any drop */
  TEST_CHECK(memcmp(before, &r, sizeof(r)) == 0);
}

static void test_accepted_shapes(void)
{
  uint8_t req[1024];
  RPL_Request r;
  size_t len;
  int i;
  static const uint16_t nts[] = { 36, 104, 104, 104, 40 };
  static const uint16_t one28[] = { 28 };
  static const uint16_t f16_28[] = { 16, 28 };

  /* an NTS-shaped request: unique id, cookie, placeholders, authenticator */
  len = with_fields(req, sizeof(req), nts, 5);
  TEST_CHECK(RPL_ParseRequest(req, len, &r) == RPL_OK);
  TEST_CHECK(r.ef_count == 5 && r.mac_len == 0 && r.length == len);

  len = with_fields(req, sizeof(req), one28, 1);
  TEST_CHECK(RPL_ParseRequest(req, len, &r) == RPL_OK && r.ef_count == 1);
  len = with_fields(req, sizeof(req), f16_28, 2);
  TEST_CHECK(RPL_ParseRequest(req, len, &r) == RPL_OK && r.ef_count == 2);

  /* legacy MACs (MD5, SHA-1) and a crypto-NAK after the header, and after a field */
  for (i = 0; i < 3; i++) {
    static const size_t macs[] = { 20, 24, 4 };

    make_request(req, 4, NWR_MODE_CLIENT, 6);
    memset(req + 48, i == 2 ? 0 : 0x77, macs[i]);
    TEST_CHECK(RPL_ParseRequest(req, 48 + macs[i], &r) == RPL_OK);
    TEST_CHECK(r.mac_len == macs[i] && r.ef_count == 0);
  }
  {
    static const uint16_t f16[] = { 16 };

    len = with_fields(req, sizeof(req), f16, 1);
    memset(req + len, 0x33, 20);
    TEST_CHECK(RPL_ParseRequest(req, len + 20, &r) == RPL_OK);
    TEST_CHECK(r.mac_len == 20 && r.ef_count == 1);
  }

  /* a plain request: no MAC, no fields; timestamps recorded */
  make_request(req, 4, NWR_MODE_CLIENT, 6);
  TEST_CHECK(RPL_ParseRequest(req, 48, &r) == RPL_OK);
  TEST_CHECK(r.version == 4 && r.poll == 6 && r.length == 48 && r.mac_len == 0);
  TEST_CHECK(r.transmit.sec == T_CLIENT_SEC && r.transmit.frac == T_CLIENT_FRAC);
  TEST_CHECK(NWR_Ts64IsZero(&r.origin) && NWR_Ts64IsZero(&r.receive));
}

/* ---- fastrand ------------------------------------------------------------------------ */

static void test_fastrand(void)
{
  FRD_State a, b, c, d;
  long ones32[32] = { 0 }, ones64[64] = { 0 };
  const long n = 1000000;
  /* 6 standard deviations of a binomial(1e6, 0.5) count: 3000 */
  const long tolerance = 3000;
  uint64_t x, same = 0;
  long i;
  int bit, r;

  r = FRD_Init(&a);
  TEST_CHECKF(r == 0, "getrandom: %d", r);
  FRD_Init(&b);

  for (i = 0; i < n; i++) {
    uint32_t v = FRD_Next32(&a);

    for (bit = 0; bit < 32; bit++)
      ones32[bit] += (v >> bit) & 1;
    x = FRD_Next64(&a);
    for (bit = 0; bit < 64; bit++)
      ones64[bit] += (long) ((x >> bit) & 1);
  }
  for (bit = 0; bit < 32; bit++)
    TEST_CHECKF(labs(ones32[bit] - n / 2) < tolerance, "bit %d: %ld ones", bit, ones32[bit]);
  for (bit = 0; bit < 64; bit++)
    TEST_CHECKF(labs(ones64[bit] - n / 2) < tolerance, "bit %d: %ld ones", bit, ones64[bit]);

  /* two states seeded apart give different streams */
  for (i = 0; i < 1000; i++)
    same += FRD_Next64(&a) == FRD_Next64(&b);
  TEST_CHECK(same == 0);

  /* Next32 hands out both halves of one 64-bit output */
  if (a.has_spare)
    (void) FRD_Next32(&a);
  c = a;
  x = FRD_Next64(&c);
  TEST_CHECK(FRD_Next32(&a) == (uint32_t) x);
  TEST_CHECK(FRD_Next32(&a) == (uint32_t) (x >> 32));

  /* the reseed: same stream up to it, another after it */
  c = a;
  d = a;
  c.left = 1;
  d.left = 100;
  TEST_CHECK(FRD_Next64(&c) == FRD_Next64(&d));
  TEST_CHECK(FRD_Next64(&c) != FRD_Next64(&d));
  TEST_CHECK(c.left == FRD_RESEED_INTERVAL - 1);
  TEST_CHECK(c.s[0] | c.s[1] | c.s[2] | c.s[3]);
}

int main(void)
{
  test_v4_reply();
  test_stamp_transmit();
  test_old_versions();
  test_unsynchronised();
  test_root_dispersion();
  test_poll_clamp();
  test_kod();
  test_interleaved();
  test_random_low_bits();
  test_never_zero();
  test_drops();
  test_accepted_shapes();
  test_fastrand();
  TEST_EXIT();
}
