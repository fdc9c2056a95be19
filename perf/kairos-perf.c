/* kairos-perf.c - the NTP load generator: options, setup, the fixed-rate, count, sweep and
   garbage modes, signals and the hard time cap. See docs/kairos-perf.md. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "perf/kairos-perf.h"

static PRF_Run run;
static volatile sig_atomic_t got_signal;

uint64_t PRF_MonoNs(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t) t.tv_sec * 1000000000U + (uint64_t) t.tv_nsec;
}

uint64_t PRF_RealNs(void)
{
  struct timespec t;

  clock_gettime(CLOCK_REALTIME, &t);
  return (uint64_t) t.tv_sec * 1000000000U + (uint64_t) t.tv_nsec;
}

static void on_signal(int sig)
{
  got_signal = sig;
  atomic_store(&run.stop, 1);
  /* A second signal ends the process at once */
  signal(sig, SIG_DFL);
}

static void usage(FILE *f)
{
  fprintf(f,
          "usage: kairos-perf [options]\n"
          "  -s, --server ADDR      server address, IPv4 or IPv6 (default 127.0.0.1)\n"
          "  -p, --port PORT        server port (default 123)\n"
          "  -c, --clients N        distinct client addresses (default 1000; IPv4: spread "
          "over 127.0.0.0/8)\n"
          "  -k, --sockets K        source sockets on random ports (default 16, max 256)\n"
          "  -r, --rate R           requests per second (default 10000; sweep: first step)\n"
          "  -d, --duration S       seconds of a fixed-rate run (default 10)\n"
          "  -n, --count N          send exactly N requests at --rate\n"
          "      --sweep            raise the rate by --step-factor per step until loss > "
          "--loss-limit\n"
          "      --step-time S      seconds per sweep step (default 2)\n"
          "      --step-factor F    rate multiplier per step (default 1.1)\n"
          "      --max-steps N      at most N steps (default 100, max %d)\n"
          "      --max-rate R       stop the sweep above this rate (default 10000000)\n"
          "      --loss-limit P     loss percent that ends a sweep (default 1)\n"
          "      --retries N        repeat a failed sweep step at the same rate up to N "
          "times (default 0)\n"
          "      --timeout S        a reply later than this is lost (default 0.5)\n"
          "  -v, --ntp-version V    NTP version of the requests, 1..4 (default 4)\n"
          "  -t, --threads T        1: one loop sends and receives; 2: a receiver thread "
          "(default 1)\n"
          "      --src6 LIST|P/LEN  IPv6 client addresses (comma list, or a prefix of an "
          "AnyIP route)\n"
          "      --garbage          send a bounded mix of invalid packets (--count, default "
          "1000)\n"
          "      --server-pid PID   report the server's CPU time per reply from "
          "/proc/PID/stat\n"
          "      --no-txstamp       time responses from the user-space send time\n"
          "      --json             print the summary as one JSON object\n"
          "      --progress         progress line on stderr (default: when it is a terminal)\n"
          "      --max-time S       hard cap on the run (default: planned time + 30 s)\n"
          "      --seed N           random seed (default: time and pid)\n"
          "      --tick US          send what is due at most every US microseconds "
          "(default 200)\n",
          PRF_MAX_STEPS);
}

enum {
  O_SWEEP = 256,
  O_STEP_TIME,
  O_STEP_FACTOR,
  O_MAX_STEPS,
  O_MAX_RATE,
  O_LOSS_LIMIT,
  O_TIMEOUT,
  O_SRC6,
  O_GARBAGE,
  O_SERVER_PID,
  O_NO_TXSTAMP,
  O_JSON,
  O_PROGRESS,
  O_MAX_TIME,
  O_SEED,
  O_TICK,
  O_RETRIES,
};

