/* ntpwire.h - the NTP packet header (RFC 5905) on the wire: constants, decoding and
   encoding of the 48-octet header, timestamp and short-format conversions, kiss codes.
   Pure functions without state or I/O: any thread may call them. */
#ifndef KAIROS_NTPWIRE_H
#define KAIROS_NTPWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NWR_PORT       123
#define NWR_HEADER_LEN 48

#define NWR_VERSION_MIN 1
#define NWR_VERSION_MAX 4
#define NWR_VERSION     4 /* what we send */

/* Leap indicator (the two top bits of the first octet) */
#define NWR_LEAP_NONE   0
#define NWR_LEAP_INSERT 1 /* last minute of the day has 61 seconds */
#define NWR_LEAP_DELETE 2 /* last minute of the day has 59 seconds */
#define NWR_LEAP_UNSYNC 3 /* clock not synchronised */

/* Association modes */
#define NWR_MODE_RESERVED          0
#define NWR_MODE_SYMMETRIC_ACTIVE  1
#define NWR_MODE_SYMMETRIC_PASSIVE 2
#define NWR_MODE_CLIENT            3
#define NWR_MODE_SERVER            4
#define NWR_MODE_BROADCAST         5
#define NWR_MODE_CONTROL           6
#define NWR_MODE_PRIVATE           7

#define NWR_STRATUM_KOD    0  /* "unspecified or invalid": kiss-o'-death packets */
#define NWR_STRATUM_MAX    15 /* highest stratum of a synchronised server */
#define NWR_STRATUM_UNSYNC 16

/* Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch) */
#define NWR_UNIX_EPOCH_OFFSET 2208988800U

/* A reference identifier made of four ASCII characters, as it reads in host order */
#define NWR_REFID(a, b, c, d)                                                                 \
  (((uint32_t) (uint8_t) (a) << 24) | ((uint32_t) (uint8_t) (b) << 16) |                      \
   ((uint32_t) (uint8_t) (c) << 8) | (uint32_t) (uint8_t) (d))

/* Kiss codes (RFC 5905 section 7.4, plus NTSN from RFC 8915 section 5.7) */
#define NWR_KOD_ACST NWR_REFID('A', 'C', 'S', 'T') /* unicast server */
#define NWR_KOD_AUTH NWR_REFID('A', 'U', 'T', 'H') /* server authentication failed */
#define NWR_KOD_AUTO NWR_REFID('A', 'U', 'T', 'O') /* autokey sequence failed */
#define NWR_KOD_BCST NWR_REFID('B', 'C', 'S', 'T') /* broadcast server */
#define NWR_KOD_CRYP NWR_REFID('C', 'R', 'Y', 'P') /* cryptographic authentication failed */
#define NWR_KOD_DENY NWR_REFID('D', 'E', 'N', 'Y') /* access denied: stop sending */
#define NWR_KOD_DROP NWR_REFID('D', 'R', 'O', 'P') /* lost peer in symmetric mode */
#define NWR_KOD_RSTR NWR_REFID('R', 'S', 'T', 'R') /* access restricted: stop sending */
#define NWR_KOD_INIT NWR_REFID('I', 'N', 'I', 'T') /* not yet synchronised */
#define NWR_KOD_MCST NWR_REFID('M', 'C', 'S', 'T') /* multicast server */
#define NWR_KOD_NKEY NWR_REFID('N', 'K', 'E', 'Y') /* no key found */
#define NWR_KOD_RATE NWR_REFID('R', 'A', 'T', 'E') /* rate exceeded: poll less often */
#define NWR_KOD_RMOT NWR_REFID('R', 'M', 'O', 'T') /* remote host altered the association */
#define NWR_KOD_STEP NWR_REFID('S', 'T', 'E', 'P') /* step change in time */
#define NWR_KOD_NTSN NWR_REFID('N', 'T', 'S', 'N') /* NTS cookie not accepted (NAK) */

/* A 64-bit NTP timestamp in host order: seconds since the start of its era (the era itself
   is not on the wire) and a binary fraction of a second (units of 2^-32 s). All zero
   means "not set" on the wire. */
typedef struct {
  uint32_t sec;
  uint32_t frac;
} NWR_Ts64;

/* The 32-bit short format in host order: 16 bits of seconds, 16 bits of fraction. */
typedef uint32_t NWR_Short;

#define NWR_SHORT_MAX 0xffffffffU

/* The header, decoded into host order. Every field keeps all the bits the wire has, so
   decoding and encoding round-trips exactly. */
typedef struct {
  uint8_t leap;    /* 0..3 */
  uint8_t version; /* 0..7 (only 1..4 are valid) */
  uint8_t mode;    /* 0..7 */
  uint8_t stratum;
  int8_t poll;      /* log2 seconds */
  int8_t precision; /* log2 seconds */
  NWR_Short root_delay;
  NWR_Short root_dispersion;
  uint32_t refid;
  NWR_Ts64 reference;
  NWR_Ts64 origin;
  NWR_Ts64 receive;
  NWR_Ts64 transmit;
} NWR_Header;

