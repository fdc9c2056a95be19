/* conf_table.c - every chrony.conf directive kairos knows: its status, its positional
   arguments and its named options with their types and ranges; and what a word of each
   type may be. Facts from chrony 4.5's chrony.conf(5); the kairos-only directives are
   named so that they cannot collide with chrony's. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/conf_table.h"
#include "engine/logging.h"

/* Parameter shorthands: one line per argument or option, e.g. { INT("stratum", 1, 15) } */
#define FLAG(n)        .name = (n), .type = CNF_T_FLAG
#define INT(n, lo, hi) .name = (n), .type = CNF_T_INT, .min = (lo), .max = (hi)
#define HEX(n, lo, hi) .name = (n), .type = CNF_T_HEX, .min = (lo), .max = (hi)
#define DBL(n, lo, hi) .name = (n), .type = CNF_T_DOUBLE, .min = (lo), .max = (hi)
#define WORD(n)        .name = (n), .type = CNF_T_WORD
#define PATH(n)        .name = (n), .type = CNF_T_PATH
#define ADDR(n)        .name = (n), .type = CNF_T_ADDR
#define ADDRPATH(n)    .name = (n), .type = CNF_T_ADDRPATH
#define SUBNET(n)      .name = (n), .type = CNF_T_SUBNET
#define ENUM(n, w)     .name = (n), .type = CNF_T_ENUM, .words = (w)
#define KEYWORD(n)     .name = (n), .type = CNF_T_KEYWORD
#define OPTIONAL       .flags = CNF_P_OPTIONAL
#define LIST           .flags = CNF_P_LIST
#define LIST1          .flags = CNF_P_LIST1
#define REPEAT         .flags = CNF_P_REPEAT
#define END            .name = NULL

#define INF     INFINITY
#define I32_MIN (-2147483648.0)
#define I32_MAX 2147483647.0
#define U32_MAX 4294967295.0

/* One argument of one type: the rows share these */
static const CNF_Param a_path[] = { { PATH("file") }, { END } };
static const CNF_Param a_dir[] = { { PATH("directory") }, { END } };
static const CNF_Param a_dirs[] = { { PATH("directory"), LIST1 }, { END } };
static const CNF_Param a_pattern[] = { { PATH("pattern") }, { END } };
static const CNF_Param a_host[] = { { WORD("hostname") }, { END } };
static const CNF_Param a_addr[] = { { ADDR("address") }, { END } };
static const CNF_Param a_iface[] = { { WORD("interface") }, { END } };
static const CNF_Param a_port[] = { { INT("port", 0, 65535) }, { END } };
static const CNF_Param a_nzport[] = { { INT("port", 1, 65535) }, { END } };
static const CNF_Param a_ppm[] = { { DBL("ppm", 0, INF) }, { END } };
static const CNF_Param a_seconds[] = { { DBL("seconds", 0, INF) }, { END } };
static const CNF_Param a_ratio[] = { { DBL("ratio", 0, INF) }, { END } };
static const CNF_Param a_interval[] = { { INT("interval", 0, I32_MAX) }, { END } };
static const CNF_Param a_subnet[] = { { KEYWORD("all"), OPTIONAL },
                                      { SUBNET("subnet"), OPTIONAL },
                                      { END } };

