/* conf_test_util.h - helpers shared by the chrony.conf parser tests (test_conf.c,
   test_conf_files.c): LOG output captured by pointing stderr at a temporary file, parsing
   from fresh state, printing entries, and files written under a temporary directory that
   main() creates with mkdtemp() and removes with nftw(..., remove_one, ...).
   Everything is static: each test program gets its own copy. */
#ifndef KAIROS_CONF_TEST_UTIL_H
#define KAIROS_CONF_TEST_UTIL_H

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/conf.h"
#include "test.h"

static char tmp_dir[] = "/tmp/kairos_test_conf.XXXXXX";
static char log_text[1 << 16];
static FILE *capture_file;
static int saved_stderr = -1;

/* ================================================== */
/* helpers */

static void capture_start(void)
{
  fflush(stderr);
  capture_file = tmpfile();
  saved_stderr = dup(2);
  if (!capture_file || saved_stderr < 0 || dup2(fileno(capture_file), 2) < 0) {
    perror("capture");
    exit(1);
  }
}

static const char *capture_end(void)
{
  size_t n;

  fflush(stderr);
  dup2(saved_stderr, 2);
  close(saved_stderr);
  rewind(capture_file);
  n = fread(log_text, 1, sizeof(log_text) - 1, capture_file);
  log_text[n] = '\0';
  fclose(capture_file);
  return log_text;
}

static int count_of(const char *text, const char *what)
{
  int n = 0;

  for (; (text = strstr(text, what)); text += strlen(what))
    n++;
  return n;
}

/* An error line as LOG_Message writes it: "<time> error: MESSAGE\n" */
static int logged_error(const char *message)
{
  char line[1024];

  snprintf(line, sizeof(line), " error: %s\n", message);
  return strstr(log_text, line) != NULL;
}

/* a string literal and its length, NUL bytes included */
#define BYTES(s) s, sizeof(s) - 1

#define CHECK_ERROR(message)                                                                  \
  TEST_CHECKF(logged_error(message), "expected error '%s', log:\n%s", message, log_text)

/* Parse `text` as file "t.conf" from fresh state, capturing the log */
static int parse_text(const char *text)
{
  int r;

  CNF_Initialise();
  capture_start();
  r = CNF_ParseString("t.conf", text);
  capture_end();
  return r;
}

static char *print_entries(void)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);

  CNF_Print(f);
  fclose(f);
  return buf;
}

static void write_file(const char *name, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void write_file(const char *name, const char *format, ...)
{
  char path[512];
  va_list ap;
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
  f = fopen(path, "w");
  if (!f) {
    perror(path);
    exit(1);
  }
  va_start(ap, format);
  vfprintf(f, format, ap);
  va_end(ap);
  fclose(f);
}

static const char *tmp_path(const char *name)
{
  static char paths[8][512];
  static int next;
  char *p = paths[next++ % 8];

  snprintf(p, 512, "%s/%s", tmp_dir, name);
  return p;
}

/* only test_conf_files.c makes directories */
static void make_dir(const char *name) __attribute__((unused));

static void make_dir(const char *name)
{
  if (mkdir(tmp_path(name), 0700) < 0) {
    perror(name);
    exit(1);
  }
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) flag;
  (void) ftw;
  return remove(path);
}

static int entry_count(const char *directive)
{
  CNF_Entry e;
  int n = 0;

  for (e = CNF_First(directive); e; e = CNF_Next(e))
    n++;
  return n;
}

#endif
