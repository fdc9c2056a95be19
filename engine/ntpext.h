/* ntpext.h - NTPv4 extension fields (RFC 7822, with the NTS rules of RFC 8915): a walker
   that checks the framing of every field and finds a trailing legacy MAC, and a builder.
   Pure functions on caller-owned buffers: any thread may call them. */
#ifndef KAIROS_NTPEXT_H
#define KAIROS_NTPEXT_H

#include <stddef.h>
#include <stdint.h>

/* NTS field types (RFC 8915 sections 5.3 to 5.6) */
#define NEF_TYPE_NTS_UNIQUE_ID   0x0104
#define NEF_TYPE_NTS_COOKIE      0x0204
#define NEF_TYPE_NTS_PLACEHOLDER 0x0304
#define NEF_TYPE_NTS_AUTH        0x0404 /* NTS Authenticator and Encrypted EFs */

#define NEF_HEADER_LEN   4  /* 16-bit type, 16-bit length */
#define NEF_MIN_LEN      16 /* RFC 7822: every field, when a MAC may follow */
#define NEF_MIN_LAST_LEN 28 /* RFC 7822: the last field when no MAC follows */
#define NEF_MAX_LEN      0xfffc

/* Legacy MAC after the fields (RFC 7822 section 3): a 4-octet key id and a 16-octet
   (MD5) or 20-octet (SHA-1) digest; NTPv4 allows no longer ones. A crypto-NAK is a bare
   key id of zero. */
#define NEF_MAC_LEN_MD5  20
#define NEF_MAC_LEN_SHA1 24
#define NEF_MAC_LEN_NAK  4

/* Walker flags. 0 is RFC 7822 as written, for the fields of an NTPv4 packet:
   - the fields start after the 48-octet header;
   - every field's Length (the whole field, header and padding included) is a multiple
     of 4 and at least 16 octets, and lies inside the packet;
   - wherever exactly 20 or 24 octets remain (or 4 zero octets: a crypto-NAK), they are
     a legacy MAC and the walk ends there;
   - when the packet ends without a MAC, its last field is at least 28 octets, so that a
     field can never be taken for a MAC (RFC 7822 section 3, which rewrites RFC 5905
     section 7.5).
   The bits change these rules one by one: */
#define NEF_F_BARE     0x1 /* no NTP header: the buffer holds only fields, from offset 0 */
#define NEF_F_NO_MAC   0x2 /* never look for a legacy MAC: every octet is a field */
#define NEF_F_ANY_LAST 0x4 /* no 28-octet minimum for the last field */
#define NEF_F_ANY_LEN  0x8 /* minimum length 4 (a bare header) instead of 16 */

#define NEF_RFC7822 0
/* The plaintext of an NTS Authenticator and Encrypted Extension Fields field: RFC 8915
   section 5.6 lets the fields encrypted there be arbitrarily short (any multiple of 4),
   and no MAC can sit inside a ciphertext. The outer NTS packet keeps the RFC 7822
   rules: its fields are long anyway (a unique identifier alone is 36 octets). */
#define NEF_NTS_PLAINTEXT (NEF_F_BARE | NEF_F_NO_MAC | NEF_F_ANY_LAST | NEF_F_ANY_LEN)

typedef struct {
  uint16_t type;
  uint16_t length;     /* of the whole field */
  const uint8_t *body; /* the octets after the field header, padding included */
  size_t body_len;     /* length - 4 */
  size_t offset;       /* of the field header in the buffer */
} NEF_Field;

/* The walk's state. After NEF_IterNext() returned 0: mac_offset and mac_len locate the
   legacy MAC (mac_len 0: none), fields counts the fields. */
typedef struct {
  const uint8_t *buf;
  size_t len;
  size_t pos;
  int flags;
  int error; /* sticky: once malformed, stays so */
  int done;
  unsigned fields;
  size_t mac_offset;
  size_t mac_len;
} NEF_Iter;

void NEF_IterInit(NEF_Iter *it, const uint8_t *packet, size_t len, int flags);

/* The next field. Returns 1 with *field filled, 0 at the end (see mac_offset/mac_len),
   or a negative errno, which every later call returns too:
   -EINVAL    a Length not a multiple of 4 or below the minimum (0 included), the last
              field shorter than 28 octets, or a packet shorter than its header;
   -EMSGSIZE  a field runs past the end, or 1..3 octets are left over.
   No octet at or past packet + len is ever read. A field is handed out only once it is
   known to be valid in its place (the last-field rule is checked before returning it). */
int NEF_IterNext(NEF_Iter *it, NEF_Field *field);

/* Walk a whole buffer: the number of fields, or the walker's negative errno. mac_len
   (may be NULL) receives the length of a trailing legacy MAC, 0 if none. */
int NEF_Count(const uint8_t *packet, size_t len, int flags, size_t *mac_len);

/* Append a field at *len (a multiple of 4) in buf of size octets: the header, body_len
   octets of body (zeros when body is NULL, as for a cookie placeholder), then zero
   padding up to a multiple of 4 and to at least NEF_MIN_LEN. *len grows by the field
   length. Returns that length, -ENOSPC when it does not fit (buf untouched), -EMSGSIZE
   when it would exceed the 16-bit Length, -EINVAL for a misaligned *len. */
int NEF_Add(uint8_t *buf, size_t size, size_t *len, uint16_t type, const void *body,
            size_t body_len);

/* NEF_Add with another minimum field length: NEF_MIN_LAST_LEN for the last field of a
   packet without a MAC, NEF_HEADER_LEN for fields inside an NTS ciphertext. */
int NEF_AddMin(uint8_t *buf, size_t size, size_t *len, uint16_t type, const void *body,
               size_t body_len, size_t min_len);

#endif