/* server, pool, peer: chrony 4.5's source options */
/* clang-format off */
#define SOURCE_OPTIONS                                          \
  { INT("minpoll", -7, 24) },                                   \
  { INT("maxpoll", -7, 24) },                                   \
  { FLAG("iburst") },                                           \
  { FLAG("burst") },                                            \
  { INT("key", 1, U32_MAX) },                                   \
  { DBL("maxdelay", 0, 1000) },                                 \
  { DBL("maxdelayratio", 0, INF) },                             \
  { DBL("maxdelaydevratio", 0, INF) },                          \
  { DBL("maxdelayquant", 0, 1) },                                \
  { DBL("mindelay", 0, 1000) },                                 \
  { DBL("asymmetry", -0.5, 0.5) },                              \
  { DBL("offset", -INF, INF) },                                 \
  { INT("minsamples", 0, I32_MAX) },                            \
  { INT("maxsamples", 0, I32_MAX) },                            \
  { INT("filter", 1, I32_MAX) },                                \
  { FLAG("offline") },                                          \
  { FLAG("auto_offline") },                                     \
  { FLAG("prefer") },                                           \
  { FLAG("noselect") },                                         \
  { FLAG("trust") },                                            \
  { FLAG("require") },                                          \
  { FLAG("xleave") },                                           \
  { INT("polltarget", 1, I32_MAX) },                            \
  { INT("port", 1, 65535) },                                    \
  { INT("presend", -7, 24) },                                   \
  { INT("minstratum", 0, 15) },                                 \
  { INT("version", 1, 4) },                                     \
  { FLAG("copy") },                                             \
  { HEX("extfield", 0, 0xffff), REPEAT },                       \
  { FLAG("nts") },                                              \
  { INT("ntsport", 1, 65535) },                                 \
  { INT("certset", 0, U32_MAX) }
/* clang-format on */

static const CNF_Param o_source[] = { SOURCE_OPTIONS, { END } };
static const CNF_Param o_pool[] = { SOURCE_OPTIONS, { INT("maxsources", 1, 16) }, { END } };

static const CNF_Param o_local[] = {
  { INT("stratum", 1, 15) },
  { FLAG("orphan") },
  { DBL("distance", 0, INF) },
  { DBL("activate", 0, INF) },
  { DBL("waitsynced", 0, INF) },
  { DBL("waitunsynced", 0, INF) },
  { END },
};

static const CNF_Param o_ratelimit[] = {
  { INT("interval", -19, 12) },
  { INT("burst", 1, 255) },
  { INT("leak", 1, 4) },
  { INT("kod", 0, 4) },
  { END },
};
/* ntsratelimit and cmdratelimit: as ratelimit without kod */
static const CNF_Param o_ratelimit_nokod[] = {
  { INT("interval", -19, 12) }, { INT("burst", 1, 255) }, { INT("leak", 1, 4) }, { END }
};

static const CNF_Param a_makestep[] = { { DBL("threshold", 0, INF) },
                                        { INT("limit", I32_MIN, I32_MAX) },
                                        { END } };
static const CNF_Param a_maxchange[] = {
  { DBL("offset", 0, INF) },
  { INT("start", 0, I32_MAX) },
  { INT("ignore", I32_MIN, I32_MAX) },
  { END },
};
static const CNF_Param a_fallbackdrift[] = { { INT("min-interval", 0, 30) },
                                             { INT("max-interval", 0, 30) },
                                             { END } };
static const CNF_Param a_log[] = {
  { ENUM("file", "rawmeasurements|measurements|selection|statistics|tracking|rtc|refclocks|"
                 "tempcomp"),
    LIST },
  { END },
};
static const CNF_Param a_leapsecmode[] = { { ENUM("mode", "system|step|slew|ignore") },
                                           { END } };
static const CNF_Param a_smoothtime[] = {
  { DBL("max-freq", 0, INF) },
  { DBL("max-wander", 0, INF) },
  { KEYWORD("leaponly"), OPTIONAL },
  { END },
};
static const CNF_Param a_authselectmode[] = { { ENUM("mode", "require|prefer|mix|ignore") },
                                              { END } };
static const CNF_Param a_initstepslew[] = { { DBL("threshold", 0, INF) },
                                            { WORD("hostname"), LIST },
                                            { END } };
static const CNF_Param a_bindcmdaddress[] = { { ADDRPATH("address") }, { END } };
static const CNF_Param a_ntstrustedcerts[] = { { INT("set-id", 0, U32_MAX), OPTIONAL },
                                               { PATH("file") },
                                               { END } };

