/* test_conf.c - the chrony.conf parser: typed entries and getters, every error kind with
   its exact message, comments, limits on lines, the check for unimplemented directives,
   command-line lines, the directive table and the print -> parse round trip. Reading
   include/confdir/sourcedir files is in test_conf_files.c; the shared helpers are in
   conf_test_util.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_test_util.h"
#include "engine/conf.h"
#include "engine/conf_table.h"
#include "engine/logging.h"
#include "test.h"

/* ================================================== */
/* tests */

static void test_faq_client(void)
{
  const char *conf = "server ntp1.example.net iburst\n"
                     "server ntp2.example.net iburst\n"
                     "server ntp3.example.net iburst\n"
                     "driftfile /var/lib/chrony/drift\n"
                     "makestep 1.0 3\n"
                     "rtcsync\n";
  CNF_Entry e;
  char *out;

  TEST_CHECK(parse_text(conf) == 0);
  TEST_CHECKF(log_text[0] == '\0', "log: %s", log_text);
  out = print_entries();
  TEST_CHECKF(!strcmp(out, "server ntp1.example.net iburst\n"
                           "server ntp2.example.net iburst\n"
                           "server ntp3.example.net iburst\n"
                           "driftfile /var/lib/chrony/drift\n"
                           "makestep 1 3\n"
                           "rtcsync\n"),
              "printed:\n%s", out);
  free(out);

  TEST_CHECK(entry_count("server") == 3);
  TEST_CHECK(entry_count(NULL) == 6);
  e = CNF_First("server");
  TEST_CHECK(e && !strcmp(CNF_EntryDirective(e), "server"));
  TEST_CHECK(e && !strcmp(CNF_EntryFile(e), "t.conf") && CNF_EntryLine(e) == 1);
  TEST_CHECK(CNF_EntryArgCount(e) == 1);
  TEST_CHECK(!strcmp(CNF_EntryArgString(e, 0, ""), "ntp1.example.net"));
  TEST_CHECK(CNF_EntryHasOption(e, "iburst") && CNF_EntryOptionInt(e, "iburst", 0) == 1);
  TEST_CHECK(!CNF_EntryHasOption(e, "prefer"));
  TEST_CHECK(CNF_EntryOptionInt(e, "minpoll", 6) == 6);
  TEST_CHECK(CNF_EntryOptionDouble(e, "maxdelay", 3.0) == 3.0);
  e = CNF_Next(CNF_Next(e));
  TEST_CHECK(e && !strcmp(CNF_EntryArgString(e, 0, ""), "ntp3.example.net") &&
             CNF_EntryLine(e) == 3);
  TEST_CHECK(CNF_Next(e) == NULL);

  e = CNF_Last("makestep");
  TEST_CHECK(e && CNF_EntryLine(e) == 5 && CNF_EntryArgCount(e) == 2);
  TEST_CHECK(CNF_EntryArgDouble(e, 0, 0) == 1.0 && CNF_EntryArgInt(e, 1, 0) == 3);
  TEST_CHECK(CNF_EntryArgInt(e, 2, -5) == -5); /* beyond the arguments: the default */
  TEST_CHECK(
      !strcmp(CNF_EntryArgString(CNF_Last("driftfile"), 0, ""), "/var/lib/chrony/drift"));
  TEST_CHECK(CNF_Last("rtcsync") && CNF_EntryArgCount(CNF_Last("rtcsync")) == 0);
  TEST_CHECK(CNF_Last("pidfile") == NULL && CNF_Last("nosuchdirective") == NULL);
  TEST_CHECK(CNF_First("allow") == NULL);

  /* the pool form of the same example */
  TEST_CHECK(parse_text("pool pool.ntp.org iburst\ndriftfile /var/lib/chrony/drift\n"
                        "makestep 1.0 3\nrtcsync\n") == 0);
  out = print_entries();
  TEST_CHECKF(!strcmp(out, "pool pool.ntp.org iburst\ndriftfile /var/lib/chrony/drift\n"
                           "makestep 1 3\nrtcsync\n"),
              "printed:\n%s", out);
  free(out);
  TEST_CHECK(CNF_EntryOptionInt(CNF_First("pool"), "maxsources", 4) == 4);
  CNF_Finalise();
}

static void test_faq_nts(void)
{
  char *out;
  CNF_Entry e;

  TEST_CHECK(parse_text("server time.cloudflare.com iburst nts\n"
                        "server nts.netnod.se iburst nts\n"
                        "server ptbtime1.ptb.de iburst nts\n"
                        "ntsdumpdir /var/lib/chrony\n"
                        "driftfile /var/lib/chrony/drift\n"
                        "makestep 1.0 3\n"
                        "rtcsync\n") == 0);
  out = print_entries();
  TEST_CHECKF(!strcmp(out, "server time.cloudflare.com iburst nts\n"
                           "server nts.netnod.se iburst nts\n"
                           "server ptbtime1.ptb.de iburst nts\n"
                           "ntsdumpdir /var/lib/chrony\n"
                           "driftfile /var/lib/chrony/drift\n"
                           "makestep 1 3\n"
                           "rtcsync\n"),
              "printed:\n%s", out);
  free(out);
  for (e = CNF_First("server"); e; e = CNF_Next(e))
    TEST_CHECK(CNF_EntryHasOption(e, "nts") && CNF_EntryHasOption(e, "iburst"));
  TEST_CHECK(!strcmp(CNF_EntryArgString(CNF_Last("ntsdumpdir"), 0, ""), "/var/lib/chrony"));

  /* ntscachedir is chrony's older name: stored and printed as ntsdumpdir */
  TEST_CHECK(parse_text("ntsdumpdir /a\nntscachedir /b\n") == 0);
  e = CNF_Last("ntsdumpdir");
  TEST_CHECK(e && !strcmp(CNF_EntryDirective(e), "ntsdumpdir") && CNF_EntryLine(e) == 2 &&
             !strcmp(CNF_EntryArgString(e, 0, ""), "/b"));
  TEST_CHECK(CNF_Last("ntscachedir") == e);
  CNF_Finalise();
}

