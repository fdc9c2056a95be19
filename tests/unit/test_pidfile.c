/* test_pidfile.c - atomic writes, symlink refusal and pid file ownership. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/fileutil.h"
#include "engine/pidfile.h"
#include "test.h"

static char dir[] = "/tmp/kairos-test-pidfile-XXXXXX";

static int count_entries(void)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;

  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.')
      n++;
  if (d)
    closedir(d);
  return n;
}

static void cleanup(void)
{
  char cmd[256];

  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cleanup of %s failed\n", dir);
}

int main(void)
{
  char path[256], link[256], target[256], buf[64];
  struct stat st;
  pid_t other = 0, child;

  if (!mkdtemp(dir))
    TEST_SKIP("mkdtemp failed");
  snprintf(path, sizeof(path), "%s/kairosd.pid", dir);
  snprintf(link, sizeof(link), "%s/link.pid", dir);
  snprintf(target, sizeof(target), "%s/target", dir);

  /* atomic write: content and mode as asked, no temporary file left */
  TEST_CHECK(FIL_WriteAtomic(path, "hello\n", 6, 0600) == 0);
  TEST_CHECK(FIL_ReadSmall(path, buf, sizeof(buf)) == 6 && strcmp(buf, "hello\n") == 0);
  TEST_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
  TEST_CHECK(FIL_WriteAtomic(path, "x", 1, 0644) == 0);
  TEST_CHECK(FIL_ReadSmall(path, buf, sizeof(buf)) == 1 && buf[0] == 'x');
  TEST_CHECKF(count_entries() == 1, "%d entries", count_entries());

  /* a failed write (directory missing) leaves nothing behind */
  TEST_CHECK(FIL_WriteAtomic("/nonexistent-kairos-dir/x", "a", 1, 0644) == -ENOENT);
  /* FIL_ReadSmall truncates to the buffer */
  TEST_CHECK(FIL_ReadSmall(path, buf, 1) == 0 && buf[0] == '\0');

  /* symlinks are refused and their target is untouched */
  TEST_CHECK(FIL_WriteAtomic(target, "keep\n", 5, 0644) == 0);
  TEST_CHECK(symlink(target, link) == 0);
  TEST_CHECK(FIL_WriteAtomic(link, "evil", 4, 0644) == -ELOOP);
  TEST_CHECK(PID_Write(link, NULL) == -ELOOP);
  TEST_CHECK(FIL_ReadSmall(target, buf, sizeof(buf)) == 5 && strcmp(buf, "keep\n") == 0);
  TEST_CHECK(FIL_ReadSmall(link, buf, sizeof(buf)) == -ELOOP);
  /* a directory in the way is not replaced */
  TEST_CHECK(FIL_WriteAtomic(dir, "x", 1, 0644) == -EINVAL);

  /* our own pid file */
  unlink(path);
  TEST_CHECK(PID_Write(path, &other) == 0);
  TEST_CHECK(FIL_ReadSmall(path, buf, sizeof(buf)) > 0 && atol(buf) == (long) getpid());
  /* rewriting over our own pid is fine (not "another kairosd") */
  TEST_CHECK(PID_Write(path, &other) == 0);

  /* a stale pid file (process gone) is replaced */
  child = fork();
  if (child == 0)
    _exit(0);
  waitpid(child, NULL, 0);
  snprintf(buf, sizeof(buf), "%ld\n", (long) child);
  TEST_CHECK(FIL_WriteAtomic(path, buf, strlen(buf), 0644) == 0);
  TEST_CHECK(PID_Write(path, &other) == 0);

  /* a live process that is not kairosd (pid 1 or our parent) does not block us */
  snprintf(buf, sizeof(buf), "%ld\n", (long) getppid());
  TEST_CHECK(FIL_WriteAtomic(path, buf, strlen(buf), 0644) == 0);
  TEST_CHECK(PID_Write(path, &other) == 0);

  /* garbage content is treated as stale */
  TEST_CHECK(FIL_WriteAtomic(path, "12abc\n", 6, 0644) == 0);
  TEST_CHECK(PID_Write(path, &other) == 0);

  /* PID_Remove removes only a file naming this process */
  snprintf(buf, sizeof(buf), "%ld\n", (long) getppid());
  TEST_CHECK(FIL_WriteAtomic(path, buf, strlen(buf), 0644) == 0);
  PID_Remove(path);
  TEST_CHECK(access(path, F_OK) == 0);
  TEST_CHECK(PID_Write(path, NULL) == 0);
  PID_Remove(path);
  TEST_CHECK(access(path, F_OK) < 0 && errno == ENOENT);

  cleanup();
  TEST_EXIT();
}