static const CNF_Param a_clientloglimit[] = { { INT("limit", 0, 1e15) }, { END } };
static const CNF_Param a_dscp[] = { { INT("point", 0, 63) }, { END } };
static const CNF_Param a_minsources[] = { { INT("sources", 1, I32_MAX) }, { END } };
static const CNF_Param a_ntsprocesses[] = { { INT("processes", 0, 1000) }, { END } };
static const CNF_Param a_connections[] = { { INT("connections", 1, I32_MAX) }, { END } };
static const CNF_Param a_updates[] = { { INT("limit", 0, I32_MAX) }, { END } };
static const CNF_Param a_user[] = { { WORD("user") }, { END } };
static const CNF_Param a_timezone[] = { { WORD("timezone") }, { END } };
static const CNF_Param a_priority[] = { { INT("priority", 0, 100) }, { END } };

/* kairos-only */
static const CNF_Param a_serverthreads[] = { { INT("threads", 1, 1024) }, { END } };
static const CNF_Param a_serverio[] = { { ENUM("backend", "uring|mmsg") }, { END } };
static const CNF_Param a_prefix6[] = { { INT("bits", 1, 128) }, { END } };
static const CNF_Param a_metricsaddress[] = { { ADDR("address") },
                                              { INT("port", 1, 65535) },
                                              { END } };

/* clang-format off */
#define IMPLEMENTED(n, fl, a, o) { (n), CNF_IMPLEMENTED, (fl), (a), (o), NULL }
#define PARSED(n, fl, a, o)      { (n), CNF_PARSED, (fl), (a), (o), NULL }
#define UNSUPPORTED(n)           { (n), CNF_UNSUPPORTED, 0, NULL, NULL, NULL }
#define OBSOLETE(n)              { (n), CNF_OBSOLETE, 0, NULL, NULL, NULL }
#define ALIAS(n, of)             { (n), CNF_PARSED, 0, NULL, NULL, (of) }
/* clang-format on */

