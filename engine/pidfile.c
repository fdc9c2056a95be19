/* pidfile.c - pid file handling. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/fileutil.h"
#include "engine/pidfile.h"

static pid_t read_pid(const char *path)
{
  char buf[32], *end;
  long pid;

  if (FIL_ReadSmall(path, buf, sizeof(buf)) <= 0)
    return 0;
  errno = 0;
  pid = strtol(buf, &end, 10);
  if (errno || end == buf || (*end && *end != '\n') || pid <= 0 || pid > 0x7fffffffL)
    return 0;
  return (pid_t) pid;
}

/* A pid file is live if its process exists and is a kairosd; a stale file left by a
   crash whose pid was reused by another program must not block a restart. */
static int is_live_kairosd(pid_t pid)
{
  char path[64], comm[32];

  if (pid == getpid() || (kill(pid, 0) < 0 && errno == ESRCH))
    return 0;
  snprintf(path, sizeof(path), "/proc/%ld/comm", (long) pid);
  if (FIL_ReadSmall(path, comm, sizeof(comm)) <= 0)
    return 1; /* cannot tell: be careful */
  return strncmp(comm, "kairosd", 7) == 0;
}

int PID_Write(const char *path, pid_t *other)
{
  char buf[32];
  pid_t old;
  int len;

  old = read_pid(path);
  if (old > 0 && is_live_kairosd(old)) {
    if (other)
      *other = old;
    return -EEXIST;
  }
  len = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
  return FIL_WriteAtomic(path, buf, (size_t) len, 0644);
}

void PID_Remove(const char *path)
{
  if (read_pid(path) == getpid())
    unlink(path);
}
