/* acl.c - NTP access rules (see acl.h).

   Rules are kept the way chrony's documentation describes its tables: one level per four
   bits of the address, a prefix length that is not a multiple of four covering several
   records of the next level down (a /22 is four /24 records). A rule writes its records,
   a later rule for the same record replaces it, and an `all` rule also removes every
   deeper record under it. The deepest record that holds an address decides; none means
   deny. So "the most specific rule wins, the later one for the same subnet" holds at
   four-bit granularity, exactly as chrony.conf(5) warns for 1.2.3.0/25 and 1.2.3.0/28.

   Every rule added recompiles the records of the family into a flat, sorted list of
   disjoint address ranges covering the whole family, each with its action. A lookup is
   then one branch-light binary search over an array of range starts (uint32_t for IPv4):
   a few cache lines, no pointers to chase, no locks, no allocation. IPv4 and IPv4-mapped
   IPv6 share one family; other IPv6 addresses have their own. */
#include "server/acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

enum { FAM4 = 0, FAM6 = 1, N_FAMS = 2 };

static const int fam_bits[N_FAMS] = { 32, 128 };

/* An address as a 128-bit number; IPv4 lives in the low 32 bits of lo */
typedef struct {
  uint64_t hi, lo;
} Addr;

/* A record of the rule tables: the 2^(bits - level) addresses from start */
typedef struct {
  Addr start;
  uint8_t level; /* a multiple of 4: 0, 4, ..., 32 (IPv4) or 128 */
  uint8_t action;
} Record;

typedef struct {
  Record *recs;
  size_t n;
} RecordSet;

/* The compiled form: ranges [start[i], start[i + 1]) with action[i]; start[0] is 0. */
typedef struct {
  void *start; /* uint32_t[] for IPv4, Addr[] for IPv6 */
  uint8_t *action;
  size_t n;
} Ranges;

struct ACL_Table_Record {
  RecordSet recs[N_FAMS];
  Ranges ranges[N_FAMS];
};

static int addr_lt(Addr a, Addr b)
{
  return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
}

static int addr_eq(Addr a, Addr b)
{
  return a.hi == b.hi && a.lo == b.lo;
}

/* The low `n` bits set (n = 0..128) */
static Addr low_bits(int n)
{
  Addr m = { 0, 0 };

  if (n >= 128) {
    m.hi = m.lo = UINT64_MAX;
  } else if (n >= 64) {
    m.lo = UINT64_MAX;
    m.hi = n == 64 ? 0 : UINT64_MAX >> (128 - n);
  } else if (n > 0) {
    m.lo = UINT64_MAX >> (64 - n);
  }
  return m;
}

/* The last address of the len-bit prefix that starts at a */
static Addr prefix_end(Addr a, int bits, int len)
{
  Addr m = low_bits(bits - len);

  a.hi |= m.hi;
  a.lo |= m.lo;
  return a;
}

/* a with the bits below the len-bit prefix cleared */
static Addr prefix_start(Addr a, int bits, int len)
{
  Addr m = low_bits(bits - len);

  a.hi &= ~m.hi;
  a.lo &= ~m.lo;
  return a;
}

static int in_prefix(Addr a, Addr prefix, int bits, int len)
{
  return addr_eq(prefix_start(a, bits, len), prefix);
}

static Addr addr_from_v6(const uint8_t b[16])
{
  Addr a = { 0, 0 };
  int i;

  for (i = 0; i < 8; i++) {
    a.hi = a.hi << 8 | b[i];
    a.lo = a.lo << 8 | b[i + 8];
  }
  return a;
}

static uint32_t get32(const uint8_t *b)
{
  return (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 | b[3];
}

static int is_v4_mapped(const uint8_t b[16])
{
  static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  return memcmp(b, prefix, sizeof(prefix)) == 0;
}

/* ---- parsing a subnet ---------------------------------------------------------------- */

static int parse_bits(const char *s, int max, int *bits)
{
  size_t n = strlen(s);
  int v = 0;
  size_t i;

  if (n < 1 || n > 3)
    return -EINVAL;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -EINVAL;
    v = v * 10 + (s[i] - '0');
  }
  if (v > max)
    return -EINVAL;
  *bits = v;
  return 0;
}

static int is_host_name(const char *s)
{
  size_t n = strlen(s);

  if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
    return 0;
  return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == n;
}

