/* reply.h - the answer to one NTP client request: parse and judge the request, build the
   48-byte reply from a ClockState snapshot, stamp the transmit time as late as possible.
   Pure functions of their arguments: any thread (the server workers call them). */
#ifndef KAIROS_REPLY_H
#define KAIROS_REPLY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "engine/clockstate.h"
#include "engine/ntpwire.h"

typedef enum {
  RPL_OK = 0,         /* a client request (mode 3, or a version-1 request) to answer */
  RPL_DROP_MALFORMED, /* shorter than a header, bad extension fields, bad version */
  RPL_DROP_MODE,      /* valid NTP but not a client request: 6/7 control and private,
                         symmetric, broadcast, server replies */
} RPL_Verdict;

/* The poll we echo is the client's, clamped to the range chrony accepts for minpoll and
   maxpoll. chrony raises it to the rate-limit interval when rate limiting is on; a caller
   that wants that sets req.poll = MAX(req.poll, interval) before building the reply. */
#define RPL_POLL_MIN (-7)
#define RPL_POLL_MAX 24

typedef struct {
  uint8_t version;   /* to echo in the reply */
  int8_t poll;       /* the client's poll, to echo (clamped) */
  NWR_Ts64 transmit; /* the client's transmit timestamp: the reply's origin */
  NWR_Ts64 origin;   /* the client's origin timestamp (interleaved detection) */
  NWR_Ts64 receive;  /* the client's receive timestamp (interleaved detection) */
  size_t length;     /* request length: the reply is never longer */
  size_t mac_len;    /* a legacy MAC (or crypto-NAK) after the header or fields: we
                        answer without one; 0 when there is none */
  unsigned ef_count; /* NTPv4 extension fields (NTS ones among them) */
} RPL_Request;

/* Judge `len` bytes received from a client. Fills *req only with RPL_OK.
   - RPL_DROP_MALFORMED: under 48 octets, version 0 or 5..7, a client request whose
     length is not a multiple of 4 (chrony drops those too), or an NTPv4 request whose
     extension fields break RFC 7822 (see NEF_IterNext; a trailing 20- or 24-octet legacy
     MAC or a 4-octet crypto-NAK is allowed).
   - RPL_DROP_MODE: any mode but 3 (and mode 0 in NTPv1, RFC 1059's client request).
   In versions 1 to 3 everything after the header counts as a legacy MAC (those versions
   have no extension fields) and is not looked at. */
RPL_Verdict RPL_ParseRequest(const uint8_t *packet, size_t len, RPL_Request *req);

typedef struct {
  const CST_State *clock;    /* snapshot the reply describes */
  struct timespec rx_system; /* receive time on the system clock (kernel timestamp) */
  uint32_t random;           /* random bits for the receive timestamp below precision */
  int kod_rate;              /* 1: answer with a KoD RATE instead of time */
  /* interleaved mode (RFC 9769): the transmit timestamp of the previous reply to this
     client, sent in the transmit field instead of a fresh one; NULL for basic mode */
  const NWR_Ts64 *interleaved_tx;
} RPL_Context;

/* RFC 9769 section 2: answer in interleaved mode when the request's receive timestamp
   differs from its transmit timestamp and its origin is a receive timestamp we saved
   (saved_rx, non-zero) for this client. Returns 1 or 0. */
int RPL_IsInterleaved(const RPL_Request *req, const NWR_Ts64 *saved_rx);

/* Every receive timestamp we send has the lowest fraction bit set, every transmit
   timestamp has it clear (0.23 ns, far below any clock's precision). The two can then
   never be equal, which RFC 9769 requires, and an origin with the bit clear cannot be one
   of our receive timestamps: RFC 9769 section 2 suggests this flag so that the client
   log need not look up basic-mode requests. 1 if `origin` may be one of ours. */
#define RPL_RX_FLAG 1U
int RPL_MaybeOurReceive(const NWR_Ts64 *origin);

/* Build the 48-byte reply into out (at least req->length >= 48 bytes are available).
   The transmit timestamp is left for RPL_StampTransmit (basic mode) and already set in
   interleaved mode and in KoDs. Returns the reply length (48). The receive timestamp
   actually sent is stored in *rx_sent when rx_sent is not NULL (to keep for interleaved
   mode).
   - Synchronised: leap, stratum, refid, precision and root delay from the clock; root
     dispersion grown by dispersion_rate since reference_time; the reference timestamp.
   - Unsynchronised (synchronised 0, leap 3, or stratum 0 or 16+): as chrony, leap 3,
     stratum 0 (RFC 5905 sends its MAXSTRAT 16 as 0 on the wire), refid 0 (so that the
     stratum-0 reply cannot read as a kiss code), root delay and dispersion 1 s, reference
     timestamp 0; the timestamps as usual.
   - Basic mode: origin = the request's transmit timestamp.
   - Interleaved (interleaved_tx set): origin = the request's receive timestamp, receive
     = this request's, transmit = *interleaved_tx (RFC 9769 section 2).
   - KoD RATE (kod_rate, wins over interleaved): as chrony, the reply above with leap 3,
     stratum 0 and refid "RATE"; origin = the request's transmit timestamp, so that the
     client can match it; transmit = the receive time (with other noise): it carries no
     time a client may use, and we do not read the clock for a rate-limited client. */
size_t RPL_BuildReply(const RPL_Request *req, const RPL_Context *ctx, uint8_t *out,
                      NWR_Ts64 *rx_sent);

/* Basic mode, just before sending: write the served time for system time `now` into the
   reply's transmit field, with random bits below the clock's precision. Returns the
   timestamp written. */
NWR_Ts64 RPL_StampTransmit(uint8_t *reply, const CST_State *clock, const struct timespec *now,
                           uint32_t random);

/* Served NTP timestamp for a system time, with `random` filling the bits below the
   precision (precision -20 => the low 12 bits of the fraction are random). */
NWR_Ts64 RPL_ServedTs64(const CST_State *clock, const struct timespec *system,
                        uint32_t random);

#endif
