/* conf_table.h - the one table of chrony.conf directives and the checks of its value types
   (conf_table.c), shared by the parser (conf.c) and its tests. The table is read-only
   data; the functions keep no state. */
#ifndef KAIROS_CONF_TABLE_H
#define KAIROS_CONF_TABLE_H

#include <stddef.h>

typedef enum {
  CNF_T_FLAG,     /* option without a value */
  CNF_T_INT,      /* decimal integer in [min, max] */
  CNF_T_HEX,      /* hexadecimal integer in [min, max], optional 0x */
  CNF_T_DOUBLE,   /* finite number in [min, max] */
  CNF_T_WORD,     /* any word (host name, user, interface, time zone) */
  CNF_T_PATH,     /* a file or directory path */
  CNF_T_ADDR,     /* an IPv4 or IPv6 address */
  CNF_T_ADDRPATH, /* an IP address, or an absolute path of a Unix socket */
  CNF_T_SUBNET,   /* allow/deny: address[/bits], chrony's short 10.1 form, or a host name */
  CNF_T_ENUM,     /* one of the words in `words` ("a|b|c") */
  CNF_T_KEYWORD,  /* the literal `name` itself (only as an optional argument) */
} CNF_Type;

/* Parameter flags. An optional argument that is not a keyword is taken only when more
   words remain than the required arguments after it need. */
#define CNF_P_OPTIONAL 0x1 /* argument may be left out */
#define CNF_P_LIST     0x2 /* argument takes every remaining word (zero or more) */
#define CNF_P_LIST1    0x4 /* argument takes every remaining word (one or more) */
#define CNF_P_REPEAT   0x8 /* option may be given more than once on a line */

/* A positional argument or a named option. */
typedef struct {
  const char *name;
  CNF_Type type;
  unsigned flags;
  double min, max;   /* CNF_T_INT, CNF_T_HEX, CNF_T_DOUBLE */
  const char *words; /* CNF_T_ENUM */
} CNF_Param;

typedef enum {
  CNF_IMPLEMENTED, /* kairosd acts on it */
  CNF_PARSED,      /* syntax known; rejected at daemon start by CNF_CheckImplemented */
  CNF_UNSUPPORTED, /* name only; an error wherever it is parsed */
  CNF_OBSOLETE,    /* dropped by chrony too: a warning, and the line is ignored */
} CNF_Status;

/* Directive flags */
#define CNF_D_SOURCE    0x1 /* allowed in a sourcedir *.sources file */
#define CNF_D_INCLUDE   0x2 /* include PATTERN */
#define CNF_D_CONFDIR   0x4 /* confdir DIR... */
#define CNF_D_SOURCEDIR 0x8 /* sourcedir DIR... */

typedef struct {
  const char *name;
  CNF_Status status;
  unsigned flags;
  const CNF_Param *args; /* positional, ended by a NULL name; NULL for none */
  const CNF_Param *opts; /* named options, ended by a NULL name; NULL for none */
  const char *alias_of;  /* another name of that directive, stored under its name */
} CNF_Directive;

/* A value checked against its parameter */
typedef struct {
  char *text; /* canonical form, as printed (malloc'd); NULL for a flag */
  long i;
  double d;
  int present;
} CNF_Value;

extern const CNF_Directive CNF_Directives[];
extern const int CNF_DirectiveCount;

/* The row of a directive name (case-insensitive, as chrony), aliases resolved to the
   row they stand for; NULL if unknown. */
const CNF_Directive *CNF_FindDirective(const char *name);

/* Check one word against its parameter: 0 with v filled in (free v->text), or -1. */
int CNF_ParseValue(const CNF_Param *param, const char *word, CNF_Value *v);
/* What a parameter expects, for messages: "an integer in -7..24" */
const char *CNF_DescribeParam(const CNF_Param *param, char *buf, size_t len);
/* A directive's syntax, for messages: "makestep THRESHOLD LIMIT" */
const char *CNF_Usage(const CNF_Directive *d, char *buf, size_t len);

/* Allocation for the parser (conf.c and conf_table.c): aborts with a log line when
   memory runs out while reading the configuration. */
void *CNF_XMalloc(size_t size);
char *CNF_XStrdup(const char *s);

#endif
