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
  RPL_OK = 0,          /* a client request (mode 3, or a version-1 request) to answer */
  RPL_DROP_MALFORMED,  /* shorter than a header, bad extension fields, bad version */
  RPL_DROP_MODE,       /* valid NTP but not a client request: 6/7 control and private,
                          symmetric, broadcast, server replies */
} RPL_Verdict;

typedef struct {
  uint8_t version;       /* to echo in the reply */
  int8_t poll;           /* the client's poll, to echo (clamped) */
  NWR_Ts64 transmit;     /* the client's transmit timestamp: the reply's origin */
  NWR_Ts64 origin;       /* the client's origin timestamp (interleaved detection) */
  NWR_Ts64 receive;      /* the client's receive timestamp (interleaved detection) */
  size_t length;         /* request length: the reply is never longer */
} RPL_Request;

/* Judge `len` bytes received from a client. Fills *req only with RPL_OK. */
RPL_Verdict RPL_ParseRequest(const uint8_t *packet, size_t len, RPL_Request *req);

typedef struct {
  const CST_State *clock;      /* snapshot the reply describes */
  struct timespec rx_system;   /* receive time on the system clock (kernel timestamp) */
  uint32_t random;             /* random bits for the receive timestamp below precision */
  int kod_rate;                /* 1: answer with a KoD RATE instead of time */
  /* interleaved mode (RFC 9769): the transmit timestamp of the previous reply to this
     client, sent in the transmit field instead of a fresh one; NULL for basic mode */
  const NWR_Ts64 *interleaved_tx;
  /* interleaved mode: the receive timestamp of the previous request, the reply's origin */
  const NWR_Ts64 *interleaved_rx;
} RPL_Context;

/* Build the 48-byte reply into out (at least req->length >= 48 bytes are available).
   The transmit timestamp is left for RPL_StampTransmit (basic mode) and already set in
   interleaved mode and in KoDs. Returns the reply length (48). The receive timestamp
   actually sent is stored in *rx_sent when rx_sent is not NULL (to keep for interleaved
   mode). */
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