/* chrony resolves a name once, at start, and uses its first address */
static int resolve(const char *name, int *family, uint8_t addr[16])
{
  struct addrinfo hints, *res = NULL;
  int r;

  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  r = getaddrinfo(name, NULL, &hints, &res);
  if (r != 0 || !res)
    return r == EAI_MEMORY ? -ENOMEM : -ENOENT;
  r = -ENOENT;
  if (res->ai_family == AF_INET && res->ai_addrlen >= sizeof(struct sockaddr_in)) {
    memcpy(addr, &((const struct sockaddr_in *) res->ai_addr)->sin_addr, 4);
    *family = AF_INET;
    r = 0;
  } else if (res->ai_family == AF_INET6 && res->ai_addrlen >= sizeof(struct sockaddr_in6)) {
    memcpy(addr, &((const struct sockaddr_in6 *) res->ai_addr)->sin6_addr, 16);
    *family = AF_INET6;
    r = 0;
  }
  freeaddrinfo(res);
  return r;
}

/* "A.B.C.D[/N]", "X::Y[/N]" or a host name, to a family, a prefix and its length. An IPv6
   subnet inside ::ffff:0:0/96 becomes the IPv4 subnet it maps, as those clients are
   checked as IPv4. */
static int parse_subnet(const char *subnet, int *fam, Addr *prefix, int *len)
{
  char text[INET6_ADDRSTRLEN + 1];
  const char *slash = strchr(subnet, '/');
  size_t n = slash ? (size_t) (slash - subnet) : strlen(subnet);
  uint8_t bytes[16];
  int family, r;

  if (n == 0 || n >= sizeof(text))
    return -EINVAL;
  memcpy(text, subnet, n);
  text[n] = '\0';

  if (inet_pton(AF_INET, text, bytes) == 1) {
    family = AF_INET;
  } else if (inet_pton(AF_INET6, text, bytes) == 1) {
    family = AF_INET6;
  } else {
    struct in_addr legacy;

    /* inet_aton's forms ("1.2.3" is 1.2.0.3, "0x7f.1" is 127.0.0.1) are not addresses
       here, and getaddrinfo would take them for some; nor is a bad dotted quad a name */
    if (slash || !is_host_name(text) || inet_aton(text, &legacy) ||
        strspn(text, "0123456789.") == n)
      return -EINVAL;
    r = resolve(text, &family, bytes);
    if (r < 0)
      return r;
  }

  if (family == AF_INET) {
    *fam = FAM4;
    prefix->hi = 0;
    prefix->lo = get32(bytes);
  } else {
    *fam = FAM6;
    *prefix = addr_from_v6(bytes);
  }
  *len = fam_bits[*fam];
  if (slash) {
    r = parse_bits(slash + 1, fam_bits[*fam], len);
    if (r < 0)
      return r;
  }
  if (*fam == FAM6 && *len >= 96 && is_v4_mapped(bytes)) {
    *fam = FAM4;
    prefix->hi = 0;
    prefix->lo &= 0xffffffffU;
    *len -= 96;
  }
  /* host bits after the prefix do not count (chrony ignores them too) */
  *prefix = prefix_start(*prefix, fam_bits[*fam], *len);
  return 0;
}

/* ---- compiling the records into ranges ----------------------------------------------- */

static int cmp_record(const void *a, const void *b)
{
  const Record *x = a, *y = b;

  if (!addr_eq(x->start, y->start))
    return addr_lt(x->start, y->start) ? -1 : 1;
  return (int) x->level - (int) y->level;
}

typedef struct {
  Addr *start;
  uint8_t *action;
  size_t n;
} Builder;

/* Append a range start, merging with the previous range when the action is the same */
static void emit(Builder *b, Addr at, uint8_t action)
{
  if (b->n > 0 && addr_eq(b->start[b->n - 1], at))
    b->n--; /* a range of no addresses: what follows at the same point replaces it */
  if (b->n > 0 && b->action[b->n - 1] == action)
    return;
  b->start[b->n] = at;
  b->action[b->n] = action;
  b->n++;
}

/* Records nest (one lies inside the other) or are disjoint, as prefixes do; sorted by
   start and then by level, a parent comes before its children, and a stack of the open
   records gives the deepest one at every point of the sweep. */
