/* main.c - kairosd: command line, configuration, startup of the modules in dependency
   order, the engine loop, and teardown in reverse order. Main (engine) thread. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/clock.h"
#include "engine/clockstate.h"
#include "engine/conf.h"
#include "engine/logging.h"
#include "engine/pidfile.h"
#include "engine/sched.h"
#include "server/server.h"

#ifndef KAIROS_CONF_PATH
#define KAIROS_CONF_PATH "/etc/kairos/kairos.conf"
#endif
#define DEFAULT_PIDFILE "/run/kairosd.pid"
#define LOCAL_REFID     0x7f7f0101U /* 127.127.1.1, as chrony's local reference */

/* Used when no -f is given, no directive is on the command line and KAIROS_CONF_PATH does
   not exist: a loopback server to try kairos out with `make run`. */
static const char default_config[] =
    "# kairosd's embedded default configuration: serve NTP to this machine only,\n"
    "# on loopback port 123, as a local stratum-10 reference.\n"
    "bindaddress 127.0.0.1\n"
    "bindaddress ::1\n"
    "allow 127.0.0.1\n"
    "allow ::1\n"
    "local stratum 10\n"
    "pidfile " DEFAULT_PIDFILE "\n";

typedef struct {
  const char *conf_file;
  int debug;      /* -d given: foreground, log to stderr (twice: debug messages) */
  int foreground; /* -n or -d */
  int no_clock_control;
  int print_config;
  LOG_Severity log_level;
} Options;

static void usage(FILE *out)
{
  fprintf(out,
          "Usage: kairosd [OPTION]... [DIRECTIVE]...\n"
          "  -f FILE   read configuration from FILE (default " KAIROS_CONF_PATH ",\n"
          "            or the embedded default configuration when that is missing)\n"
          "  -d        stay in the foreground and log to stderr (-d -d: debug messages)\n"
          "  -n        stay in the foreground, log to syslog\n"
          "  -x        never adjust the system clock (serve a virtual, disciplined clock)\n"
          "  -p        print the parsed configuration and exit\n"
          "  -L LEVEL  minimum log severity: -1 debug, 0 info, 1 warning, 2 error, 3 fatal\n"
          "  -v        print the version and exit\n"
          "  -h        print this help and exit\n"
          "Directives given on the command line replace the configuration file.\n");
}

static int parse_options(int argc, char **argv, Options *o)
{
  static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                            { "version", no_argument, NULL, 'v' },
                                            { NULL, 0, NULL, 0 } };
  int c;

  memset(o, 0, sizeof(*o));
  o->log_level = LOGS_INFO;
  /* chronyd's options; those kairosd does not implement yet are refused, not ignored */
  while ((c = getopt_long(argc, argv, "46dF:f:hl:L:nP:pqQrRst:u:vx", longopts, NULL)) != -1) {
    switch (c) {
    case 'd':
      o->debug++;
      o->foreground = 1;
      break;
    case 'n':
      o->foreground = 1;
      break;
    case 'f':
      o->conf_file = optarg;
      break;
    case 'x':
      o->no_clock_control = 1;
      break;
    case 'p':
      o->print_config = 1;
      break;
    case 'L': {
      char *end;
      long level = strtol(optarg, &end, 10);

      if (*end || level < -1 || level > 3) {
        fprintf(stderr, "kairosd: -L expects a level from -1 to 3, got '%s'\n", optarg);
        return -1;
      }
      o->log_level = (LOG_Severity) (level + 1);
      break;
    }
    case 'v':
      printf("kairosd (kairos) %s\n", KAIROS_VERSION);
      exit(0);
    case 'h':
      usage(stdout);
      exit(0);
    case '?':
      usage(stderr);
      return -1;
    default:
      fprintf(stderr, "kairosd: option -%c is not supported yet\n", c);
      return -1;
    }
  }
  if (o->debug > 1)
    o->log_level = LOGS_DEBUG;
  return optind;
}

static int load_config(const Options *o, int argc, char **argv, int first_directive)
{
  int i, r = 0;

  if (first_directive < argc) {
    if (o->conf_file)
      LOG(LOGS_WARN, "directives on the command line: not reading %s", o->conf_file);
    for (i = first_directive; i < argc; i++)
      if (CNF_ParseLine("command line", i - first_directive + 1, argv[i]) < 0)
        r = -1;
    return r;
  }
  if (o->conf_file)
    return CNF_ParseFile(o->conf_file);
  if (access(KAIROS_CONF_PATH, F_OK) == 0)
    return CNF_ParseFile(KAIROS_CONF_PATH);
  if (!o->print_config)
    LOG(LOGS_INFO, "%s not found: using the embedded default configuration", KAIROS_CONF_PATH);
  return CNF_ParseString("embedded default", default_config);
}

/* Smallest non-zero step between two clock readings, as log2 seconds (the precision an NTP
   header announces). */