static void test_typed_values(void)
{
  CNF_Entry e;
  char *out;

  TEST_CHECK(parse_text("local stratum 3 orphan distance 0.1 waitsynced 7200\n"
                        "server 192.0.2.1 minpoll -7 maxpoll 24 key 4294967295 "
                        "offset -0.00005 asymmetry 0.5 extfield F323 extfield 0xf324 "
                        "certset 2 ntsport 4461 version 3\n"
                        "leapsecmode SLEW\n"
                        "smoothtime 400 0.001024 leaponly\n"
                        "log measurements statistics tracking\n"
                        "ntstrustedcerts /etc/pki/ca1.crt\n"
                        "ntstrustedcerts 1 /etc/pki/ca2.crt\n"
                        "metricsaddress ::0001 9123\n"
                        "serverio URING\n"
                        "bindcmdaddress /var/run/kairos.sock\n"
                        "bindcmdaddress 0.0.0.0\n"
                        "maxupdateskew 100.0\n"
                        "clientloglimit 100000000\n") == 0);
  TEST_CHECKF(log_text[0] == '\0', "log: %s", log_text);

  e = CNF_Last("local");
  TEST_CHECK(CNF_EntryArgCount(e) == 0);
  TEST_CHECK(CNF_EntryOptionInt(e, "stratum", 10) == 3);
  TEST_CHECK(CNF_EntryHasOption(e, "orphan"));
  TEST_CHECK(CNF_EntryOptionDouble(e, "distance", 1.0) == 0.1);
  TEST_CHECK(CNF_EntryOptionDouble(e, "activate", 0.0) == 0.0);
  TEST_CHECK(CNF_EntryOptionDouble(e, "waitsynced", 0.0) == 7200.0);
  TEST_CHECK(CNF_EntryOptionDouble(e, "waitunsynced", 300.0) == 300.0);
  TEST_CHECK(!strcmp(CNF_EntryOptionString(e, "distance", ""), "0.1"));

  e = CNF_First("server");
  TEST_CHECK(CNF_EntryOptionInt(e, "minpoll", 6) == -7);
  TEST_CHECK(CNF_EntryOptionInt(e, "maxpoll", 10) == 24);
  TEST_CHECK(CNF_EntryOptionInt(e, "key", 0) == 4294967295L);
  TEST_CHECK(CNF_EntryOptionDouble(e, "offset", 0) == -0.00005);
  TEST_CHECK(CNF_EntryOptionDouble(e, "asymmetry", 0) == 0.5);
  TEST_CHECK(CNF_EntryOptionCount(e, "extfield") == 2);
  TEST_CHECK(CNF_EntryOptionInt(e, "extfield", 0) == 0xF323);
  TEST_CHECK(CNF_EntryOptionIntAt(e, "extfield", 1, 0) == 0xF324);
  TEST_CHECK(CNF_EntryOptionIntAt(e, "extfield", 2, -1) == -1);
  TEST_CHECK(CNF_EntryOptionCount(e, "nts") == 0);
  TEST_CHECK(CNF_EntryOptionInt(e, "certset", 0) == 2);

  TEST_CHECK(!strcmp(CNF_EntryArgString(CNF_Last("leapsecmode"), 0, ""), "slew"));
  e = CNF_Last("smoothtime");
  TEST_CHECK(CNF_EntryArgDouble(e, 0, 0) == 400 && CNF_EntryArgDouble(e, 1, 0) == 0.001024);
  TEST_CHECK(!strcmp(CNF_EntryArgString(e, 2, ""), "leaponly"));
  e = CNF_Last("log");
  TEST_CHECK(CNF_EntryArgCount(e) == 3 && !strcmp(CNF_EntryArgString(e, 2, ""), "tracking"));

  e = CNF_First("ntstrustedcerts");
  TEST_CHECK(CNF_EntryArgCount(e) == 2 && CNF_EntryArgInt(e, 0, 0) == 0);
  TEST_CHECK(!strcmp(CNF_EntryArgString(e, 1, ""), "/etc/pki/ca1.crt"));
  e = CNF_Next(e);
  TEST_CHECK(CNF_EntryArgInt(e, 0, 0) == 1 &&
             !strcmp(CNF_EntryArgString(e, 1, ""), "/etc/pki/ca2.crt"));

  e = CNF_Last("metricsaddress");
  TEST_CHECK(!strcmp(CNF_EntryArgString(e, 0, ""), "::1") && CNF_EntryArgInt(e, 1, 0) == 9123);
  TEST_CHECK(!strcmp(CNF_EntryArgString(CNF_Last("serverio"), 0, ""), "uring"));
  TEST_CHECK(entry_count("bindcmdaddress") == 2);
  TEST_CHECK(CNF_EntryArgInt(CNF_Last("clientloglimit"), 0, 0) == 100000000L);

  out = print_entries();
  TEST_CHECKF(!strcmp(out, "local stratum 3 orphan distance 0.1 waitsynced 7200\n"
                           "server 192.0.2.1 minpoll -7 maxpoll 24 key 4294967295 offset "
                           "-5e-05 asymmetry 0.5 extfield F323 extfield F324 certset 2 "
                           "ntsport 4461 version 3\n"
                           "leapsecmode slew\n"
                           "smoothtime 400 0.001024 leaponly\n"
                           "log measurements statistics tracking\n"
                           "ntstrustedcerts /etc/pki/ca1.crt\n"
                           "ntstrustedcerts 1 /etc/pki/ca2.crt\n"
                           "metricsaddress ::1 9123\n"
                           "serverio uring\n"
                           "bindcmdaddress /var/run/kairos.sock\n"
                           "bindcmdaddress 0.0.0.0\n"
                           "maxupdateskew 100\n"
                           "clientloglimit 100000000\n"),
              "printed:\n%s", out);
  free(out);
  CNF_Finalise();
}