static int compile(const RecordSet *set, int fam, Ranges *out)
{
  const int bits = fam_bits[fam];
  const Addr last = low_bits(bits);
  Addr stack_end[129 / 4 + 1];
  uint8_t stack_action[129 / 4 + 1];
  Record *sorted = NULL;
  Builder b = { NULL, NULL, 0 };
  size_t i, depth = 0, cap = 2 * set->n + 1;
  int r = -ENOMEM;

  memset(out, 0, sizeof(*out));
  b.start = malloc(cap * sizeof(*b.start));
  b.action = malloc(cap);
  sorted = malloc((set->n ? set->n : 1) * sizeof(*sorted));
  if (!b.start || !b.action || !sorted)
    goto out;
  if (set->n)
    memcpy(sorted, set->recs, set->n * sizeof(*sorted));
  qsort(sorted, set->n, sizeof(*sorted), cmp_record);

  emit(&b, (Addr){ 0, 0 }, ACL_DENY);
  for (i = 0; i < set->n; i++) {
    const Record *rec = &sorted[i];

    /* close the records that end before this one starts */
    while (depth > 0 && addr_lt(stack_end[depth - 1], rec->start)) {
      Addr after = stack_end[--depth];

      if (++after.lo == 0)
        after.hi++;
      emit(&b, after, depth ? stack_action[depth - 1] : ACL_DENY);
    }
    emit(&b, rec->start, rec->action);
    stack_end[depth] = prefix_end(rec->start, bits, rec->level);
    stack_action[depth] = rec->action;
    depth++;
  }
  while (depth > 0) {
    Addr after = stack_end[--depth];

    if (addr_eq(after, last))
      continue;
    if (++after.lo == 0)
      after.hi++;
    emit(&b, after, depth ? stack_action[depth - 1] : ACL_DENY);
  }

  out->n = b.n;
  out->action = b.action;
  b.action = NULL;
  if (fam == FAM4) {
    uint32_t *s4 = malloc(b.n * sizeof(*s4));

    if (!s4)
      goto out;
    for (i = 0; i < b.n; i++)
      s4[i] = (uint32_t) b.start[i].lo;
    out->start = s4;
  } else {
    out->start = b.start;
    b.start = NULL;
  }
  r = 0;
out:
  if (r < 0) {
    free(out->action);
    memset(out, 0, sizeof(*out));
  }
  free(b.start);
  free(b.action);
  free(sorted);
  return r;
}

static void free_ranges(Ranges *r)
{
  free(r->start);
  free(r->action);
  memset(r, 0, sizeof(*r));
}

/* ---- rules --------------------------------------------------------------------------- */

/* The records of `set` after one rule: a new set in *out (the old one is left alone, so
   that a failure changes nothing). */
static int apply_rule(const RecordSet *set, int fam, uint8_t action, int all, Addr prefix,
                      int len, RecordSet *out)
{
  const int bits = fam_bits[fam];
  const int level = (len + 3) / 4 * 4;
  const size_t count = (size_t) 1 << (level - len);
  size_t i, j, n = 0;

  out->recs = malloc((set->n + count) * sizeof(*out->recs));
  out->n = 0;
  if (!out->recs)
    return -ENOMEM;

  for (i = 0; i < set->n; i++) {
    const Record *rec = &set->recs[i];

    /* `all`: every record deeper than this rule's, inside its subnet, goes */
    if (all && rec->level > level && in_prefix(rec->start, prefix, bits, len))
      continue;
    out->recs[n++] = *rec;
  }

  /* the rule's records: 2^(level - len) consecutive ones, written over any that exist */
  for (j = 0; j < count; j++) {
    Record rec;

    rec.start = prefix;
    /* j fills the 1..3 bits between the prefix and the level (none for j = 0, whose
       level may be 0); they never straddle the 64-bit halves, as levels are multiples
       of 4 */
    if (j > 0 && bits - level >= 64)
      rec.start.hi |= (uint64_t) j << (bits - level - 64);
    else if (j > 0)
      rec.start.lo |= (uint64_t) j << (bits - level);
    rec.level = (uint8_t) level;
    rec.action = action;
    for (i = 0; i < n; i++) {
      if (out->recs[i].level == rec.level && addr_eq(out->recs[i].start, rec.start))
        break;
    }
    if (i < n)
      out->recs[i].action = action;
    else
      out->recs[n++] = rec;
  }
  out->n = n;
  return 0;
}