const CNF_Directive CNF_Directives[] = {
  /* configuration files */
  IMPLEMENTED("include", CNF_D_INCLUDE, a_pattern, NULL),
  IMPLEMENTED("confdir", CNF_D_CONFDIR, a_dirs, NULL),
  IMPLEMENTED("sourcedir", CNF_D_SOURCEDIR, a_dirs, NULL),

  /* time sources */
  PARSED("server", CNF_D_SOURCE, a_host, o_source),
  PARSED("pool", CNF_D_SOURCE, a_host, o_pool),
  PARSED("peer", CNF_D_SOURCE, a_host, o_source),
  PARSED("initstepslew", 0, a_initstepslew, NULL),
  PARSED("manual", 0, NULL, NULL),
  PARSED("dumpdir", 0, a_dir, NULL),
  PARSED("ntsdumpdir", 0, a_dir, NULL),
  ALIAS("ntscachedir", "ntsdumpdir"),
  PARSED("ntsrefresh", 0, a_interval, NULL),
  PARSED("ntstrustedcerts", 0, a_ntstrustedcerts, NULL),
  PARSED("nosystemcert", 0, NULL, NULL),
  PARSED("nocerttimecheck", 0, a_updates, NULL),

  /* source selection */
  PARSED("authselectmode", 0, a_authselectmode, NULL),
  PARSED("combinelimit", 0, a_ratio, NULL),
  PARSED("maxdistance", 0, a_seconds, NULL),
  PARSED("maxjitter", 0, a_seconds, NULL),
  PARSED("minsources", 0, a_minsources, NULL),
  PARSED("reselectdist", 0, a_seconds, NULL),
  PARSED("stratumweight", 0, a_seconds, NULL),

  /* system clock */
  PARSED("corrtimeratio", 0, a_ratio, NULL),
  PARSED("driftfile", 0, a_path, NULL),
  PARSED("fallbackdrift", 0, a_fallbackdrift, NULL),
  PARSED("leapsecmode", 0, a_leapsecmode, NULL),
  PARSED("leapsectz", 0, a_timezone, NULL),
  PARSED("leapseclist", 0, a_path, NULL),
  PARSED("makestep", 0, a_makestep, NULL),
  PARSED("maxchange", 0, a_maxchange, NULL),
  PARSED("maxclockerror", 0, a_ppm, NULL),
  PARSED("maxdrift", 0, a_ppm, NULL),
  PARSED("maxupdateskew", 0, a_ppm, NULL),
  PARSED("maxslewrate", 0, a_ppm, NULL),

  /* NTP server */
  IMPLEMENTED("allow", 0, a_subnet, NULL),
  IMPLEMENTED("deny", 0, a_subnet, NULL),
  IMPLEMENTED("bindaddress", 0, a_addr, NULL),
  IMPLEMENTED("binddevice", 0, a_iface, NULL),
  IMPLEMENTED("clientloglimit", 0, a_clientloglimit, NULL),
  IMPLEMENTED("noclientlog", 0, NULL, NULL),
  IMPLEMENTED("local", 0, NULL, o_local),
  PARSED("ntsport", 0, a_nzport, NULL),
  PARSED("ntsservercert", 0, a_path, NULL),
  PARSED("ntsserverkey", 0, a_path, NULL),
  PARSED("ntsprocesses", 0, a_ntsprocesses, NULL),
  PARSED("maxntsconnections", 0, a_connections, NULL),
  PARSED("ntsntpserver", 0, a_host, NULL),
  PARSED("ntsrotate", 0, a_interval, NULL),
  IMPLEMENTED("port", 0, a_port, NULL),
  IMPLEMENTED("ratelimit", 0, NULL, o_ratelimit),
  PARSED("ntsratelimit", 0, NULL, o_ratelimit_nokod),
  PARSED("smoothtime", 0, a_smoothtime, NULL),
  IMPLEMENTED("dscp", 0, a_dscp, NULL),

  /* command and monitoring access */
  PARSED("bindcmdaddress", 0, a_bindcmdaddress, NULL),
  PARSED("cmdallow", 0, a_subnet, NULL),
  PARSED("cmddeny", 0, a_subnet, NULL),
  PARSED("cmdport", 0, a_port, NULL),
  PARSED("cmdratelimit", 0, NULL, o_ratelimit_nokod),

  /* RTC */
  PARSED("rtcsync", 0, NULL, NULL),

  /* logging */
  PARSED("log", 0, a_log, NULL),
  PARSED("logchange", 0, a_seconds, NULL),
  PARSED("logdir", 0, a_dir, NULL),

  /* miscellaneous */
  PARSED("keyfile", 0, a_path, NULL),
  PARSED("lock_all", 0, NULL, NULL),
  IMPLEMENTED("pidfile", 0, a_path, NULL),
  PARSED("sched_priority", 0, a_priority, NULL),
  PARSED("user", 0, a_user, NULL),

  /* kairos-only */
  IMPLEMENTED("serverthreads", 0, a_serverthreads, NULL),
  IMPLEMENTED("serverio", 0, a_serverio, NULL),
  IMPLEMENTED("ratelimitprefix6", 0, a_prefix6, NULL),
  PARSED("metricsaddress", 0, a_metricsaddress, NULL),

  /* the rest of chrony's directives (a few of them documented only after 4.5) */
  UNSUPPORTED("acquisitionport"),
  UNSUPPORTED("bindacqaddress"),
  UNSUPPORTED("bindacqdevice"),
  UNSUPPORTED("bindcmddevice"),
  UNSUPPORTED("broadcast"),
  UNSUPPORTED("clockprecision"),
  UNSUPPORTED("hwclockfile"),
  UNSUPPORTED("hwtimestamp"),
  UNSUPPORTED("hwtstimeout"),
  UNSUPPORTED("logbanner"),
  UNSUPPORTED("mailonchange"),
  UNSUPPORTED("maxsamples"),
  UNSUPPORTED("maxstratum"),
  UNSUPPORTED("maxtxbuffers"),
  UNSUPPORTED("minsamples"),
  UNSUPPORTED("minstratum"),
  UNSUPPORTED("ntpsigndsocket"),
  UNSUPPORTED("ntsaeads"),
  UNSUPPORTED("opencommands"),
  UNSUPPORTED("ptpdomain"),
  UNSUPPORTED("ptpport"),
  /* allowed in sourcedir files, where it meets the same error */
  { "refclock", CNF_UNSUPPORTED, CNF_D_SOURCE, NULL, NULL, NULL },
  UNSUPPORTED("refresh"),
  UNSUPPORTED("rtcautotrim"),
  UNSUPPORTED("rtcdevice"),
  UNSUPPORTED("rtcfile"),
  UNSUPPORTED("rtconutc"),
  UNSUPPORTED("tempcomp"),

  /* chronyd no longer acts on these (it warns about most of them) */
  OBSOLETE("commandkey"),
  OBSOLETE("dumponexit"),
  OBSOLETE("generatecommandkey"),
  OBSOLETE("linux_freq_scale"),
  OBSOLETE("linux_hz"),
};

