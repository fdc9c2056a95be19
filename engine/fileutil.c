/* fileutil.c - atomic file replacement and small file reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/fileutil.h"

static int check_target(const char *path)
{
  struct stat st;

  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : -errno;
  if (S_ISLNK(st.st_mode))
    return -ELOOP;
  if (!S_ISREG(st.st_mode))
    return -EINVAL;
  return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
  const char *p = data;

  while (len > 0) {
    ssize_t n = write(fd, p, len);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += n;
    len -= (size_t) n;
  }
  return 0;
}

/* Flush the directory entry of a rename; failure here is not worth failing the write. */
static void sync_parent(const char *path)
{
  char dir[4096];
  const char *slash = strrchr(path, '/');
  int fd;

  if (!slash) {
    snprintf(dir, sizeof(dir), ".");
  } else if (slash == path) {
    snprintf(dir, sizeof(dir), "/");
  } else {
    snprintf(dir, sizeof(dir), "%.*s", (int) (slash - path), path);
  }
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int FIL_WriteAtomic(const char *path, const void *data, size_t len, mode_t mode)
{
  char tmp[4096];
  int fd, r;

  r = check_target(path);
  if (r < 0)
    return r;
  if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int) sizeof(tmp))
    return -ENAMETOOLONG;

  fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return -errno;

  r = fchmod(fd, mode) < 0 ? -errno : 0;
  if (r == 0)
    r = write_all(fd, data, len);
  if (r == 0 && fsync(fd) < 0)
    r = -errno;
  if (close(fd) < 0 && r == 0)
    r = -errno;
  /* check again just before the rename: a link planted meanwhile is still refused */
  if (r == 0)
    r = check_target(path);
  if (r == 0 && rename(tmp, path) < 0)
    r = -errno;
  if (r < 0) {
    unlink(tmp);
    return r;
  }
  sync_parent(path);
  return 0;
}

ssize_t FIL_ReadSmall(const char *path, char *buf, size_t size)
{
  ssize_t n, total = 0;
  int fd;

  if (size == 0)
    return -EINVAL;
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return -errno;
  while ((size_t) total < size - 1) {
    n = read(fd, buf + total, size - 1 - (size_t) total);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      n = -errno;
      close(fd);
      return n;
    }
    if (n == 0)
      break;
    total += n;
  }
  close(fd);
  buf[total] = '\0';
  return total;
}