static const struct option long_opts[] = {
  { "server", required_argument, NULL, 's' },
  { "port", required_argument, NULL, 'p' },
  { "clients", required_argument, NULL, 'c' },
  { "sockets", required_argument, NULL, 'k' },
  { "rate", required_argument, NULL, 'r' },
  { "duration", required_argument, NULL, 'd' },
  { "count", required_argument, NULL, 'n' },
  { "ntp-version", required_argument, NULL, 'v' },
  { "threads", required_argument, NULL, 't' },
  { "help", no_argument, NULL, 'h' },
  { "sweep", no_argument, NULL, O_SWEEP },
  { "step-time", required_argument, NULL, O_STEP_TIME },
  { "step-factor", required_argument, NULL, O_STEP_FACTOR },
  { "max-steps", required_argument, NULL, O_MAX_STEPS },
  { "max-rate", required_argument, NULL, O_MAX_RATE },
  { "loss-limit", required_argument, NULL, O_LOSS_LIMIT },
  { "timeout", required_argument, NULL, O_TIMEOUT },
  { "src6", required_argument, NULL, O_SRC6 },
  { "garbage", no_argument, NULL, O_GARBAGE },
  { "server-pid", required_argument, NULL, O_SERVER_PID },
  { "no-txstamp", no_argument, NULL, O_NO_TXSTAMP },
  { "json", no_argument, NULL, O_JSON },
  { "progress", no_argument, NULL, O_PROGRESS },
  { "max-time", required_argument, NULL, O_MAX_TIME },
  { "seed", required_argument, NULL, O_SEED },
  { "tick", required_argument, NULL, O_TICK },
  { "retries", required_argument, NULL, O_RETRIES },
  { NULL, 0, NULL, 0 },
};

static int num(const char *name, const char *text, double lo, double hi, double *out)
{
  char *end;
  double v;

  errno = 0;
  v = strtod(text, &end);
  if (errno || end == text || *end != '\0' || !(v >= lo && v <= hi)) {
    fprintf(stderr, "kairos-perf: %s: expected a number in %g..%g, got '%s'\n", name, lo, hi,
            text);
    return -1;
  }
  *out = v;
  return 0;
}

static int parse_options(int argc, char **argv, PRF_Options *o)
{
  int c, sweep = 0, garbage = 0, progress = -1, have_count = 0;
  double v;

  memset(o, 0, sizeof(*o));
  o->server = "127.0.0.1";
  o->port = 123;
  o->clients = 1000;
  o->sockets = 16;
  o->threads = 1;
  o->version = 4;
  o->rate = 10000;
  o->duration = 10;
  o->timeout = 0.5;
  o->step_time = 2;
  o->step_factor = 1.1;
  o->max_steps = 100;
  o->max_rate = 1e7;
  o->loss_limit = 1.0;
  o->txstamp = 1;
  o->tick_ns = 200000;
  o->seed = PRF_RealNs() ^ ((uint64_t) getpid() << 32);

  while ((c = getopt_long(argc, argv, "s:p:c:k:r:d:n:v:t:h", long_opts, NULL)) != -1) {
    switch (c) {
    case 's':
      o->server = optarg;
      break;
    case 'p':
      if (num("--port", optarg, 1, 65535, &v) < 0)
        return -1;
      o->port = (unsigned int) v;
      break;
    case 'c':
      if (num("--clients", optarg, 1, 16777214, &v) < 0)
        return -1;
      o->clients = (uint32_t) v;
      break;
    case 'k':
      if (num("--sockets", optarg, 1, PRF_MAX_SOCKETS, &v) < 0)
        return -1;
      o->sockets = (int) v;
      break;
    case 'r':
      if (num("--rate", optarg, 1, 1e8, &o->rate) < 0)
        return -1;
      break;
    case 'd':
      if (num("--duration", optarg, 0.001, 86400, &o->duration) < 0)
        return -1;
      break;
    case 'n':
      if (num("--count", optarg, 1, 1e12, &v) < 0)
        return -1;
      o->count = (uint64_t) v;
      have_count = 1;
      break;
    case 'v':
      if (num("--ntp-version", optarg, 1, 4, &v) < 0)
        return -1;
      o->version = (int) v;
      break;
    case 't':
      if (num("--threads", optarg, 1, 2, &v) < 0)
        return -1;
      o->threads = (int) v;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    case O_SWEEP:
      sweep = 1;
      break;
    case O_STEP_TIME:
      if (num("--step-time", optarg, 0.01, 3600, &o->step_time) < 0)
        return -1;
      break;
    case O_STEP_FACTOR:
      if (num("--step-factor", optarg, 1.001, 10, &o->step_factor) < 0)
        return -1;
      break;
    case O_MAX_STEPS:
      if (num("--max-steps", optarg, 1, PRF_MAX_STEPS, &v) < 0)
        return -1;
      o->max_steps = (int) v;
      break;
    case O_MAX_RATE:
      if (num("--max-rate", optarg, 1, 1e8, &o->max_rate) < 0)
        return -1;
      break;
    case O_LOSS_LIMIT:
      if (num("--loss-limit", optarg, 0, 100, &o->loss_limit) < 0)
        return -1;
      break;
    case O_TIMEOUT:
      if (num("--timeout", optarg, 0.001, 60, &o->timeout) < 0)
        return -1;
      break;
    case O_SRC6:
      o->src6 = optarg;
      break;
    case O_GARBAGE:
      garbage = 1;
      break;
    case O_SERVER_PID:
      if (num("--server-pid", optarg, 1, 4194304, &v) < 0)
        return -1;
      o->server_pid = (pid_t) v;
      break;
    case O_NO_TXSTAMP:
      o->txstamp = 0;
      break;
    case O_JSON:
      o->json = 1;
      break;
    case O_PROGRESS:
      progress = 1;
      break;
    case O_MAX_TIME:
      if (num("--max-time", optarg, 0.1, 86400, &o->max_time) < 0)
        return -1;
      break;
    case O_SEED:
      o->seed = strtoull(optarg, NULL, 0);
      break;
    case O_RETRIES:
      if (num("--retries", optarg, 0, 10, &v) < 0)
        return -1;
      o->retries = (int) v;
      break;
    case O_TICK:
      if (num("--tick", optarg, 1, 100000, &v) < 0)
        return -1;
      o->tick_ns = (uint64_t) (v * 1000);
      break;
    default:
      usage(stderr);
      return -1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "kairos-perf: unexpected argument '%s'\n", argv[optind]);
    return -1;
  }
  if (sweep + garbage > 1 || (sweep && have_count)) {
    fprintf(stderr, "kairos-perf: --sweep, --garbage and --count do not combine\n");
    return -1;
  }
  o->mode = garbage      ? PRF_MODE_GARBAGE
            : sweep      ? PRF_MODE_SWEEP
            : have_count ? PRF_MODE_COUNT
                         : PRF_MODE_RATE;
  if (garbage && !have_count)
    o->count = 1000;
  o->progress = progress >= 0 ? progress : isatty(STDERR_FILENO);
  return 0;
}

