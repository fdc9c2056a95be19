/* acl.h - NTP access rules from `allow` and `deny` with chrony's meaning: the most
   specific matching subnet decides, later rules override earlier ones for the same subnet,
   and the `all` variants override every more specific rule inside their subnet.
   Built on the engine thread; a built table is immutable and any thread may call
   ACL_Check on it (workers on the request path: no locks, no allocation). */
#ifndef KAIROS_ACL_H
#define KAIROS_ACL_H

#include <stdint.h>
#include <sys/socket.h>

typedef struct ACL_Table_Record ACL_Table;

typedef enum { ACL_DENY = 0, ACL_ALLOW = 1 } ACL_Action;

/* A new table that denies everything. NULL on allocation failure. */
ACL_Table *ACL_Create(void);
void ACL_Destroy(ACL_Table *table);

/* Add a rule in configuration order. `subnet` is what the config parser stores: NULL or
   "" for every address (IPv4 and IPv6), "A.B.C.D/N", an IPv6 "X::Y/N", or a bare address
   (/32 or /128); bits after the prefix length are ignored. A host name is resolved here,
   once, and its first address used, as chrony does (so call this at startup only). An
   IPv6 subnet inside ::ffff:0:0/96 is taken as the IPv4 subnet it maps. `all` is 1 for
   `allow all`/`deny all`. Returns 0, -EINVAL (not a subnet), -ENOENT (a name that does
   not resolve) or -ENOMEM; the table is unchanged on error. Engine thread, before the
   table is shared. */
int ACL_AddRule(ACL_Table *table, ACL_Action action, int all, const char *subnet);

/* Decide for a client address (AF_INET, AF_INET6; IPv4-mapped IPv6 addresses are checked
   as IPv4). Anything else is denied. */
ACL_Action ACL_Check(const ACL_Table *table, const struct sockaddr *addr);

/* 1 if some address of the family (AF_INET, AF_INET6) is allowed, e.g. to decide which
   server sockets to open; IPv4-mapped addresses count as AF_INET. */
int ACL_IsAnyAllowed(const ACL_Table *table, int family);

#endif