static void test_allow_deny(void)
{
  static const struct {
    const char *line, *arg0, *arg1;
    int count;
  } cases[] = {
    { "allow", NULL, NULL, 0 },
    { "allow all", "all", NULL, 1 },
    { "allow 192.168.0.0/16", NULL, "192.168.0.0/16", 2 },
    { "allow 10", NULL, "10.0.0.0/8", 2 },
    { "allow 3.4.5", NULL, "3.4.5.0/24", 2 },
    { "allow 1.2.3.4", NULL, "1.2.3.4/32", 2 },
    { "allow 0/0", NULL, "0.0.0.0/0", 2 },
    { "allow ::1", NULL, "::1/128", 2 },
    { "allow 2001:DB8::/32", NULL, "2001:db8::/32", 2 },
    { "allow ntp.example.net", NULL, "ntp.example.net", 2 },
    { "deny all 10.0.0.0/8", "all", "10.0.0.0/8", 2 },
    { "cmdallow ALL 127.0.0.1", "all", "127.0.0.1/32", 2 },
    { "cmddeny 10.1/16", NULL, "10.1.0.0/16", 2 },
  };
  static const char *const bad[] = { "allow 1.2.3.4/33", "allow 300.1",     "allow ::1/129",
                                     "allow host/8",     "allow 1.2.3.4.5", "allow 1..2",
                                     "allow 10/",        "allow ::g",       "allow 10/+8" };
  size_t i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    CNF_Entry e;

    TEST_CHECKF(parse_text(cases[i].line) == 0, "%s: %s", cases[i].line, log_text);
    e = CNF_First(NULL);
    TEST_CHECKF(e && CNF_EntryArgCount(e) == cases[i].count, "%s: count %d", cases[i].line,
                e ? CNF_EntryArgCount(e) : -1);
    TEST_CHECKF(!cases[i].arg0 == !CNF_EntryArgString(e, 0, NULL), "%s", cases[i].line);
    TEST_CHECKF(!cases[i].arg1 == !CNF_EntryArgString(e, 1, NULL), "%s", cases[i].line);
    if (cases[i].arg1)
      TEST_CHECKF(!strcmp(CNF_EntryArgString(e, 1, ""), cases[i].arg1), "%s: got %s",
                  cases[i].line, CNF_EntryArgString(e, 1, ""));
  }
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char msg[256];

    TEST_CHECKF(parse_text(bad[i]) == -1, "%s accepted", bad[i]);
    snprintf(msg, sizeof(msg),
             "t.conf:1: allow: argument 'subnet' expects an address, a subnet (address/bits) "
             "or a host name, got '%s'",
             bad[i] + 6);
    CHECK_ERROR(msg);
  }
  TEST_CHECK(parse_text("deny all 10.0.0.0/8 11") == -1);
  CHECK_ERROR("t.conf:1: deny: unexpected argument '11'; usage: deny [all] [SUBNET]");
  CNF_Finalise();
}

