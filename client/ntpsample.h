/* ntpsample.h - one server reply turned into a measurement: the checks a reply must pass
   before it is believed (origin, kiss codes, duplicates, synchronisation, sane timestamps
   and root distance) and the offset, delay and dispersion its four timestamps give.
   Pure functions: the engine thread (client) and tests call them. */
#ifndef KAIROS_NTPSAMPLE_H
#define KAIROS_NTPSAMPLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "engine/ntpwire.h"

/* What we know of the exchange a reply answers. */
typedef struct {
  NWR_Ts64 sent_transmit;   /* the transmit field we sent (random, RFC 9109) */
  struct timespec local_tx; /* our clock when the request left (T1) */
  struct timespec local_rx; /* our clock when the reply arrived (T4) */
  NWR_Ts64 last_transmit;   /* the server's transmit field in the last reply we accepted */
  double precision;         /* our clock's precision, seconds */
  double max_clock_error;   /* bound on our clock's frequency error (maxclockerror, 1e-6) */
} NSM_Exchange;

typedef enum {
  NSM_OK,
  NSM_MALFORMED,      /* shorter than a header */
  NSM_NOT_REPLY,      /* not a server reply (mode, version) */
  NSM_BOGUS,          /* origin is not what we sent: stale, spoofed or not ours */
  NSM_KOD,            /* a kiss-o'-death; sample.kod_code says which */
  NSM_DUPLICATE,      /* the same server transmit timestamp as the last accepted reply */
  NSM_UNSYNCHRONISED, /* leap 3 or stratum 16 */
  NSM_BAD_TIMESTAMPS, /* receive or transmit not set, or a negative delay */
  NSM_BAD_ROOT,       /* root delay / 2 + root dispersion of 16 s or more */
} NSM_Verdict;

typedef struct {
  double offset;          /* the server's clock minus ours, seconds */
  double delay;           /* round trip less the server's processing time, seconds */
  double dispersion;      /* error bound of this measurement, seconds */
  double root_delay;      /* the server's, seconds */
  double root_dispersion; /* the server's, seconds */
  int stratum, leap, poll;
  uint32_t refid;
  uint32_t kod_code; /* with NSM_KOD */
  NWR_Ts64 transmit; /* the server's transmit field, to pass as last_transmit next time */
} NSM_Sample;

NSM_Verdict NSM_ProcessReply(const uint8_t *packet, size_t len, const NSM_Exchange *x,
                             NSM_Sample *sample);

const char *NSM_VerdictName(NSM_Verdict v);

#endif
