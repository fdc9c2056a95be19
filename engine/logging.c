/* logging.c - stderr or syslog output with severities and per-site rate limits. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "engine/logging.h"

static int use_syslog;
static LOG_Severity min_severity = LOGS_INFO;

void LOG_Initialise(void)
{
  use_syslog = 0;
}

void LOG_Finalise(void)
{
  if (use_syslog)
    closelog();
  use_syslog = 0;
}

void LOG_OpenSyslog(void)
{
  openlog("kairosd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
  use_syslog = 1;
}

void LOG_SetMinSeverity(LOG_Severity severity)
{
  min_severity = severity;
}

static int syslog_priority(LOG_Severity severity)
{
  switch (severity) {
  case LOGS_DEBUG:
    return LOG_DEBUG;
  case LOGS_INFO:
    return LOG_INFO;
  case LOGS_WARN:
    return LOG_WARNING;
  case LOGS_ERR:
    return LOG_ERR;
  default:
    return LOG_CRIT;
  }
}

void LOG_Message(LOG_Severity severity, const char *format, ...)
{
  static const char *const prefixes[] = { "debug: ", "", "warning: ", "error: ", "fatal: " };
  char buf[2048];
  va_list ap;

  if (severity < min_severity)
    return;

  va_start(ap, format);
  vsnprintf(buf, sizeof(buf), format, ap);
  va_end(ap);

  if (use_syslog) {
    syslog(syslog_priority(severity), "%s", buf);
  } else {
    struct timespec ts;
    struct tm tm;
    char stamp[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* one fprintf per message keeps lines from different threads whole */
    fprintf(stderr, "%s %s%s\n", stamp, prefixes[severity], buf);
  }
}

int LOG_RateLimitAllow(LOG_RateLimit *limit, unsigned interval_s, unsigned burst)
{
  struct timespec ts;
  uint64_t now, next, start, cost = (uint64_t) interval_s * 1000000000ULL;

  if (burst == 0)
    return -1;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  now = (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;

  /* next_ns is the time the bucket will be full; each message pushes it one interval
     later; a message is allowed while the bucket is not over `burst` messages deep */
  next = __atomic_load_n(&limit->next_ns, __ATOMIC_RELAXED);
  for (;;) {
    start = next > now ? next : now;
    if (start - now > cost * (burst - 1)) {
      __atomic_add_fetch(&limit->suppressed, 1, __ATOMIC_RELAXED);
      return -1;
    }
    if (__atomic_compare_exchange_n(&limit->next_ns, &next, start + cost, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
      break;
  }
  return (int) __atomic_exchange_n(&limit->suppressed, 0, __ATOMIC_RELAXED);
}
