/* kairos-perf-net.c - addresses, sockets and control messages (see kairos-perf-net.h). */
#include "perf/kairos-perf-net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Addresses 127.0.0.1 .. 127.255.255.254: 127.0.0.0 is the network and 127.255.255.255
   the broadcast address of lo */
#define V4_HOSTS 16777214U

#define SOCK_BUF (4 * 1024 * 1024)

int PNT_ParseAddr(const char *text, unsigned int port, PNT_Addr *a, socklen_t *len)
{
  char buf[INET6_ADDRSTRLEN + 2];
  size_t n = strlen(text);

  memset(a, 0, sizeof(*a));
  if (inet_pton(AF_INET, text, &a->in4.sin_addr) == 1) {
    a->in4.sin_family = AF_INET;
    a->in4.sin_port = htons((uint16_t) port);
    *len = sizeof(a->in4);
    return 0;
  }
  if (n >= 2 && text[0] == '[' && text[n - 1] == ']' && n - 2 < sizeof(buf)) {
    memcpy(buf, text + 1, n - 2);
    buf[n - 2] = '\0';
    text = buf;
  }
  if (inet_pton(AF_INET6, text, &a->in6.sin6_addr) == 1) {
    a->in6.sin6_family = AF_INET6;
    a->in6.sin6_port = htons((uint16_t) port);
    *len = sizeof(a->in6);
    return 0;
  }
  return -EINVAL;
}

static int parse_src6(PNT_Clients *c, const char *src6)
{
  char *copy = strdup(src6), *tok, *save = NULL, *slash;
  uint32_t n = 1;
  const char *p;
  long plen;
  int ret = -EINVAL;

  if (!copy)
    return -ENOMEM;
  for (p = src6; *p; p++)
    n += *p == ',';
  slash = strchr(copy, '/');
  if (slash) {
    /* One prefix: the client index goes into the low 32 bits */
    *slash = '\0';
    plen = strtol(slash + 1, NULL, 10);
    if (n != 1 || plen < 8 || plen > 120 || inet_pton(AF_INET6, copy, &c->prefix) != 1) {
      fprintf(stderr, "kairos-perf: --src6: expected ADDR/LEN (LEN 8..120) or a list\n");
      goto out;
    }
    if (plen > 96 && (uint64_t) c->count + 2 > (uint64_t) 1 << (128 - plen)) {
      fprintf(stderr, "kairos-perf: --src6: a /%ld holds fewer than %u clients\n", plen,
              c->count);
      goto out;
    }
    c->have_prefix = 1;
    ret = 0;
    goto out;
  }
  c->list = calloc(n, sizeof(struct in6_addr));
  if (!c->list) {
    ret = -ENOMEM;
    goto out;
  }
  for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (inet_pton(AF_INET6, tok, &c->list[c->list_len]) != 1) {
      fprintf(stderr, "kairos-perf: --src6: bad IPv6 address '%s'\n", tok);
      goto out;
    }
    c->list_len++;
  }
  if (c->list_len == 0)
    goto out;
  if (c->count > c->list_len)
    c->count = c->list_len;
  ret = 0;
out:
  free(copy);
  return ret;
}

int PNT_ClientsInit(PNT_Clients *c, int family, uint32_t count, const char *src6)
{
  memset(c, 0, sizeof(*c));
  c->family = family;
  c->count = count ? count : 1;
  if (family == AF_INET) {
    if (c->count > V4_HOSTS) {
      fprintf(stderr, "kairos-perf: at most %u IPv4 clients (127.0.0.0/8)\n", V4_HOSTS);
      return -EINVAL;
    }
    return 0;
  }
  if (!src6) {
    /* Without extra local addresses every IPv6 client is ::1 */
    c->list = calloc(1, sizeof(struct in6_addr));
    if (!c->list)
      return -ENOMEM;
    c->list[0] = in6addr_loopback;
    c->list_len = 1;
    c->count = 1;
    return 0;
  }
  return parse_src6(c, src6);
}

void PNT_ClientsFree(PNT_Clients *c)
{
  free(c->list);
  c->list = NULL;
}

uint32_t PNT_ClientV4(const PNT_Clients *c, uint32_t i)
{
  uint32_t host = 1 + (uint32_t) (((uint64_t) i * V4_HOSTS) / c->count);

  return htonl(0x7f000000U | host);
}

void PNT_ClientV6(const PNT_Clients *c, uint32_t i, struct in6_addr *out)
{
  uint32_t low;

  if (!c->have_prefix) {
    *out = c->list[i % c->list_len];
    return;
  }
  *out = c->prefix;
  memcpy(&low, &out->s6_addr[12], 4);
  low = htonl(ntohl(low) + i + 1);
  memcpy(&out->s6_addr[12], &low, 4);
}