static void test_errors(void)
{
  static const struct {
    const char *line, *message;
  } cases[] = {
    { "frobnicate 3", "t.conf:1: unknown directive 'frobnicate'" },
    { "refclock PPS /dev/pps0", "t.conf:1: directive 'refclock' is not supported yet" },
    { "RTCFILE /var/lib/chrony/rtc", "t.conf:1: directive 'rtcfile' is not supported yet" },
    { "server a minpoll abc",
      "t.conf:1: server: option 'minpoll' expects an integer in -7..24, got 'abc'" },
    { "server a minpoll 25",
      "t.conf:1: server: option 'minpoll' expects an integer in -7..24, got '25'" },
    { "server a minpoll 4x",
      "t.conf:1: server: option 'minpoll' expects an integer in -7..24, got '4x'" },
    { "server a maxdelay nan",
      "t.conf:1: server: option 'maxdelay' expects a number in 0..1000, got 'nan'" },
    { "server a offset 1e999",
      "t.conf:1: server: option 'offset' expects a number, got '1e999'" },
    { "server a minpoll", "t.conf:1: server: option 'minpoll' needs a value (an integer in "
                          "-7..24)" },
    { "server a iburst iburst", "t.conf:1: server: option 'iburst' given twice" },
    { "server a minpoll 4 maxpoll 6 minpoll 5",
      "t.conf:1: server: option 'minpoll' given twice" },
    { "server a fast", "t.conf:1: server: unknown option 'fast'; usage: server HOSTNAME "
                       "[OPTION]..." },
    { "server a maxsources 3", "t.conf:1: server: unknown option 'maxsources'; usage: server "
                               "HOSTNAME [OPTION]..." },
    { "pool a maxsources 17",
      "t.conf:1: pool: option 'maxsources' expects an integer in 1..16, got '17'" },
    { "server a extfield XYZ",
      "t.conf:1: server: option 'extfield' expects a hexadecimal number in 0..FFFF, got "
      "'XYZ'" },
    { "server", "t.conf:1: server: missing argument 'hostname'; usage: server HOSTNAME "
                "[OPTION]..." },
    { "makestep 1.0", "t.conf:1: makestep: missing argument 'limit'; usage: makestep "
                      "THRESHOLD LIMIT" },
    { "makestep 1.0 3 4", "t.conf:1: makestep: unexpected argument '4'; usage: makestep "
                          "THRESHOLD LIMIT" },
    { "makestep x 3", "t.conf:1: makestep: argument 'threshold' expects a number >= 0, got "
                      "'x'" },
    { "rtcsync now", "t.conf:1: rtcsync: unexpected argument 'now'; usage: rtcsync" },
    { "leapsecmode smear", "t.conf:1: leapsecmode: argument 'mode' expects one of "
                           "system|step|slew|ignore, got 'smear'" },
    { "serverio epoll", "t.conf:1: serverio: argument 'backend' expects one of uring|mmsg, "
                        "got 'epoll'" },
    { "serverthreads 0", "t.conf:1: serverthreads: argument 'threads' expects an integer in "
                         "1..1024, got '0'" },
    { "ratelimitprefix6 129", "t.conf:1: ratelimitprefix6: argument 'bits' expects an "
                              "integer in 1..128, got '129'" },
    { "metricsaddress localhost 9123", "t.conf:1: metricsaddress: argument 'address' expects "
                                       "an IP address, got 'localhost'" },
    { "metricsaddress 127.0.0.1", "t.conf:1: metricsaddress: missing argument 'port'; usage: "
                                  "metricsaddress ADDRESS PORT" },
    { "local stratum 16", "t.conf:1: local: option 'stratum' expects an integer in 1..15, got "
                          "'16'" },
    { "local 3", "t.conf:1: local: unknown option '3'; usage: local [stratum STRATUM] "
                 "[orphan] [distance DISTANCE] [activate ACTIVATE] [waitsynced WAITSYNCED] "
                 "[waitunsynced WAITUNSYNCED]" },
    { "ratelimit interval 1 kod 5",
      "t.conf:1: ratelimit: option 'kod' expects an integer in 0..4, got '5'" },
    { "ntsratelimit kod 1", "t.conf:1: ntsratelimit: unknown option 'kod'; usage: "
                            "ntsratelimit [interval INTERVAL] [burst BURST] [leak LEAK]" },
    { "log measurements cheese", "t.conf:1: log: argument 'file' expects one of "
                                 "rawmeasurements|measurements|selection|statistics|tracking|"
                                 "rtc|refclocks|tempcomp, got 'cheese'" },
    { "confdir", "t.conf:1: confdir: missing argument 'directory'; usage: confdir "
                 "DIRECTORY..." },
    { "include", "t.conf:1: include: missing argument 'pattern'; usage: include PATTERN" },
    { "ntstrustedcerts x /y", "t.conf:1: ntstrustedcerts: argument 'set-id' expects an "
                              "integer in 0..4294967295, got 'x'" },
    { "bindaddress eth0", "t.conf:1: bindaddress: argument 'address' expects an IP address, "
                          "got 'eth0'" },
    { "port 65536", "t.conf:1: port: argument 'port' expects an integer in 0..65535, got "
                    "'65536'" },
    { "smoothtime 400 0.001 always", "t.conf:1: smoothtime: unexpected argument 'always'; "
                                     "usage: smoothtime MAX-FREQ MAX-WANDER [leaponly]" },
  };
  size_t i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    TEST_CHECKF(parse_text(cases[i].line) == -1, "'%s' accepted", cases[i].line);
    CHECK_ERROR(cases[i].message);
    TEST_CHECKF(count_of(log_text, " error: ") == 1, "%s: log:\n%s", cases[i].line, log_text);
    TEST_CHECKF(CNF_First(NULL) == NULL, "'%s' stored", cases[i].line);
  }

  /* parsing goes on after an error: every bad line is reported, the good ones kept */
  TEST_CHECK(parse_text("server a iburst\n"
                        "bogus 1\n"
                        "\n"
                        "makestep 1\n"
                        "rtcsync\n"
                        "hwtimestamp eth0\n") == -1);
  CHECK_ERROR("t.conf:2: unknown directive 'bogus'");
  CHECK_ERROR("t.conf:4: makestep: missing argument 'limit'; usage: makestep THRESHOLD "
              "LIMIT");
  CHECK_ERROR("t.conf:6: directive 'hwtimestamp' is not supported yet");
  TEST_CHECK(count_of(log_text, " error: ") == 3);
  TEST_CHECK(entry_count(NULL) == 2 && CNF_Last("rtcsync") &&
             CNF_EntryLine(CNF_Last("rtcsync")) == 5);

  /* what chronyd ignores with a warning, we do too */
  TEST_CHECK(parse_text("dumponexit\nrtcsync\n") == 0);
  TEST_CHECKF(strstr(log_text, " warning: t.conf:1: directive 'dumponexit' is obsolete and "
                               "ignored\n") != NULL,
              "log: %s", log_text);
  TEST_CHECK(entry_count(NULL) == 1);

  /* a file that cannot be opened */
  CNF_Initialise();
  capture_start();
  TEST_CHECK(CNF_ParseFile("/nonexistent/kairos.conf") == -1);
  capture_end();
  CHECK_ERROR("cannot open configuration file '/nonexistent/kairos.conf': No such file or "
              "directory");
  capture_start();
  TEST_CHECK(CNF_ParseFile(tmp_dir) == -1);
  capture_end();
  TEST_CHECKF(strstr(log_text, "': Is a directory\n") != NULL, "log: %s", log_text);
  CNF_Finalise();
}

