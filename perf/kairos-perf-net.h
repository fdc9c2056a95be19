/* kairos-perf-net.h - kairos-perf's addresses and sockets: the source address of each
   simulated client, the pool of wildcard-bound sockets with kernel timestamping, and the
   control messages that set a packet's source address and carry its timestamps.
   Setup runs on the main thread before the load starts; the rest is pure. */
#ifndef KAIROS_PERF_NET_H
#define KAIROS_PERF_NET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  struct sockaddr_storage ss;
} PNT_Addr;

/* The source addresses of the simulated clients. IPv4: `count` distinct addresses spread
   evenly over 127.0.0.1 .. 127.255.255.254. IPv6: ::1, a list, or a prefix. */
typedef struct {
  int family;
  uint32_t count; /* distinct addresses */
  struct in6_addr *list;
  uint32_t list_len;
  struct in6_addr prefix; /* with have_prefix: client i is prefix + i + 1 */
  int have_prefix;
} PNT_Clients;

/* Parse an IPv4 or IPv6 address (brackets allowed around IPv6). Returns 0 or -EINVAL. */
int PNT_ParseAddr(const char *text, unsigned int port, PNT_Addr *a, socklen_t *len);

/* Returns 0, or -EINVAL after printing why to stderr. src6 may be NULL. */
int PNT_ClientsInit(PNT_Clients *c, int family, uint32_t count, const char *src6);
void PNT_ClientsFree(PNT_Clients *c);

/* Client i's IPv4 address (network order) / IPv6 address (i < count) */
uint32_t PNT_ClientV4(const PNT_Clients *c, uint32_t i);
void PNT_ClientV6(const PNT_Clients *c, uint32_t i, struct in6_addr *out);

/* What PNT_OpenSocket managed to enable */
enum { PNT_TS_NONE = 0, PNT_TS_RX = 1, PNT_TS_RX_TX = 2 };

/* A non-blocking UDP socket bound to the wildcard address and a kernel-chosen (random)
   ephemeral port, with destination-address reporting and the best timestamping the
   kernel gives (`*ts` says which). freebind lets IPv6 sources be non-local addresses
   of an AnyIP route. Returns the fd or -errno. */
int PNT_OpenSocket(int family, int want_txstamp, int freebind, int *ts);

/* Room for one source-address control message */
#define PNT_SRC_CMSG_SPACE CMSG_SPACE(sizeof(struct in6_pktinfo))

/* Write the control message that sends a packet from client i. Returns its length. */
size_t PNT_PutSource(const PNT_Clients *c, uint32_t i, void *buf);

/* Control messages of a received packet or error-queue message */
typedef struct {
  int have_dst;
  struct in6_addr dst6;
  uint32_t dst4;  /* network order */
  uint64_t ts_ns; /* kernel software timestamp (RX, or TX on the error queue); 0 = none */
  int tx_stamp;   /* an error-queue message carrying a TX timestamp */
} PNT_CmsgInfo;

void PNT_ParseCmsgs(struct msghdr *msg, PNT_CmsgInfo *info);

/* Is this the address of client i? */
int PNT_IsClient(const PNT_Clients *c, uint32_t i, const PNT_CmsgInfo *info);

/* Same address and port */
int PNT_SameAddr(const PNT_Addr *a, const PNT_Addr *b);

/* Address without port, for messages */
const char *PNT_AddrToString(const PNT_Addr *a, char *buf, size_t len);

#endif