/* Decode the first 48 octets of buf. Returns 0, or -EINVAL when len < 48. Nothing is
   judged here: see the validation helpers below. */
int NWR_DecodeHeader(const uint8_t *buf, size_t len, NWR_Header *h);

/* Encode h into 48 octets (leap, version and mode are masked to their widths). */
void NWR_EncodeHeader(const NWR_Header *h, uint8_t out[NWR_HEADER_LEN]);

/* Timestamps on the wire (8 octets, big-endian) */
void NWR_GetTs64(const uint8_t in[8], NWR_Ts64 *ts);
void NWR_PutTs64(const NWR_Ts64 *ts, uint8_t out[8]);

int NWR_Ts64IsZero(const NWR_Ts64 *ts);
int NWR_Ts64Equal(const NWR_Ts64 *a, const NWR_Ts64 *b);

/* The timestamp as one number (sec << 32 | frac) and back */
uint64_t NWR_Ts64ToU64(const NWR_Ts64 *ts);
void NWR_U64ToTs64(uint64_t v, NWR_Ts64 *ts);

/* Nanoseconds (0..999999999) to a 32-bit fraction and back, both rounded to nearest, so
   that ns -> fraction -> ns is exact. NWR_FracToNs may return 1000000000 for the top
   two fractions; NWR_Ts64ToTimespec carries that into the seconds. */
uint32_t NWR_NsToFrac(uint32_t ns);
uint32_t NWR_FracToNs(uint32_t frac);

/* Any time (negative time_t and years past 2036 included) to its NTP timestamp; the era
   is dropped, as on the wire. tv_nsec outside 0..999999999 is normalised first. The two
   instants that would encode as all zero (each era's first second, e.g. 1900-01-01 and
   2036-02-07T06:28:16Z) get a fraction of 1 (0.23 ns later) instead, so that a real time
   is never sent as "not set". */
void NWR_TimespecToTs64(const struct timespec *t, NWR_Ts64 *ts);

/* A timestamp back to a time: the era is chosen so that the seconds lie within
   [pivot - 2^31, pivot + 2^31), i.e. the instant within about 68 years either side of
   the pivot (normally the current time). The pivot is clamped to keep the result within
   time_t. Returns 0, or -ENODATA for the all-zero "not set" timestamp (t is then set to
   0.000000000, the Unix epoch, which callers must not use as a time). */
int NWR_Ts64ToTimespec(const NWR_Ts64 *ts, time_t pivot, struct timespec *t);

/* a - b in seconds, modulo the era: correct when the two lie within 68 years of each
   other, also across an era boundary. */
double NWR_Ts64Diff(const NWR_Ts64 *a, const NWR_Ts64 *b);

/* A timestamp as Unix seconds, the era resolved around pivot as in NWR_Ts64ToTimespec
   (zero converts like any other value: check NWR_Ts64IsZero first). */
double NWR_Ts64ToDouble(const NWR_Ts64 *ts, time_t pivot);

/* Short format: seconds to 16.16, rounded up (root delay and dispersion are error
   bounds, which must not be understated), 0 for negative or NaN input, NWR_SHORT_MAX
   for 65535.99998 s and above. */
NWR_Short NWR_DoubleToShort(double seconds);
double NWR_ShortToDouble(NWR_Short s);

/* Kiss-o'-death: stratum 0 with a refid of four ASCII capital letters or digits, which
   is then the kiss code (compare with NWR_KOD_*). Returns 1 or 0. */
int NWR_IsKoD(const NWR_Header *h);

/* The refid as text: printable ASCII kept, trailing NULs dropped ("GPS\0" -> "GPS"),
   other octets shown as '.'. Returns out. */
char *NWR_RefidToString(uint32_t refid, char out[5]);

/* What a packet received by a server asks for */
typedef enum {
  NWR_REQ_BAD_VERSION, /* version 0 or 5..7: drop */
  NWR_REQ_CLIENT,      /* mode 3, or mode 0 in NTPv1 (RFC 1059 had no mode field) */
  NWR_REQ_SYMMETRIC,   /* mode 1: symmetric active */
  NWR_REQ_CONTROL,     /* mode 6 (ntpq) */
  NWR_REQ_PRIVATE,     /* mode 7 (ntpdc): never answered, an old amplification vector */
  NWR_REQ_OTHER,       /* modes 2, 4, 5 and reserved 0: not a request */
} NWR_RequestKind;

NWR_RequestKind NWR_ClassifyRequest(const NWR_Header *h);

/* A plausible client request (NWR_ClassifyRequest() == NWR_REQ_CLIENT). */
int NWR_IsClientRequest(const NWR_Header *h);

/* A server reply to a client: version 1..4 and mode 4. Says nothing about its content. */
int NWR_IsServerReply(const NWR_Header *h);

/* The sender says it is not synchronised: leap 3 or stratum 16 and above. */
int NWR_IsUnsynchronised(const NWR_Header *h);

/* The reply's origin timestamp is the transmit timestamp we sent (and was set), the
   basic check against spoofed and stale replies (RFC 5905 section 8). */
int NWR_OriginMatches(const NWR_Header *reply, const NWR_Ts64 *sent);

#endif