static void test_comments_and_blanks(void)
{
  CNF_Entry e;

  TEST_CHECK(parse_text("# hash\n"
                        "! bang\n"
                        "; semicolon\n"
                        "% percent\n"
                        "   # indented hash\n"
                        "\t!tabbed bang server x\n"
                        "  ;server y\n"
                        "%makestep 1 1\n"
                        "\n"
                        "   \t  \n"
                        "\t server \t a.example\t\tiburst   \r\n"
                        "SERVER b.example IBurst MinPoll 4\n"
                        "rtcsync # not a comment after a directive\n") == -1);
  /* chrony allows comments only as whole lines */
  CHECK_ERROR("t.conf:13: rtcsync: unexpected argument '#'; usage: rtcsync");
  TEST_CHECK(count_of(log_text, " error: ") == 1);
  TEST_CHECK(entry_count(NULL) == 2);
  e = CNF_First("server");
  TEST_CHECK(CNF_EntryLine(e) == 11 && !strcmp(CNF_EntryArgString(e, 0, ""), "a.example") &&
             CNF_EntryHasOption(e, "iburst"));
  /* directive and option names are not case-sensitive (chrony.conf(5)); values keep case */
  e = CNF_Next(e);
  TEST_CHECK(CNF_EntryLine(e) == 12 && !strcmp(CNF_EntryDirective(e), "server") &&
             !strcmp(CNF_EntryArgString(e, 0, ""), "b.example") &&
             CNF_EntryHasOption(e, "iburst") && CNF_EntryOptionInt(e, "minpoll", 0) == 4);
  CNF_Finalise();
}

static void test_line_limits(void)
{
  static char line[4200];
  char *out;

  /* 2048 bytes is the limit; the newline does not count */
  memset(line, 'x', sizeof(line));
  memcpy(line, "driftfile /", 11);
  line[2048] = '\0';
  TEST_CHECK(parse_text(line) == 0);
  TEST_CHECK(strlen(CNF_EntryArgString(CNF_Last("driftfile"), 0, "")) == 2048 - 10);
  line[2048] = 'x';
  line[2049] = '\0';
  TEST_CHECK(parse_text(line) == -1);
  CHECK_ERROR("t.conf:1: line too long (2049 bytes, the limit is 2048)");
  TEST_CHECK(CNF_First(NULL) == NULL);

  /* the same from a file, with a line much longer than the reader's buffer */
  line[2049] = 'x';
  line[4199] = '\0';
  write_file("long.conf", "rtcsync\n%s\nmanual\n", line);
  CNF_Initialise();
  capture_start();
  TEST_CHECK(CNF_ParseFile(tmp_path("long.conf")) == -1);
  capture_end();
  {
    char msg[600];

    snprintf(msg, sizeof(msg), "%s:2: line too long (4199 bytes, the limit is 2048)",
             tmp_path("long.conf"));
    CHECK_ERROR(msg);
  }
  TEST_CHECK(entry_count(NULL) == 2 && CNF_EntryLine(CNF_Last("manual")) == 3);

  /* NUL bytes and control characters are errors, not crashes; CRLF line ends are fine */
  CNF_Initialise();
  capture_start();
  TEST_CHECK(CNF_ParseBuffer("b", BYTES("rtcsync\nserver a\0b iburst\nmanual\r\n")) == -1);
  TEST_CHECK(CNF_ParseBuffer("c", BYTES("server a\001\n")) == -1);
  TEST_CHECK(CNF_ParseBuffer("d", BYTES("server a\177\n")) == -1);
  TEST_CHECK(CNF_ParseBuffer("e", BYTES("server a\x1b[31m\n")) == -1);
  TEST_CHECK(CNF_ParseBuffer("f", BYTES("driftfile /var/lib/\xc3\xa9t\xc3\xa9\n")) == 0);
  capture_end();
  CHECK_ERROR("b:2: NUL byte in line");
  CHECK_ERROR("c:1: control character 0x01 in line");
  CHECK_ERROR("d:1: control character 0x7f in line");
  CHECK_ERROR("e:1: control character 0x1b in line");
  TEST_CHECK(count_of(log_text, " error: ") == 4);
  out = print_entries();
  TEST_CHECKF(!strcmp(out, "rtcsync\nmanual\ndriftfile /var/lib/\xc3\xa9t\xc3\xa9\n"), "%s",
              out);
  free(out);

  {
    FILE *f = fopen(tmp_path("nul.conf"), "w");

    fwrite("rtcsync\nmanual\0\nlock_all\n", 1, 25, f);
    fclose(f);
  }
  CNF_Initialise();
  capture_start();
  TEST_CHECK(CNF_ParseFile(tmp_path("nul.conf")) == -1);
  capture_end();
  TEST_CHECKF(strstr(log_text, "nul.conf:2: NUL byte in line\n") != NULL, "%s", log_text);
  TEST_CHECK(entry_count(NULL) == 2);
  CNF_Finalise();
}