/* What the run should take, for the default hard cap and the table size */
static double planned_time(const PRF_Options *o)
{
  switch (o->mode) {
  case PRF_MODE_SWEEP:
    return o->max_steps * (o->step_time + o->timeout);
  case PRF_MODE_RATE:
    return o->duration + o->timeout;
  default:
    return (double) o->count / o->rate + o->timeout;
  }
}

static double peak_rate(const PRF_Options *o)
{
  double r = o->rate;

  if (o->mode == PRF_MODE_SWEEP)
    r = fmin(o->max_rate, o->rate * pow(o->step_factor, o->max_steps));
  return r;
}

static int setup(PRF_Run *r)
{
  int i, ts, fd, ret;

  if (PNT_ParseAddr(r->opt.server, r->opt.port, &r->server, &r->server_len) < 0) {
    fprintf(stderr, "kairos-perf: bad server address '%s'\n", r->opt.server);
    return -EINVAL;
  }
  ret = PNT_ClientsInit(&r->clients, r->server.sa.sa_family, r->opt.clients, r->opt.src6);
  if (ret < 0)
    return ret;
  if (r->server.sa.sa_family == AF_INET6 && !r->opt.src6 && r->opt.clients > 1 &&
      r->opt.mode != PRF_MODE_GARBAGE)
    fprintf(stderr, "kairos-perf: IPv6: every request comes from ::1 (--src6 gives more "
                    "addresses)\n");
  if (r->opt.mode == PRF_MODE_GARBAGE) {
    r->table.timeout_ns = (uint64_t) (r->opt.timeout * 1e9);
    return 0;
  }

  r->ts_mode = PNT_TS_RX_TX;
  for (i = 0; i < r->opt.sockets; i++) {
    fd = PNT_OpenSocket(r->server.sa.sa_family, r->opt.txstamp, r->opt.src6 != NULL, &ts);
    if (fd < 0) {
      fprintf(stderr, "kairos-perf: socket: %s\n", strerror(-fd));
      return fd;
    }
    r->fds[r->nsock++] = fd;
    if (ts < r->ts_mode)
      r->ts_mode = ts;
  }
  ret = PTK_Init(&r->table, peak_rate(&r->opt) * (r->opt.timeout + 0.05),
                 (uint64_t) (r->opt.timeout * 1e9));
  if (ret < 0)
    return ret;
  r->steps = calloc((size_t) r->opt.max_steps, sizeof(PRF_Step));
  if (!r->steps)
    return -ENOMEM;
  for (i = 0; i < r->opt.max_steps; i++) {
    PHI_Reset(&r->steps[i].hist);
    r->steps[i].cpu_s = -1.0;
  }
  return PLD_Start(r);
}

