/* test_conf_files.c - the chrony.conf parser reading files: include (wildcards, missing
   files, loops, the nesting limit, the mode that keeps include lines unread), confdir and
   sourcedir, with the files written under a temporary directory. The shared helpers are
   in conf_test_util.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_test_util.h"
#include "engine/conf.h"
#include "engine/logging.h"
#include "test.h"

/* ================================================== */
/* tests */

static void test_include(void)
{
  char conf[1024], msg[1024];
  CNF_Entry e;
  char *out;

  make_dir("inc");
  write_file("inc/b.conf", "server b.example\n");
  write_file("inc/a.conf", "# first\nserver a.example iburst\n");
  write_file("inc/c.txt", "server c.example\n");
  write_file("main.conf",
             "rtcsync\ninclude %s/inc/*.conf\ninclude %s/inc/none*.conf\n"
             "manual\n",
             tmp_dir, tmp_dir);

  CNF_Initialise();
  capture_start();
  TEST_CHECK(CNF_ParseFile(tmp_path("main.conf")) == 0);
  capture_end();
  TEST_CHECKF(log_text[0] == '\0', "log: %s", log_text);
  e = CNF_First(NULL);
  TEST_CHECK(e && !strcmp(CNF_EntryDirective(e), "rtcsync"));
  e = CNF_Next(e);
  TEST_CHECK(e && !strcmp(CNF_EntryDirective(e), "include") && CNF_EntryLine(e) == 2);
  e = CNF_Next(e);
  TEST_CHECK(e && !strcmp(CNF_EntryArgString(e, 0, ""), "a.example") &&
             !strcmp(CNF_EntryFile(e), tmp_path("inc/a.conf")) && CNF_EntryLine(e) == 2);
  e = CNF_Next(e);
  TEST_CHECK(e && !strcmp(CNF_EntryArgString(e, 0, ""), "b.example") &&
             !strcmp(CNF_EntryFile(e), tmp_path("inc/b.conf")) && CNF_EntryLine(e) == 1);
  e = CNF_Next(CNF_Next(e));
  TEST_CHECK(e && !strcmp(CNF_EntryDirective(e), "manual") &&
             !strcmp(CNF_EntryFile(e), tmp_path("main.conf")) && CNF_EntryLine(e) == 4);
  TEST_CHECK(entry_count("server") == 2);
  capture_start();
  TEST_CHECK(CNF_CheckImplemented() == -1); /* the servers */
  capture_end();

  /* print: include lines as comments, then what they read; parsed again, the same */
  out = print_entries();
  snprintf(conf, sizeof(conf),
           "rtcsync\n# include %s/inc/*.conf\nserver a.example iburst\nserver b.example\n"
           "# include %s/inc/none*.conf\nmanual\n",
           tmp_dir, tmp_dir);
  TEST_CHECKF(!strcmp(out, conf), "printed:\n%s", out);
  TEST_CHECK(parse_text(out) == 0 && entry_count(NULL) == 4);
  free(out);

  /* a literal path that does not exist is an error (a wildcard matching nothing is not) */
  snprintf(conf, sizeof(conf), "include %s/inc/missing.conf\n", tmp_dir);
  TEST_CHECK(parse_text(conf) == -1);
  snprintf(msg, sizeof(msg),
           "t.conf:1: cannot open '%s/inc/missing.conf': No such file or directory", tmp_dir);
  CHECK_ERROR(msg);

  /* include loops */
  write_file("loop1.conf", "rtcsync\ninclude %s/loop2.conf\n", tmp_dir);
  write_file("loop2.conf", "manual\ninclude %s/loop1.conf\n", tmp_dir);
  CNF_Initialise();
  capture_start();
  TEST_CHECK(CNF_ParseFile(tmp_path("loop1.conf")) == -1);
  capture_end();
  snprintf(msg, sizeof(msg), "%s:2: include loop: '%s' is already being read",
           tmp_path("loop2.conf"), tmp_path("loop1.conf"));
  CHECK_ERROR(msg);
  TEST_CHECK(count_of(log_text, " error: ") == 1);
  TEST_CHECK(entry_count("rtcsync") == 1 && entry_count("manual") == 1);

  write_file("self.conf", "include %s/self.conf\n", tmp_dir);
  snprintf(conf, sizeof(conf), "include %s/self.conf\n", tmp_dir);
  TEST_CHECK(parse_text(conf) == -1);
  snprintf(msg, sizeof(msg), "%s:1: include loop: '%s' is already being read",
           tmp_path("self.conf"), tmp_path("self.conf"));
  CHECK_ERROR(msg);

  /* a chain of 12 distinct files: the 11th is one too many */
  {
    int i;

    for (i = 1; i <= 12; i++) {
      char name[32];

      snprintf(name, sizeof(name), "chain%d.conf", i);
      if (i < 12)
        write_file(name, "include %s/chain%d.conf\n", tmp_dir, i + 1);
      else
        write_file(name, "rtcsync\n");
    }
    CNF_Initialise();
    capture_start();
    TEST_CHECK(CNF_ParseFile(tmp_path("chain1.conf")) == -1);
    capture_end();
    snprintf(msg, sizeof(msg), "%s:1: include: more than 10 nested configuration files",
             tmp_path("chain10.conf"));
    CHECK_ERROR(msg);
    TEST_CHECK(CNF_First("rtcsync") == NULL);
    CNF_Initialise();
    capture_start();
    TEST_CHECK(CNF_ParseFile(tmp_path("chain3.conf")) == 0);
    capture_end();
    TEST_CHECK(CNF_First("rtcsync") != NULL);
  }

  /* the fuzz target's mode: include lines kept, no file read */
  CNF_Initialise();
  CNF_SetFollowIncludes(0);
  snprintf(conf, sizeof(conf), "include %s/inc/*.conf\nconfdir %s\n", tmp_dir, tmp_dir);
  capture_start();
  TEST_CHECK(CNF_ParseString("t.conf", conf) == 0);
  capture_end();
  TEST_CHECK(entry_count(NULL) == 2 && entry_count("server") == 0);
  CNF_Finalise();
}