int PNT_OpenSocket(int family, int want_txstamp, int freebind, int *ts)
{
  int fd, one = 1, size = SOCK_BUF, flags, ret;
  PNT_Addr a;
  socklen_t len;

  fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  memset(&a, 0, sizeof(a));
  if (family == AF_INET) {
    a.in4.sin_family = AF_INET;
    len = sizeof(a.in4);
    ret = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
  } else {
    a.in6.sin6_family = AF_INET6;
    len = sizeof(a.in6);
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    ret = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    if (ret == 0 && freebind)
      ret = setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
  }
  if (ret < 0 || bind(fd, &a.sa, len) < 0)
    goto fail;

  /* Deep buffers: replies and TX timestamps share the receive buffer, and a burst of
     replies must not be lost in our socket rather than by the server. FORCE needs
     CAP_NET_ADMIN; without it the sysctl maximum applies. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));

  /* TX stamps come back on the error queue with a copy of the packet (no OPT_TSONLY),
     whose transmit timestamp identifies the request: no OPT_ID counter to keep in step
     with sendmmsg's partial sends. */
  flags = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE;
  if (want_txstamp &&
      setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING,
                 &(int){ flags | SOF_TIMESTAMPING_TX_SOFTWARE }, sizeof(int)) == 0)
    *ts = PNT_TS_RX_TX;
  else if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) == 0 ||
           setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) == 0)
    *ts = PNT_TS_RX;
  else
    *ts = PNT_TS_NONE;
  return fd;
fail:
  ret = -errno;
  close(fd);
  return ret;
}

size_t PNT_PutSource(const PNT_Clients *c, uint32_t i, void *buf)
{
  struct msghdr m;
  struct cmsghdr *cm;

  /* CMSG_FIRSTHDR needs a msghdr around the buffer */
  memset(&m, 0, sizeof(m));
  m.msg_control = buf;
  m.msg_controllen = PNT_SRC_CMSG_SPACE;
  cm = CMSG_FIRSTHDR(&m);
  memset(buf, 0, PNT_SRC_CMSG_SPACE);
  if (c->family == AF_INET) {
    struct in_pktinfo pi;

    memset(&pi, 0, sizeof(pi));
    pi.ipi_spec_dst.s_addr = PNT_ClientV4(c, i);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
    return CMSG_SPACE(sizeof(pi));
  } else {
    struct in6_pktinfo pi;

    memset(&pi, 0, sizeof(pi));
    PNT_ClientV6(c, i, &pi.ipi6_addr);
    cm->cmsg_level = IPPROTO_IPV6;
    cm->cmsg_type = IPV6_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
    return CMSG_SPACE(sizeof(pi));
  }
}

void PNT_ParseCmsgs(struct msghdr *msg, PNT_CmsgInfo *info)
{
  struct cmsghdr *cm;

  memset(info, 0, sizeof(*info));
  for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMPING &&
        cm->cmsg_len >= CMSG_LEN(sizeof(struct scm_timestamping))) {
      struct scm_timestamping st;

      memcpy(&st, CMSG_DATA(cm), sizeof(st));
      if (st.ts[0].tv_sec || st.ts[0].tv_nsec)
        info->ts_ns = (uint64_t) st.ts[0].tv_sec * 1000000000U + (uint64_t) st.ts[0].tv_nsec;
    } else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMPNS &&
               cm->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
      struct timespec t;

      memcpy(&t, CMSG_DATA(cm), sizeof(t));
      info->ts_ns = (uint64_t) t.tv_sec * 1000000000U + (uint64_t) t.tv_nsec;
    } else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
               cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
      struct in_pktinfo pi;

      memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
      info->dst4 = pi.ipi_addr.s_addr;
      info->have_dst = 1;
    } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
               cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
      struct in6_pktinfo pi;

      memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
      info->dst6 = pi.ipi6_addr;
      info->have_dst = 1;
    } else if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR) ||
               (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR)) {
      struct sock_extended_err ee;

      if (cm->cmsg_len < CMSG_LEN(sizeof(ee)))
        continue;
      memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
      if (ee.ee_errno == ENOMSG && ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING &&
          ee.ee_info == SCM_TSTAMP_SND)
        info->tx_stamp = 1;
    }
  }
}

int PNT_IsClient(const PNT_Clients *c, uint32_t i, const PNT_CmsgInfo *info)
{
  struct in6_addr a6;

  if (!info->have_dst)
    return 0;
  if (c->family == AF_INET)
    return info->dst4 == PNT_ClientV4(c, i);
  PNT_ClientV6(c, i, &a6);
  return memcmp(&a6, &info->dst6, sizeof(a6)) == 0;
}

int PNT_SameAddr(const PNT_Addr *a, const PNT_Addr *b)
{
  if (a->sa.sa_family != b->sa.sa_family)
    return 0;
  if (a->sa.sa_family == AF_INET)
    return a->in4.sin_port == b->in4.sin_port &&
           a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
  return a->in6.sin6_port == b->in6.sin6_port &&
         memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(struct in6_addr)) == 0;
}

const char *PNT_AddrToString(const PNT_Addr *a, char *buf, size_t len)
{
  const void *p = a->sa.sa_family == AF_INET ? (const void *) &a->in4.sin_addr
                                             : (const void *) &a->in6.sin6_addr;

  if (!inet_ntop(a->sa.sa_family, p, buf, (socklen_t) len))
    snprintf(buf, len, "?");
  return buf;
}