static void test_check_implemented(void)
{
  TEST_CHECK(parse_text("local stratum 3\npidfile /run/kairosd.pid\n") == 0);
  capture_start();
  TEST_CHECK(CNF_CheckImplemented() == 0);
  capture_end();
  TEST_CHECKF(log_text[0] == '\0', "log: %s", log_text);

  TEST_CHECK(parse_text("local stratum 3\npidfile /run/kairosd.pid\nserver 127.0.0.1 iburst\n"
                        "keyfile /etc/chrony.keys\n") == 0);
  capture_start();
  TEST_CHECK(CNF_CheckImplemented() == -1);
  capture_end();
  CHECK_ERROR("t.conf:3: directive 'server' is not supported yet");
  CHECK_ERROR("t.conf:4: directive 'keyfile' is not supported yet");
  TEST_CHECK(count_of(log_text, " error: ") == 2);

  /* command-line directives */
  CNF_Initialise();
  capture_start();
  TEST_CHECK(CNF_ParseLine("command line", 2, "server 127.0.0.1 iburst") == 0);
  TEST_CHECK(CNF_ParseLine("command line", 3, "   ") == 0);
  TEST_CHECK(CNF_ParseLine("command line", 4, "makestep") == -1);
  TEST_CHECK(CNF_CheckImplemented() == -1);
  capture_end();
  CHECK_ERROR("command line:4: makestep: missing argument 'threshold'; usage: makestep "
              "THRESHOLD LIMIT");
  CHECK_ERROR("command line:2: directive 'server' is not supported yet");
  TEST_CHECK(entry_count(NULL) == 1 &&
             !strcmp(CNF_EntryFile(CNF_First(NULL)), "command line"));
  CNF_Finalise();
}

/* Parsed entries as text, with their file and line left out, to compare two parses */
static char *describe_entries(void)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  CNF_Entry e;
  int i;

  for (e = CNF_First(NULL); e; e = CNF_Next(e)) {
    fprintf(f, "%s/%d", CNF_EntryDirective(e), CNF_EntryArgCount(e));
    for (i = 0; i < CNF_EntryArgCount(e); i++)
      fprintf(f, " [%s|%ld|%.17g]", CNF_EntryArgString(e, i, "-"), CNF_EntryArgInt(e, i, -1),
              CNF_EntryArgDouble(e, i, -1));
    fputc('\n', f);
  }
  fclose(f);
  return buf;
}