static int measure_precision(void)
{
  double best = 1.0;
  int i;

  for (i = 0; i < 100; i++) {
    struct timespec a, b;
    double d;

    CLK_ReadTime(&a);
    do {
      CLK_ReadTime(&b);
    } while (b.tv_sec == a.tv_sec && b.tv_nsec == a.tv_nsec);
    d = (double) (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
    if (d > 0.0 && d < best)
      best = d;
  }
  return (int) ceil(log2(best));
}

/* Until the client lands, the served clock is the local reference (when configured) or
   unsynchronised. The local reference is republished every second so that its reference
   time stays one second old, as chronyd's does. */
static CST_State served_state;

static void publish_local_state(void *arg)
{
  (void) arg;
  CLK_ReadTime(&served_state.base);
  served_state.reference_time = served_state.base;
  served_state.reference_time.tv_sec -= 1;
  CST_Publish(&served_state);
  SCH_AddTimeout(1.0, publish_local_state, NULL);
}

static void publish_initial_state(void)
{
  CNF_Entry local = CNF_Last("local");
  CST_State *st = &served_state;

  memset(st, 0, sizeof(*st));
  CLK_ReadTime(&st->base);
  st->precision = (int8_t) measure_precision();
  if (local) {
    st->stratum = (uint8_t) CNF_EntryOptionInt(local, "stratum", 10);
    st->leap = 0;
    st->refid = LOCAL_REFID;
    st->root_dispersion = ldexp(1.0, st->precision);
    st->synchronised = 1;
    publish_local_state(NULL);
  } else {
    st->stratum = 16;
    st->leap = 3;
    CST_Publish(st);
  }
  LOG(LOGS_INFO, "clock state: stratum %d, %s, precision 2^%d s", st->stratum,
      local ? "local reference" : "unsynchronised", st->precision);
}

static volatile sig_atomic_t stats_requested;

static void handle_quit_signal(int sig)
{
  (void) sig;
  SCH_QuitProgram();
}

static void handle_stats_signal(int sig)
{
  (void) sig;
  stats_requested = 1;
}

/* Engine thread, each loop iteration: work asked for by signal handlers. */
static void run_signal_work(void)
{
  if (stats_requested) {
    stats_requested = 0;
    SRV_LogStats();
  }
}

static void install_signals(void)
{
  struct sigaction sa;

  memset(&sa, 0, sizeof(sa));
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = handle_quit_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = handle_stats_signal;
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
}

/* Classic double fork; the parent exits once the child has started. */
static int daemonize(void)
{
  pid_t pid = fork();
  int fd;

  if (pid < 0)
    return -errno;
  if (pid > 0)
    _exit(0);
  if (setsid() < 0)
    return -errno;
  pid = fork();
  if (pid < 0)
    return -errno;
  if (pid > 0)
    _exit(0);
  if (chdir("/") < 0)
    return -errno;
  fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
      close(fd);
  }
  return 0;
}

int main(int argc, char **argv)
{
  const char *pidfile = DEFAULT_PIDFILE;
  CNF_Entry entry;
  Options opts;
  pid_t other;
  int first, r, status = 1;

  first = parse_options(argc, argv, &opts);
  if (first < 0)
    return 1;

  LOG_Initialise();
  LOG_SetMinSeverity(opts.log_level);
  CNF_Initialise();

  if (load_config(&opts, argc, argv, first) < 0)
    goto out_conf;
  if (opts.print_config) {
    CNF_Print(stdout);
    status = fflush(stdout) == 0 ? 0 : 1;
    goto out_conf;
  }
  if (CNF_CheckImplemented() < 0)
    goto out_conf;

  if ((entry = CNF_Last("pidfile")))
    pidfile = CNF_EntryArgString(entry, 0, DEFAULT_PIDFILE);

  if (!opts.foreground) {
    r = daemonize();
    if (r < 0) {
      LOG(LOGS_FATAL, "could not run in the background: %s", strerror(-r));
      goto out_conf;
    }
  }
  if (!opts.debug)
    LOG_OpenSyslog();

  r = PID_Write(pidfile, &other);
  if (r == -EEXIST) {
    LOG(LOGS_FATAL, "another kairosd is already running (pid %ld, pid file %s)", (long) other,
        pidfile);
    goto out_conf;
  } else if (r == -ELOOP) {
    LOG(LOGS_FATAL, "pid file %s is a symbolic link: refusing to write through it", pidfile);
    goto out_conf;
  } else if (r < 0) {
    LOG(LOGS_FATAL, "could not write pid file %s: %s", pidfile, strerror(-r));
    goto out_conf;
  }

  CLK_Initialise(opts.no_clock_control ? CLK_VirtualDriver() : CLK_LinuxDriver());
  CST_Initialise();
  SCH_Initialise();
  install_signals();

  LOG(LOGS_INFO, "kairosd %s starting (clock driver: %s%s)", KAIROS_VERSION,
      CLK_GetDriver()->name, opts.no_clock_control ? ", -x: system clock left alone" : "");
  SCH_SetLoopHook(run_signal_work);
  publish_initial_state();
  if (SRV_IsConfigured()) {
    if (SRV_Initialise() < 0) {
      LOG(LOGS_FATAL, "could not start the NTP server");
      goto out_engine;
    }
  } else {
    LOG(LOGS_INFO, "no allow directive: not serving NTP");
  }
  LOG(LOGS_INFO, "running; SIGUSR1 logs server statistics, SIGTERM or SIGINT stops");

  r = SCH_MainLoop();
  if (r < 0)
    LOG(LOGS_ERR, "event loop failed: %s", strerror(-r));
  else
    status = 0;
  LOG(LOGS_INFO, "kairosd exiting");
  if (SRV_Finalise() < 0)
    status = 1;

out_engine:
  SCH_Finalise();
  CST_Finalise();
  CLK_Finalise();
  PID_Remove(pidfile);
out_conf:
  CNF_Finalise();
  LOG_Finalise();
  return status;
}