static double server_cpu(const PRF_Run *r)
{
  return r->opt.server_pid ? PRP_ServerCpu(r->opt.server_pid) : -1.0;
}

static void run_sweep(PRF_Run *r)
{
  double rate = r->opt.rate, cpu0, loss;
  uint64_t sent, recv, skipped;
  int s, retries = r->opt.retries;
  PRF_Step *st;

  r->best_step = -1;
  r->stop_reason = "max-steps";
  for (s = 0; s < r->opt.max_steps; s++) {
    if (atomic_load(&r->stop))
      break;
    st = &r->steps[s];
    st->rate = rate;
    r->nsteps = s + 1;
    cpu0 = server_cpu(r);
    PLD_RunStep(r, s, (uint64_t) (r->opt.step_time * 1e9), 0);
    if (cpu0 >= 0.0)
      st->cpu_s = server_cpu(r) - cpu0;
    PRP_PrintStep(r, s);
    if (atomic_load(&r->stop))
      break; /* a cut-short step says nothing */
    sent = PRF_GET(st->sent);
    recv = PRF_GET(st->received);
    skipped = PRF_GET(st->skipped);
    loss =
        sent ? 100.0 * (double) (sent - (recv < sent ? recv : sent)) / (double) sent : 100.0;
    /* A stall of a few milliseconds (another process on our core) skips a little of a
       step; the step still measures the server unless much of its load went missing */
    if ((double) skipped > 0.05 * (double) (sent + skipped)) {
      r->generator_limited = 1;
      r->stop_reason = "generator";
    } else if (loss >= r->opt.loss_limit) {
      r->generator_limited = 0;
      r->stop_reason = "loss";
    } else {
      r->generator_limited = 0;
      r->best_step = s;
      retries = r->opt.retries;
      rate *= r->opt.step_factor;
      if (rate > r->opt.max_rate) {
        r->stop_reason = "max-rate";
        return;
      }
      continue;
    }
    /* A failed step: on a noisy machine, try the same rate again before giving up */
    if (retries-- <= 0)
      return;
    r->stop_reason = "max-steps";
  }
  if (atomic_load(&r->stop))
    r->stop_reason = r->capped ? "time-cap" : "interrupted";
}

int main(int argc, char **argv)
{
  PRF_Run *r = &run;
  double cpu0, cpu_total = -1.0, plan;
  uint64_t start;
  int status = 0, i;

  if (parse_options(argc, argv, &r->opt) < 0)
    return 2;
  r->best_step = -1;
  plan = planned_time(&r->opt);
  if (r->opt.max_time <= 0.0)
    r->opt.max_time = plan + 30.0;

  /* Wake-ups of the paced sender are due to the microsecond */
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);

  if (setup(r) < 0) {
    status = 1;
    goto out;
  }
  /* Backstop for the hard cap: the loops check the deadline, this catches anything else */
  alarm((unsigned int) ceil(r->opt.max_time) + 10);
  r->run_start_ns = start = PRF_MonoNs();
  r->deadline_ns = start + (uint64_t) (r->opt.max_time * 1e9);
  cpu0 = server_cpu(r);

  switch (r->opt.mode) {
  case PRF_MODE_GARBAGE:
    status = PGB_Run(r);
    r->interrupted = got_signal != 0;
    goto out;
  case PRF_MODE_SWEEP:
    run_sweep(r);
    break;
  case PRF_MODE_COUNT:
    r->steps[0].rate = r->opt.rate;
    r->nsteps = 1;
    PLD_RunStep(r, 0, 0, r->opt.count);
    break;
  case PRF_MODE_RATE:
    r->steps[0].rate = r->opt.rate;
    r->nsteps = 1;
    PLD_RunStep(r, 0, (uint64_t) (r->opt.duration * 1e9), 0);
    break;
  }
  if (cpu0 >= 0.0) {
    cpu_total = server_cpu(r);
    cpu_total = cpu_total >= 0.0 ? cpu_total - cpu0 : -1.0;
  }
  PLD_Stop(r);
  r->interrupted = got_signal != 0;
  PRP_PrintSummary(r, cpu_total, (double) (PRF_MonoNs() - start) * 1e-9);

out:
  PLD_Stop(r);
  for (i = 0; i < r->nsock; i++)
    close(r->fds[i]);
  PTK_Finalise(&r->table);
  PNT_ClientsFree(&r->clients);
  free(r->steps);
  return status;
}
