/* reply.c - judging a client request and building the server's reply (see reply.h). */
#include "server/reply.h"

#include <string.h>

#include "engine/ntpext.h"

#define TRANSMIT_OFFSET 40 /* of the transmit timestamp in the header */

/* Root delay and dispersion of an unsynchronised reply, as chrony sends them */
#define UNSYNC_ROOT_DELAY      1.0
#define UNSYNC_ROOT_DISPERSION 1.0

RPL_Verdict RPL_ParseRequest(const uint8_t *packet, size_t len, RPL_Request *req)
{
  NWR_Header h;
  NEF_Iter it;
  NEF_Field field;
  size_t mac_len;
  unsigned fields = 0;
  int r;

  if (!packet || NWR_DecodeHeader(packet, len, &h) < 0)
    return RPL_DROP_MALFORMED;

  switch (NWR_ClassifyRequest(&h)) {
  case NWR_REQ_CLIENT:
    break;
  case NWR_REQ_BAD_VERSION:
    return RPL_DROP_MALFORMED;
  default:
    return RPL_DROP_MODE;
  }

  /* NTP data comes in 32-bit words: a MAC, a field or a header is never cut short */
  if (len % 4 != 0)
    return RPL_DROP_MALFORMED;

  if (h.version >= 4) {
    NEF_IterInit(&it, packet, len, NEF_RFC7822);
    while ((r = NEF_IterNext(&it, &field)) > 0)
      ;
    if (r < 0)
      return RPL_DROP_MALFORMED;
    fields = it.fields;
    mac_len = it.mac_len;
  } else {
    mac_len = len - NWR_HEADER_LEN;
  }

  req->version = h.version;
  req->poll = h.poll < RPL_POLL_MIN   ? RPL_POLL_MIN
              : h.poll > RPL_POLL_MAX ? RPL_POLL_MAX
                                      : h.poll;
  req->transmit = h.transmit;
  req->origin = h.origin;
  req->receive = h.receive;
  req->length = len;
  req->mac_len = mac_len;
  req->ef_count = fields;
  return RPL_OK;
}

int RPL_IsInterleaved(const RPL_Request *req, const NWR_Ts64 *saved_rx)
{
  return saved_rx && !NWR_Ts64IsZero(saved_rx) && NWR_Ts64Equal(&req->origin, saved_rx) &&
         !NWR_Ts64Equal(&req->receive, &req->transmit);
}

int RPL_MaybeOurReceive(const NWR_Ts64 *origin)
{
  return (origin->frac & RPL_RX_FLAG) != 0;
}

/* A served time as sent: the fraction bits below the precision replaced by `random`.
   Precision -20 leaves 12 bits (32 - 20) to noise; 0 and above, the whole fraction (a
   clock that coarse has no sub-second information; its seconds stay as they are); -32
   and below, none. */
static NWR_Ts64 noisy_ts(const struct timespec *served, int precision, uint32_t random)
{
  int noise_bits = 32 + precision;
  uint32_t mask;
  NWR_Ts64 ts;

  NWR_TimespecToTs64(served, &ts);
  if (noise_bits > 0) {
    mask = noise_bits >= 32 ? UINT32_MAX : (1U << noise_bits) - 1;
    ts.frac = (ts.frac & ~mask) | (random & mask);
  }
  /* all zero means "not set" on the wire: possible only in the first instant of an era */
  if (ts.sec == 0 && ts.frac == 0)
    ts.frac = 1;
  return ts;
}

static NWR_Ts64 as_receive(NWR_Ts64 ts)
{
  ts.frac |= RPL_RX_FLAG;
  return ts;
}

static NWR_Ts64 as_transmit(NWR_Ts64 ts)
{
  ts.frac &= ~RPL_RX_FLAG;
  if (ts.sec == 0 && ts.frac == 0)
    ts.frac = 2 * RPL_RX_FLAG;
  return ts;
}

NWR_Ts64 RPL_ServedTs64(const CST_State *clock, const struct timespec *system, uint32_t random)
{
  struct timespec served;

  CST_ServedTime(clock, system, &served);
  return noisy_ts(&served, clock->precision, random);
}