static void test_round_trip(void)
{
  const char *conf =
      "server ntp1.example.net iburst minpoll 4 maxpoll 9 key 10 maxdelay 0.30 "
      "maxdelayratio 2.0 maxdelaydevratio 10 maxdelayquant 0.2 mindelay 1e-4 asymmetry -0.25 "
      "offset 0.1 minsamples 4 maxsamples 64 filter 3 offline auto_offline prefer noselect "
      "trust require xleave polltarget 12 port 1123 presend 9 minstratum 2 version 4 copy "
      "extfield F323 nts ntsport 4460 certset 1\n"
      "pool pool.ntp.org iburst maxsources 3\n"
      "peer 192.0.2.7 key 2 xleave\n"
      "initstepslew 30 ntp1.example.net ntp2.example.net\n"
      "initstepslew 1.5\n"
      "manual\n"
      "dumpdir /var/run/chrony\n"
      "ntsdumpdir /var/lib/chrony\n"
      "ntsrefresh 2419200\n"
      "ntstrustedcerts 1 /etc/pki/nts/ca2.crt\n"
      "nosystemcert\n"
      "nocerttimecheck 1\n"
      "authselectmode require\n"
      "combinelimit 3.0\nmaxdistance 3.0\nmaxjitter 1.0\nminsources 2\nreselectdist 1e-4\n"
      "stratumweight 0.001\ncorrtimeratio 3\ndriftfile /var/lib/chrony/drift\n"
      "fallbackdrift 16 19\nleapsecmode slew\nleapsectz right/UTC\n"
      "leapseclist /usr/share/zoneinfo/leap-seconds.list\nmakestep 0.1 -1\n"
      "maxchange 1000 1 2\nmaxclockerror 0.1\nmaxdrift 500\nmaxupdateskew 100.0\n"
      "maxslewrate 83333.333\n"
      "allow\nallow all\nallow 10\nallow ::/0\ndeny all 10.0.0.0/8\n"
      "bindaddress 192.168.1.1\nbinddevice eth0\nclientloglimit 1048576\nnoclientlog\n"
      "local stratum 10 orphan distance 0.1 activate 0.5 waitsynced 7200 waitunsynced 300\n"
      "ntsport 4460\nntsservercert /etc/pki/cert.pem\nntsserverkey /etc/pki/key.pem\n"
      "ntsprocesses 3\nmaxntsconnections 100\nntsntpserver ntp.example.net\n"
      "ntsrotate 2592000\nport 123\nratelimit interval 1 burst 16 leak 2 kod 1\n"
      "ntsratelimit interval 3 burst 1\nsmoothtime 400 0.001024 leaponly\ndscp 46\n"
      "bindcmdaddress 127.0.0.1\nbindcmdaddress /var/run/chrony/chronyd.sock\n"
      "cmdallow 192.168.0.0/16\ncmddeny all\ncmdport 323\ncmdratelimit interval 2\n"
      "rtcsync\nlog measurements statistics tracking rawmeasurements selection rtc refclocks "
      "tempcomp\nlog\nlogchange 0.5\nlogdir /var/log/chrony\nkeyfile /etc/chrony.keys\n"
      "lock_all\npidfile /run/chronyd.pid\nsched_priority 1\nuser chrony\n"
      "serverthreads 16\nserverio mmsg\nratelimitprefix6 56\nmetricsaddress 127.0.0.1 9123\n";
  char *first, *printed, *second, *reprinted;

  TEST_CHECK(parse_text(conf) == 0);
  TEST_CHECKF(log_text[0] == '\0', "log: %s", log_text);
  first = describe_entries();
  printed = print_entries();
  TEST_CHECK(parse_text(printed) == 0);
  TEST_CHECKF(log_text[0] == '\0', "log: %s", log_text);
  second = describe_entries();
  reprinted = print_entries();
  TEST_CHECKF(!strcmp(first, second), "first:\n%s\nsecond:\n%s", first, second);
  TEST_CHECKF(!strcmp(printed, reprinted), "printed:\n%s\nreprinted:\n%s", printed, reprinted);
  TEST_CHECK(count_of(printed, "\n") == count_of(conf, "\n"));
  TEST_CHECK(strstr(printed, "\nmakestep 0.1 -1\n") && strstr(printed, "\ncombinelimit 3\n") &&
             strstr(printed, "\nreselectdist 0.0001\n") &&
             strstr(printed, "\nallow 10.0.0.0/8\n") && strstr(printed, "\nallow all\n") &&
             strstr(printed, "\nmaxslewrate 83333.333\n") &&
             strstr(printed, " maxdelay 0.3 maxdelayratio 2 "));
  free(first);
  free(second);
  free(printed);
  free(reprinted);

  /* every directive of the table that takes a line appears above */
  {
    int i;

    for (i = 0; i < CNF_DirectiveCount; i++) {
      const CNF_Directive *d = &CNF_Directives[i];
      char needle[64];

      if (d->status == CNF_UNSUPPORTED || d->status == CNF_OBSOLETE || d->alias_of ||
          (d->flags & (CNF_D_INCLUDE | CNF_D_CONFDIR | CNF_D_SOURCEDIR)))
        continue;
      snprintf(needle, sizeof(needle), "\n%s", d->name);
      TEST_CHECKF(!strncmp(conf, needle + 1, strlen(needle + 1)) || strstr(conf, needle),
                  "directive %s not in the round trip", d->name);
    }
  }
  CNF_Finalise();
}

