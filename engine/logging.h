/* logging.h - kairosd's log: stderr in the foreground (-d), syslog otherwise.
   Any thread may call LOG_Message and LOG_RATE_LIMITED; LOG_Initialise, LOG_OpenSyslog,
   LOG_SetMinSeverity and LOG_Finalise are for the main thread at startup and exit. */
#ifndef KAIROS_LOGGING_H
#define KAIROS_LOGGING_H

#include <stdint.h>

typedef enum {
  LOGS_DEBUG,
  LOGS_INFO,
  LOGS_WARN,
  LOGS_ERR,
  LOGS_FATAL,
} LOG_Severity;

void LOG_Initialise(void);
void LOG_Finalise(void);

/* Send messages to syslog instead of stderr (daemon mode). */
void LOG_OpenSyslog(void);

/* Messages below this severity are dropped (default LOGS_INFO; -L sets it). */
void LOG_SetMinSeverity(LOG_Severity severity);

void LOG_Message(LOG_Severity severity, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG(severity, ...) LOG_Message(severity, __VA_ARGS__)

/* A token bucket for messages a remote peer can trigger: at most `burst` messages, then
   one per `interval` seconds; the count of suppressed messages is reported with the next
   one allowed. Lock-free, shared by all threads. */
typedef struct {
  uint64_t next_ns; /* monotonic time the bucket is full again, in ns */
  uint32_t suppressed;
} LOG_RateLimit;

/* Returns the number of messages suppressed since the last allowed one (>= 0) if this
   message may be logged, -1 if it must be dropped. */
int LOG_RateLimitAllow(LOG_RateLimit *limit, unsigned interval_s, unsigned burst);

/* Log at most 10 messages, then one every 10 seconds, per call site. */
#define LOG_RATE_LIMITED(severity, ...)                                                       \
  do {                                                                                        \
    static LOG_RateLimit log_rl_;                                                             \
    int log_sup_ = LOG_RateLimitAllow(&log_rl_, 10, 10);                                      \
    if (log_sup_ > 0)                                                                         \
      LOG_Message(severity, "(%d similar messages suppressed)", log_sup_);                    \
    if (log_sup_ >= 0)                                                                        \
      LOG_Message(severity, __VA_ARGS__);                                                     \
  } while (0)

#endif
