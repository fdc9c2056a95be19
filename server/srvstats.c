/* srvstats.c - summing and logging the server's per-worker counters. */
#include <stdio.h>
#include <string.h>

#include "engine/logging.h"
#include "server/srvstats.h"

void SVS_Sum(const SVS_WorkerCounters *blocks, int n, SVS_Counters *total)
{
  int i;

  memset(total, 0, sizeof(*total));
  for (i = 0; i < n; i++) {
#define SVS_ADD(name, desc)                                                                   \
  total->name += __atomic_load_n(&blocks[i].c.name, __ATOMIC_RELAXED);
    SVS_COUNTERS(SVS_ADD)
#undef SVS_ADD
  }
}

void SVS_Log(const char *label, const SVS_Counters *c)
{
  char line[1024];
  size_t len = 0;

#define SVS_PRINT(name, desc)                                                                 \
  if (len < sizeof(line))                                                                     \
    len += (size_t) snprintf(line + len, sizeof(line) - len, " %s=%llu", #name,               \
                             (unsigned long long) c->name);
  SVS_COUNTERS(SVS_PRINT)
#undef SVS_PRINT
  LOG(LOGS_INFO, "server stats (%s):%s", label, line);
}
