/* fuzz_conf_line.c - libFuzzer target for the chrony.conf parser: the input as a whole
   text (NUL bytes included), then line by line as command-line directives, then printed
   and parsed again, which must give the same output. include/confdir/sourcedir lines are
   parsed but not followed (CNF_SetFollowIncludes(0)): an input cannot read the machine's
   files, and the include code is covered by the unit tests instead. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/conf.h"
#include "engine/logging.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The printed text without its comment lines (include/confdir/sourcedir), and whether
   every line stays within the parser's limit: numbers written as 1e14 print longer, so a
   line near the limit may not read back, and that is no bug. */
static char *without_comments(const char *text, int *fits)
{
  char *out = malloc(strlen(text) + 1), *o = out;

  if (!out)
    abort();
  *fits = 1;
  while (*text) {
    const char *nl = strchr(text, '\n');
    size_t len = nl ? (size_t) (nl - text) + 1 : strlen(text);

    if (len > 2048 + 1)
      *fits = 0;
    if (text[0] != '#') {
      memcpy(o, text, len);
      o += len;
    }
    text += len;
  }
  *o = '\0';
  return out;
}

static char *print_all(void)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);

  if (!f)
    abort();
  CNF_Print(f);
  fclose(f);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = malloc(size + 1), *line, *save = NULL, *first, *second, *expected;
  int n = 0, r, fits;

  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  LOG_SetMinSeverity(LOGS_FATAL);

  CNF_Initialise();
  CNF_SetFollowIncludes(0);
  r = CNF_ParseBuffer("fuzz", (const char *) data, size);
  first = print_all();

  /* what was accepted prints to text that parses to the same print */
  expected = without_comments(first, &fits);
  if (r == 0 && fits) {
    CNF_Initialise();
    CNF_SetFollowIncludes(0);
    if (CNF_ParseString("printed", first) != 0)
      abort();
    second = print_all();
    if (strcmp(expected, second))
      abort();
    free(second);
  }
  free(expected);
  free(first);

  CNF_Initialise();
  CNF_SetFollowIncludes(0);
  for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    CNF_ParseLine("command line", ++n, line);
  CNF_CheckImplemented();
  {
    FILE *null = fopen("/dev/null", "w");

    if (null) {
      CNF_Print(null);
      fclose(null);
    }
  }
  CNF_Finalise();
  free(text);
  return 0;
}