const int CNF_DirectiveCount = sizeof(CNF_Directives) / sizeof(CNF_Directives[0]);

const CNF_Directive *CNF_FindDirective(const char *name)
{
  int i;

  for (i = 0; i < CNF_DirectiveCount; i++) {
    if (strcasecmp(CNF_Directives[i].name, name))
      continue;
    if (CNF_Directives[i].alias_of)
      return CNF_FindDirective(CNF_Directives[i].alias_of);
    return &CNF_Directives[i];
  }
  return NULL;
}

/* ================================================== */
/* What a word of each type means */

/* Allocation for the parser: out of memory while reading the configuration is fatal. */
void *CNF_XMalloc(size_t size)
{
  void *p = malloc(size ? size : 1);

  if (!p) {
    LOG(LOGS_FATAL, "configuration: out of memory");
    abort();
  }
  return p;
}

char *CNF_XStrdup(const char *s)
{
  size_t len = strlen(s) + 1;

  return memcpy(CNF_XMalloc(len), s, len);
}

/* The shortest of %.15g and %.17g that reads back as the same double */
static char *format_double(double d)
{
  char buf[40];

  snprintf(buf, sizeof(buf), "%.15g", d);
  if (strtod(buf, NULL) != d)
    snprintf(buf, sizeof(buf), "%.17g", d);
  return CNF_XStrdup(buf);
}

static int parse_long(const char *word, int base, long *result)
{
  char *end;

  /* strtol would skip blanks and take a sign or a 0x of its own */
  if (base == 16 && (word[0] == '0' && (word[1] == 'x' || word[1] == 'X')))
    word += 2;
  if (!*word || (base == 16 && (*word == '-' || *word == '+')))
    return -1;
  errno = 0;
  *result = strtol(word, &end, base);
  return errno || *end ? -1 : 0;
}

static int canonical_address(const char *s, char *out, size_t len, int *family)
{
  unsigned char addr[16];

  if (inet_pton(AF_INET, s, addr) == 1)
    *family = AF_INET;
  else if (inet_pton(AF_INET6, s, addr) == 1)
    *family = AF_INET6;
  else
    return -1;
  return inet_ntop(*family, addr, out, (socklen_t) len) ? 0 : -1;
}

static int is_host_name(const char *s)
{
  size_t n = strlen(s);

  if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
    return 0;
  return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == n;
}

/* chrony's IPv4 short form: 1 to 4 dotted decimal octets, the prefix length being 8 bits
   per octet given ("allow 10" is 10.0.0.0/8) */