static void test_confdir(void)
{
  char conf[1024], msg[1024];
  static const struct {
    long port;
    const char *file;
  } expect[] = {
    { 1, "d1/a.conf" }, { 22, "d2/b.conf" }, { 3, "d1/c.conf" }, { 4, "d2/d.conf" }
  };
  CNF_Entry e;
  size_t i;

  make_dir("d1");
  make_dir("d2");
  write_file("d1/a.conf", "port 1\n");
  write_file("d1/c.conf", "port 3\n");
  write_file("d1/.hidden.conf", "port 99\n");
  write_file("d1/e.conf.orig", "port 98\n");
  write_file("d2/a.conf", "port 2\n"); /* hidden by d1/a.conf */
  write_file("d2/b.conf", "port 22\n");
  write_file("d2/d.conf", "port 4\n");
  write_file("d2/notes.txt", "port 97\n");

  snprintf(conf, sizeof(conf), "confdir %s/d1 %s/nonexistent %s/d2\nmanual\n", tmp_dir,
           tmp_dir, tmp_dir);
  TEST_CHECK(parse_text(conf) == 0);
  TEST_CHECKF(log_text[0] == '\0', "log: %s", log_text);
  TEST_CHECK(entry_count("port") == 4);
  for (i = 0, e = CNF_First("port"); e && i < 4; i++, e = CNF_Next(e)) {
    TEST_CHECKF(CNF_EntryArgInt(e, 0, 0) == expect[i].port, "%zu: port %ld", i,
                CNF_EntryArgInt(e, 0, 0));
    TEST_CHECKF(!strcmp(CNF_EntryFile(e), tmp_path(expect[i].file)), "%zu: %s", i,
                CNF_EntryFile(e));
  }
  TEST_CHECK(CNF_EntryArgInt(CNF_Last("port"), 0, 0) == 4);
  TEST_CHECK(!strcmp(CNF_EntryDirective(CNF_First(NULL)), "confdir"));
  TEST_CHECK(CNF_EntryArgCount(CNF_First(NULL)) == 3);

  snprintf(conf, sizeof(conf), "confdir 1 2 3 4 5 6 7 8 9 10 11\n");
  TEST_CHECK(parse_text(conf) == -1);
  CHECK_ERROR("t.conf:1: confdir: at most 10 directories");

  /* sourcedir: only sources; an unterminated last line may be half written */
  make_dir("src");
  write_file("src/a.sources", "server a.example iburst\npool b.example maxsources 2\n");
  write_file("src/b.sources", "server c.example\nmakestep 1 3\n");
  write_file("src/c.sources", "server d.example");
  write_file("src/d.conf", "server e.example\n");
  snprintf(conf, sizeof(conf), "sourcedir %s/src\n", tmp_dir);
  TEST_CHECK(parse_text(conf) == -1);
  snprintf(msg, sizeof(msg),
           "%s/src/b.sources:2: directive 'makestep' is not allowed in a sources file (only "
           "server, pool, peer, refclock)",
           tmp_dir);
  CHECK_ERROR(msg);
  TEST_CHECK(count_of(log_text, " error: ") == 1);
  snprintf(msg, sizeof(msg), " warning: %s/src/c.sources:1: line without a newline ignored\n",
           tmp_dir);
  TEST_CHECKF(strstr(log_text, msg) != NULL, "log: %s", log_text);
  TEST_CHECK(entry_count("server") == 2 && entry_count("pool") == 1 &&
             entry_count("makestep") == 0);
  e = CNF_First("pool");
  TEST_CHECK(CNF_EntryOptionInt(e, "maxsources", 4) == 2 && CNF_EntryLine(e) == 2);

  /* refclock is a source directive: in a sources file it meets its own error */
  write_file("src/b.sources", "refclock SHM 0\n");
  TEST_CHECK(parse_text(conf) == -1);
  snprintf(msg, sizeof(msg), "%s/src/b.sources:1: directive 'refclock' is not supported yet",
           tmp_dir);
  CHECK_ERROR(msg);
  CNF_Finalise();
}

int main(void)
{
  if (!mkdtemp(tmp_dir)) {
    perror("mkdtemp");
    return 1;
  }
  LOG_Initialise();

  test_include();
  test_confdir();

  LOG_Finalise();
  nftw(tmp_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  TEST_EXIT();
}