ACL_Table *ACL_Create(void)
{
  ACL_Table *t = calloc(1, sizeof(*t));
  int fam;

  if (!t)
    return NULL;
  for (fam = 0; fam < N_FAMS; fam++) {
    if (compile(&t->recs[fam], fam, &t->ranges[fam]) < 0) {
      ACL_Destroy(t);
      return NULL;
    }
  }
  return t;
}

void ACL_Destroy(ACL_Table *table)
{
  int fam;

  if (!table)
    return;
  for (fam = 0; fam < N_FAMS; fam++) {
    free(table->recs[fam].recs);
    free_ranges(&table->ranges[fam]);
  }
  free(table);
}

int ACL_AddRule(ACL_Table *table, ACL_Action action, int all, const char *subnet)
{
  RecordSet new_recs[N_FAMS] = { { NULL, 0 }, { NULL, 0 } };
  Ranges new_ranges[N_FAMS];
  int used[N_FAMS] = { 0, 0 };
  Addr prefix = { 0, 0 };
  int fam, len = 0, r;

  if (!table || (action != ACL_ALLOW && action != ACL_DENY))
    return -EINVAL;
  memset(new_ranges, 0, sizeof(new_ranges));

  if (!subnet || !*subnet) {
    /* no subnet: the whole of both families */
    used[FAM4] = used[FAM6] = 1;
  } else {
    r = parse_subnet(subnet, &fam, &prefix, &len);
    if (r < 0)
      return r;
    used[fam] = 1;
  }

  for (fam = 0; fam < N_FAMS; fam++) {
    if (!used[fam])
      continue;
    r = apply_rule(&table->recs[fam], fam, (uint8_t) action, all, prefix, len, &new_recs[fam]);
    if (r == 0)
      r = compile(&new_recs[fam], fam, &new_ranges[fam]);
    if (r < 0)
      goto fail;
  }
  for (fam = 0; fam < N_FAMS; fam++) {
    if (!used[fam])
      continue;
    free(table->recs[fam].recs);
    free_ranges(&table->ranges[fam]);
    table->recs[fam] = new_recs[fam];
    table->ranges[fam] = new_ranges[fam];
  }
  return 0;

fail:
  for (fam = 0; fam < N_FAMS; fam++) {
    free(new_recs[fam].recs);
    free_ranges(&new_ranges[fam]);
  }
  return r;
}

/* ---- lookups ------------------------------------------------------------------------- */

/* The last range start <= x. The half-interval search keeps start[lo] <= x and the
   answer inside [lo, lo + n): its only branch is a conditional move. */
static ACL_Action lookup4(const Ranges *r, uint32_t x)
{
  const uint32_t *start = r->start;
  size_t lo = 0, n = r->n;

  while (n > 1) {
    size_t half = n / 2;

    lo = start[lo + half] <= x ? lo + half : lo;
    n -= half;
  }
  return (ACL_Action) r->action[lo];
}

static ACL_Action lookup6(const Ranges *r, Addr x)
{
  const Addr *start = r->start;
  size_t lo = 0, n = r->n;

  while (n > 1) {
    size_t half = n / 2;

    lo = !addr_lt(x, start[lo + half]) ? lo + half : lo;
    n -= half;
  }
  return (ACL_Action) r->action[lo];
}

ACL_Action ACL_Check(const ACL_Table *table, const struct sockaddr *addr)
{
  if (!table || !addr)
    return ACL_DENY;

  switch (addr->sa_family) {
  case AF_INET: {
    const struct sockaddr_in *in = (const struct sockaddr_in *) addr;

    return lookup4(&table->ranges[FAM4], ntohl(in->sin_addr.s_addr));
  }
  case AF_INET6: {
    const uint8_t *b = ((const struct sockaddr_in6 *) addr)->sin6_addr.s6_addr;

    if (is_v4_mapped(b))
      return lookup4(&table->ranges[FAM4], get32(b + 12));
    return lookup6(&table->ranges[FAM6], addr_from_v6(b));
  }
  default:
    return ACL_DENY;
  }
}

int ACL_IsAnyAllowed(const ACL_Table *table, int family)
{
  const Ranges *r;
  size_t i;

  if (!table || (family != AF_INET && family != AF_INET6))
    return 0;
  r = &table->ranges[family == AF_INET ? FAM4 : FAM6];
  for (i = 0; i < r->n; i++) {
    if (r->action[i] == ACL_ALLOW)
      return 1;
  }
  return 0;
}
