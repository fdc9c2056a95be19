/* fuzz_ntp_request.c - a datagram received by the server: the verdict must agree with the
   header's classification, and every accepted request must give replies (basic, from an
   unsynchronised clock, KoD, interleaved) of 48 octets, no longer than the request, in
   mode 4 and the request's version, with the origin RFC 5905 and RFC 9769 ask for.
   Violated invariants abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/clockstate.h"
#include "engine/ntpext.h"
#include "engine/ntpwire.h"
#include "server/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static CST_State synced_clock(int8_t precision)
{
  CST_State c;

  memset(&c, 0, sizeof(c));
  c.base.tv_sec = 1700000000;
  c.offset = -0.125;
  c.freq = 3e-6;
  c.reference_time.tv_sec = 1700000000;
  c.root_delay = 0.02;
  c.root_dispersion = 0.001;
  c.dispersion_rate = 1e-5;
  c.refid = 0xC0000201;
  c.leap = NWR_LEAP_NONE;
  c.stratum = 3;
  c.precision = precision;
  c.synchronised = 1;
  return c;
}

static uint32_t get32(const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* The reply's invariants, whatever the context */
static void check_reply(const uint8_t *reply, size_t n, const NWR_Header *req_h,
                        const RPL_Request *req, size_t size, NWR_Header *h)
{
  if (n != NWR_HEADER_LEN || n > size || n > req->length)
    abort();
  if (NWR_DecodeHeader(reply, n, h) < 0)
    abort();
  if (h->mode != NWR_MODE_SERVER || h->version != req_h->version)
    abort();
  if (h->poll < RPL_POLL_MIN || h->poll > RPL_POLL_MAX)
    abort();
  /* every receive timestamp we send is flagged and set */
  if (!RPL_MaybeOurReceive(&h->receive) || NWR_Ts64IsZero(&h->receive))
    abort();
  /* stratum 16 never goes out: unsynchronised is stratum 0 with leap 3 */
  if (h->stratum > NWR_STRATUM_MAX || (h->stratum == 0 && h->leap != NWR_LEAP_UNSYNC))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const int8_t precisions[] = { -20, -24, -7, 0, -32, 3 };
  CST_State synced, unsynced;
  RPL_Context ctx;
  RPL_Request req;
  RPL_Verdict verdict;
  NWR_Header rh, h;
  NWR_Ts64 rx_sent, tx, saved_tx, saved_rx;
  NWR_RequestKind kind;
  uint8_t *reply;
  uint32_t random;
  size_t n;

  verdict = RPL_ParseRequest(data, size, &req);
  if (NWR_DecodeHeader(data, size, &rh) < 0) {
    if (verdict != RPL_DROP_MALFORMED)
      abort();
    return 0;
  }

  kind = NWR_ClassifyRequest(&rh);
  if (kind == NWR_REQ_BAD_VERSION) {
    if (verdict != RPL_DROP_MALFORMED)
      abort();
    return 0;
  }
  if (kind != NWR_REQ_CLIENT) {
    if (verdict != RPL_DROP_MODE)
      abort();
    return 0;
  }
  if (verdict == RPL_DROP_MODE)
    abort();
  if (verdict == RPL_DROP_MALFORMED) {
    /* only for a length off the 32-bit grid or NTPv4 fields that do not walk */
    if (size % 4 == 0 && (rh.version < 4 || NEF_Count(data, size, NEF_RFC7822, NULL) >= 0))
      abort();
    return 0;
  }

  /* accepted: what was recorded is what the header says */
  if (size % 4 != 0 || req.length != size || req.version != rh.version)
    abort();
  if (!NWR_Ts64Equal(&req.transmit, &rh.transmit) || !NWR_Ts64Equal(&req.origin, &rh.origin) ||
      !NWR_Ts64Equal(&req.receive, &rh.receive))
    abort();
  if (req.poll < RPL_POLL_MIN || req.poll > RPL_POLL_MAX ||
      (rh.poll >= RPL_POLL_MIN && rh.poll <= RPL_POLL_MAX && req.poll != rh.poll))
    abort();
  if (req.mac_len > size - NWR_HEADER_LEN)
    abort();

  /* the reply goes into a buffer of exactly the request's length: ASan sees any more */
  reply = malloc(size);
  if (!reply)
    return 0;
  random = get32(data + 16) ^ get32(data + 44);
  synced = synced_clock(precisions[data[2] % sizeof(precisions)]);
  memset(&unsynced, 0, sizeof(unsynced));
  unsynced.leap = NWR_LEAP_UNSYNC;
  unsynced.stratum = NWR_STRATUM_UNSYNC;

  /* basic mode */
  memset(&ctx, 0, sizeof(ctx));
  ctx.clock = &synced;
  ctx.rx_system.tv_sec = 1700000000 + (time_t) (get32(data + 24) & 0xffffff);
  ctx.rx_system.tv_nsec = (long) (get32(data + 28) % 1000000000U);
  ctx.random = random;
  n = RPL_BuildReply(&req, &ctx, reply, &rx_sent);
  check_reply(reply, n, &rh, &req, size, &h);
  if (!NWR_Ts64Equal(&h.origin, &req.transmit) || !NWR_Ts64IsZero(&h.transmit) ||
      !NWR_Ts64Equal(&h.receive, &rx_sent) || h.stratum != synced.stratum)
    abort();
  tx = RPL_StampTransmit(reply, &synced, &ctx.rx_system, ~random);
  if (NWR_DecodeHeader(reply, n, &h) < 0 || !NWR_Ts64Equal(&h.transmit, &tx) ||
      NWR_Ts64IsZero(&tx) || NWR_Ts64Equal(&tx, &h.receive) || RPL_MaybeOurReceive(&tx))
    abort();

  /* an unsynchronised clock */
  ctx.clock = &unsynced;
  n = RPL_BuildReply(&req, &ctx, reply, NULL);
  check_reply(reply, n, &rh, &req, size, &h);
  if (h.leap != NWR_LEAP_UNSYNC || h.stratum != 0 || NWR_IsKoD(&h) ||
      !NWR_Ts64Equal(&h.origin, &req.transmit))
    abort();

  /* KoD RATE */
  ctx.clock = &synced;
  ctx.kod_rate = 1;
  n = RPL_BuildReply(&req, &ctx, reply, NULL);
  check_reply(reply, n, &rh, &req, size, &h);
  if (!NWR_IsKoD(&h) || h.refid != NWR_KOD_RATE || !NWR_Ts64Equal(&h.origin, &req.transmit) ||
      NWR_Ts64IsZero(&h.transmit) || NWR_Ts64Equal(&h.transmit, &h.receive))
    abort();

  /* interleaved, with saved timestamps taken from the input */
  ctx.kod_rate = 0;
  saved_rx = req.origin;
  saved_tx.sec = get32(data + 32);
  saved_tx.frac = get32(data + 36);
  ctx.interleaved_tx = &saved_tx;
  n = RPL_BuildReply(&req, &ctx, reply, NULL);
  check_reply(reply, n, &rh, &req, size, &h);
  if (!NWR_Ts64Equal(&h.origin, &req.receive))
    abort();
  /* the saved transmit timestamp with the receive flag cleared (never all zero), or zero
     when none was saved */
  tx = saved_tx;
  if (!NWR_Ts64IsZero(&tx)) {
    tx.frac &= ~RPL_RX_FLAG;
    if (NWR_Ts64IsZero(&tx))
      tx.frac = 2;
  }
  if (!NWR_Ts64Equal(&h.transmit, &tx) ||
      (!NWR_Ts64IsZero(&tx) && NWR_Ts64Equal(&h.transmit, &h.receive)))
    abort();
  if (RPL_IsInterleaved(&req, &saved_rx) !=
      (!NWR_Ts64IsZero(&req.origin) && !NWR_Ts64Equal(&req.receive, &req.transmit)))
    abort();

  free(reply);
  return 0;
}