static void test_table(void)
{
  static const char *const implemented[] = {
    "include",
    "confdir",
    "sourcedir",
    "pidfile",
    "local",
    "allow",
    "deny",
    "bindaddress",
    "binddevice",
    "clientloglimit",
    "noclientlog",
    "port",
    "ratelimit",
    "dscp",
    "serverthreads",
    "serverio",
    "ratelimitprefix6",
  };
  static const char *const parsed[] = {
    "server",
    "pool",
    "peer",
    "ntsratelimit",
    "cmdratelimit",
    "driftfile",
    "makestep",
    "maxchange",
    "maxdrift",
    "maxclockerror",
    "maxslewrate",
    "corrtimeratio",
    "maxupdateskew",
    "fallbackdrift",
    "rtcsync",
    "logdir",
    "log",
    "logchange",
    "dumpdir",
    "leapsectz",
    "leapseclist",
    "leapsecmode",
    "smoothtime",
    "minsources",
    "maxdistance",
    "maxjitter",
    "combinelimit",
    "reselectdist",
    "stratumweight",
    "authselectmode",
    "initstepslew",
    "manual",
    "bindcmdaddress",
    "cmdport",
    "cmdallow",
    "cmddeny",
    "user",
    "ntsserverkey",
    "ntsservercert",
    "ntsport",
    "ntsprocesses",
    "maxntsconnections",
    "ntsntpserver",
    "ntsdumpdir",
    "ntsrotate",
    "ntstrustedcerts",
    "nosystemcert",
    "nocerttimecheck",
    "ntsrefresh",
    "keyfile",
    "lock_all",
    "sched_priority",
    "metricsaddress",
  };
  static const char *const unsupported[] = {
    "acquisitionport", "bindacqaddress", "bindacqdevice", "bindcmddevice", "broadcast",
    "clockprecision",  "hwclockfile",    "hwtimestamp",   "maxsamples",    "minsamples",
    "mailonchange",    "ptpport",        "refclock",      "rtcautotrim",   "rtcdevice",
    "rtcfile",         "rtconutc",       "tempcomp",      "logbanner",     "ntpsigndsocket",
  };
  int i, j, n_implemented = 0, n_parsed = 0;
  size_t k;

  for (k = 0; k < sizeof(implemented) / sizeof(implemented[0]); k++) {
    const CNF_Directive *d = CNF_FindDirective(implemented[k]);

    TEST_CHECKF(d && d->status == CNF_IMPLEMENTED, "%s", implemented[k]);
  }
  for (k = 0; k < sizeof(parsed) / sizeof(parsed[0]); k++) {
    const CNF_Directive *d = CNF_FindDirective(parsed[k]);

    TEST_CHECKF(d && d->status == CNF_PARSED, "%s", parsed[k]);
  }
  for (k = 0; k < sizeof(unsupported) / sizeof(unsupported[0]); k++) {
    const CNF_Directive *d = CNF_FindDirective(unsupported[k]);
    char line[64], msg[128];

    TEST_CHECKF(d && d->status == CNF_UNSUPPORTED, "%s", unsupported[k]);
    snprintf(line, sizeof(line), "%s 1 2 3", unsupported[k]);
    TEST_CHECK(parse_text(line) == -1);
    snprintf(msg, sizeof(msg), "t.conf:1: directive '%s' is not supported yet",
             unsupported[k]);
    CHECK_ERROR(msg);
  }
  TEST_CHECK(CNF_FindDirective("ntscachedir") == CNF_FindDirective("ntsdumpdir"));
  TEST_CHECK(CNF_FindDirective("Server") == CNF_FindDirective("server"));
  TEST_CHECK(CNF_FindDirective("frobnicate") == NULL);

  /* the table's own rules */
  for (i = 0; i < CNF_DirectiveCount; i++) {
    const CNF_Directive *d = &CNF_Directives[i];
    const CNF_Param *p;
    int n_args = 0;

    n_implemented += d->status == CNF_IMPLEMENTED;
    n_parsed += d->status == CNF_PARSED && !d->alias_of;
    for (j = 0; d->name[j]; j++)
      TEST_CHECKF(d->name[j] == '_' || (d->name[j] >= 'a' && d->name[j] <= 'z') ||
                      (d->name[j] >= '0' && d->name[j] <= '9'),
                  "%s: lower-case name", d->name);
    for (j = i + 1; j < CNF_DirectiveCount; j++)
      TEST_CHECKF(strcmp(d->name, CNF_Directives[j].name), "%s twice", d->name);
    TEST_CHECKF(d->alias_of ? CNF_FindDirective(d->name) != d
                            : CNF_FindDirective(d->name) == d,
                "%s: lookup", d->name);
    for (p = d->args; p && p->name; p++, n_args++) {
      TEST_CHECKF(p->type != CNF_T_FLAG && !(p->flags & CNF_P_REPEAT), "%s %s", d->name,
                  p->name);
      /* a list takes the rest of the line; an optional non-keyword argument is guessed by
         counting words, which options would confuse */
      TEST_CHECKF(!(p->flags & (CNF_P_LIST | CNF_P_LIST1)) || !p[1].name, "%s %s: list last",
                  d->name, p->name);
      TEST_CHECKF(!d->opts || !(p->flags & (CNF_P_LIST | CNF_P_LIST1)) ||
                      p->type == CNF_T_KEYWORD,
                  "%s %s", d->name, p->name);
      TEST_CHECKF(!d->opts || !(p->flags & CNF_P_OPTIONAL) || p->type == CNF_T_KEYWORD,
                  "%s %s", d->name, p->name);
      TEST_CHECKF(p->type != CNF_T_KEYWORD || (p->flags & CNF_P_OPTIONAL), "%s %s", d->name,
                  p->name);
      TEST_CHECKF(p->type != CNF_T_ENUM || (p->words && p->words[0]), "%s %s", d->name,
                  p->name);
      TEST_CHECKF(p->min <= p->max, "%s %s: range", d->name, p->name);
    }
    TEST_CHECKF(n_args <= 8, "%s: %d arguments", d->name, n_args);
    for (p = d->opts; p && p->name; p++) {
      const CNF_Param *q;

      TEST_CHECKF(p->type != CNF_T_KEYWORD && !(p->flags & ~CNF_P_REPEAT), "%s %s", d->name,
                  p->name);
      TEST_CHECKF(p->min <= p->max, "%s %s: range", d->name, p->name);
      for (q = p + 1; q->name; q++)
        TEST_CHECKF(strcmp(p->name, q->name), "%s: option %s twice", d->name, p->name);
    }
    TEST_CHECKF(d->status == CNF_IMPLEMENTED || d->status == CNF_PARSED ||
                    (!d->args && !d->opts),
                "%s: unsupported rows have no syntax", d->name);
  }
  TEST_CHECK(n_implemented == 17);
  TEST_CHECKF(n_parsed == (int) (sizeof(parsed) / sizeof(parsed[0])), "%d parsed", n_parsed);
  CNF_Finalise();
}

int main(void)
{
  if (!mkdtemp(tmp_dir)) {
    perror("mkdtemp");
    return 1;
  }
  LOG_Initialise();

  test_faq_client();
  test_faq_nts();
  test_typed_values();
  test_allow_deny();
  test_errors();
  test_comments_and_blanks();
  test_line_limits();
  test_check_implemented();
  test_round_trip();
  test_table();

  LOG_Finalise();
  nftw(tmp_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  TEST_EXIT();
}