static int parse_short_ipv4(const char *s, char *out, size_t len, int *bits)
{
  unsigned long octet[4] = { 0, 0, 0, 0 };
  int n = 0;

  for (;;) {
    size_t digits = strspn(s, "0123456789");

    if (digits < 1 || digits > 3 || n >= 4)
      return -1;
    octet[n] = strtoul(s, NULL, 10);
    if (octet[n++] > 255)
      return -1;
    s += digits;
    if (!*s)
      break;
    if (*s++ != '.')
      return -1;
  }
  *bits = 8 * n;
  snprintf(out, len, "%lu.%lu.%lu.%lu", octet[0], octet[1], octet[2], octet[3]);
  return 0;
}

/* address[/bits], chrony's short IPv4 form, or a host name, kept as address/bits */
static char *parse_subnet(const char *word)
{
  char addr[64], canon[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];
  const char *slash = strchr(word, '/');
  size_t len = slash ? (size_t) (slash - word) : strlen(word);
  int family, bits, max_bits;
  long given = -1;

  if (len == 0 || len >= sizeof(addr))
    return NULL;
  memcpy(addr, word, len);
  addr[len] = '\0';
  if (slash && (strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
                parse_long(slash + 1, 10, &given)))
    return NULL;

  if (strchr(addr, ':')) {
    if (canonical_address(addr, canon, sizeof(canon), &family) || family != AF_INET6)
      return NULL;
    bits = max_bits = 128;
  } else if (strspn(addr, "0123456789.") == len) {
    if (parse_short_ipv4(addr, canon, sizeof(canon), &bits))
      return NULL;
    max_bits = 32;
  } else {
    /* chrony resolves a host name once at start; no prefix length after it */
    return !slash && is_host_name(addr) ? CNF_XStrdup(addr) : NULL;
  }
  if (given > max_bits)
    return NULL;
  snprintf(buf, sizeof(buf), "%s/%d", canon, given >= 0 ? (int) given : bits);
  return CNF_XStrdup(buf);
}

/* The words of an enum's "a|b|c" list: the canonical spelling of `word`, or NULL */
static char *match_enum(const char *words, const char *word)
{
  size_t len = strlen(word);
  const char *w = words;

  while (*w) {
    size_t n = strcspn(w, "|");

    if (n == len && !strncasecmp(w, word, n)) {
      char *s = CNF_XMalloc(n + 1);

      memcpy(s, w, n);
      s[n] = '\0';
      return s;
    }
    w += n + (w[n] == '|');
  }
  return NULL;
}

/* Check one word against its parameter; 0 and v filled in, or -1 */
int CNF_ParseValue(const CNF_Param *p, const char *word, CNF_Value *v)
{
  char canon[INET6_ADDRSTRLEN], buf[32];
  int family;

  memset(v, 0, sizeof(*v));
  switch (p->type) {
  case CNF_T_INT:
  case CNF_T_HEX:
    if (parse_long(word, p->type == CNF_T_HEX ? 16 : 10, &v->i) || v->i < p->min ||
        v->i > p->max)
      return -1;
    snprintf(buf, sizeof(buf), p->type == CNF_T_HEX ? "%lX" : "%ld", v->i);
    v->text = CNF_XStrdup(buf);
    v->d = (double) v->i;
    break;
  case CNF_T_DOUBLE: {
    char *end;

    v->d = strtod(word, &end);
    if (end == word || *end || !isfinite(v->d) || v->d < p->min || v->d > p->max)
      return -1;
    v->text = format_double(v->d);
    v->i = (long) v->d;
    break;
  }
  case CNF_T_ADDRPATH:
    if (word[0] == '/') {
      v->text = CNF_XStrdup(word);
      break;
    }
    /* fall through */
  case CNF_T_ADDR:
    if (canonical_address(word, canon, sizeof(canon), &family))
      return -1;
    v->text = CNF_XStrdup(canon);
    break;
  case CNF_T_SUBNET:
    v->text = parse_subnet(word);
    if (!v->text)
      return -1;
    break;
  case CNF_T_ENUM:
    v->text = match_enum(p->words, word);
    if (!v->text)
      return -1;
    break;
  case CNF_T_KEYWORD:
    if (strcasecmp(word, p->name))
      return -1;
    v->text = CNF_XStrdup(p->name);
    break;
  case CNF_T_WORD:
  case CNF_T_PATH:
    v->text = CNF_XStrdup(word);
    break;
  case CNF_T_FLAG:
    v->i = 1;
    v->d = 1.0;
    break;
  }
  v->present = 1;
  return 0;
}