NWR_Ts64 RPL_StampTransmit(uint8_t *reply, const CST_State *clock, const struct timespec *now,
                           uint32_t random)
{
  NWR_Ts64 tx = as_transmit(RPL_ServedTs64(clock, now, random));

  NWR_PutTs64(&tx, reply + TRANSMIT_OFFSET);
  return tx;
}

static int is_unsynchronised(const CST_State *c)
{
  return !c->synchronised || c->leap == NWR_LEAP_UNSYNC || c->stratum == 0 ||
         c->stratum >= NWR_STRATUM_UNSYNC;
}

static int timespec_is_zero(const struct timespec *t)
{
  return t->tv_sec == 0 && t->tv_nsec == 0;
}

/* RFC 5905: the root dispersion grows at the clock's dispersion rate from the reference
   time to the moment the reply describes */
static NWR_Short root_dispersion(const CST_State *c, const struct timespec *served_rx)
{
  double disp = c->root_dispersion, elapsed;

  if (!timespec_is_zero(&c->reference_time)) {
    elapsed = (double) (served_rx->tv_sec - c->reference_time.tv_sec) +
              (served_rx->tv_nsec - c->reference_time.tv_nsec) * 1e-9;
    if (elapsed > 0.0)
      disp += c->dispersion_rate * elapsed;
  }
  /* NaN or infinity would otherwise convert to 0: an error bound must not shrink */
  if (!(disp < 65536.0))
    return NWR_SHORT_MAX;
  return NWR_DoubleToShort(disp);
}

static uint32_t rotate16(uint32_t x)
{
  return x << 16 | x >> 16;
}

size_t RPL_BuildReply(const RPL_Request *req, const RPL_Context *ctx, uint8_t *out,
                      NWR_Ts64 *rx_sent)
{
  const CST_State *c = ctx->clock;
  struct timespec served_rx;
  NWR_Header h;

  memset(&h, 0, sizeof(h));
  h.version = req->version;
  h.mode = NWR_MODE_SERVER;
  h.poll = req->poll;
  h.precision = c->precision;

  CST_ServedTime(c, &ctx->rx_system, &served_rx);
  h.receive = as_receive(noisy_ts(&served_rx, c->precision, ctx->random));

  if (is_unsynchronised(c)) {
    h.leap = NWR_LEAP_UNSYNC;
    h.stratum = NWR_STRATUM_KOD; /* 0: "unspecified", what stratum 16 is sent as */
    h.refid = 0;
    h.root_delay = NWR_DoubleToShort(UNSYNC_ROOT_DELAY);
    h.root_dispersion = NWR_DoubleToShort(UNSYNC_ROOT_DISPERSION);
  } else {
    h.leap = c->leap;
    h.stratum = c->stratum;
    h.refid = c->refid;
    h.root_delay =
        !(c->root_delay < 65536.0) ? NWR_SHORT_MAX : NWR_DoubleToShort(c->root_delay);
    h.root_dispersion = root_dispersion(c, &served_rx);
    if (!timespec_is_zero(&c->reference_time))
      NWR_TimespecToTs64(&c->reference_time, &h.reference);
  }

  if (ctx->kod_rate) {
    h.leap = NWR_LEAP_UNSYNC;
    h.stratum = NWR_STRATUM_KOD;
    h.refid = NWR_KOD_RATE;
    h.origin = req->transmit;
    h.transmit = as_transmit(noisy_ts(&served_rx, c->precision, rotate16(ctx->random)));
  } else if (ctx->interleaved_tx) {
    h.origin = req->receive;
    /* a missing saved timestamp stays zero: the client then rejects the reply (RFC 5905
       test 3) instead of taking a made-up time */
    if (!NWR_Ts64IsZero(ctx->interleaved_tx))
      h.transmit = as_transmit(*ctx->interleaved_tx);
  } else {
    h.origin = req->transmit;
  }

  NWR_EncodeHeader(&h, out);
  if (rx_sent)
    *rx_sent = h.receive;
  return NWR_HEADER_LEN;
}