/* What a parameter expects, for messages: "an integer in -7..24" */
const char *CNF_DescribeParam(const CNF_Param *p, char *buf, size_t len)
{
  switch (p->type) {
  case CNF_T_INT:
    snprintf(buf, len, "an integer in %.0f..%.0f", p->min, p->max);
    break;
  case CNF_T_HEX:
    snprintf(buf, len, "a hexadecimal number in %lX..%lX", (long) p->min, (long) p->max);
    break;
  case CNF_T_DOUBLE:
    if (isinf(p->min) && isinf(p->max))
      snprintf(buf, len, "a number");
    else if (isinf(p->max))
      snprintf(buf, len, "a number >= %g", p->min);
    else
      snprintf(buf, len, "a number in %g..%g", p->min, p->max);
    break;
  case CNF_T_ADDR:
    snprintf(buf, len, "an IP address");
    break;
  case CNF_T_ADDRPATH:
    snprintf(buf, len, "an IP address or an absolute path");
    break;
  case CNF_T_SUBNET:
    snprintf(buf, len, "an address, a subnet (address/bits) or a host name");
    break;
  case CNF_T_ENUM:
    snprintf(buf, len, "one of %s", p->words);
    break;
  case CNF_T_KEYWORD:
    snprintf(buf, len, "'%s'", p->name);
    break;
  case CNF_T_WORD:
  case CNF_T_PATH:
  case CNF_T_FLAG:
    snprintf(buf, len, "a word");
    break;
  }
  return buf;
}

static void upper_name(const char *name, char *buf, size_t len)
{
  size_t i;

  for (i = 0; name[i] && i + 1 < len; i++)
    buf[i] = name[i] >= 'a' && name[i] <= 'z' ? (char) (name[i] - 'a' + 'A') : name[i];
  buf[i] = '\0';
}

/* "makestep THRESHOLD LIMIT", "server HOSTNAME [OPTION]...", "local [stratum STRATUM]..." */
const char *CNF_Usage(const CNF_Directive *d, char *buf, size_t len)
{
  const CNF_Param *p;
  size_t n = 0;
  int count = 0;

#define APPEND(...)                                                                           \
  do {                                                                                        \
    if (n < len)                                                                              \
      n += (size_t) snprintf(buf + n, len - n, __VA_ARGS__);                                  \
  } while (0)

  APPEND("%s", d->name);
  for (p = d->args; p && p->name; p++) {
    char name[64];

    if (p->type == CNF_T_ENUM)
      snprintf(name, sizeof(name), "%s", p->words);
    else if (p->type == CNF_T_KEYWORD)
      snprintf(name, sizeof(name), "%s", p->name);
    else
      upper_name(p->name, name, sizeof(name));
    if (p->flags & CNF_P_LIST)
      APPEND(" [%s]...", name);
    else if (p->flags & CNF_P_LIST1)
      APPEND(" %s...", name);
    else if (p->flags & CNF_P_OPTIONAL)
      APPEND(" [%s]", name);
    else
      APPEND(" %s", name);
  }
  for (p = d->opts; p && p->name; p++)
    count++;
  for (p = d->opts; count <= 6 && p && p->name; p++) {
    char name[64];

    upper_name(p->name, name, sizeof(name));
    if (p->type == CNF_T_FLAG)
      APPEND(" [%s]", p->name);
    else
      APPEND(" [%s %s]", p->name, p->type == CNF_T_ENUM ? p->words : name);
  }
  if (count > 6)
    APPEND(" [OPTION]...");
#undef APPEND
  return buf;
}
