/* fileutil.h - files written so that nothing on disk is ever half-written: a temporary
   file in the same directory, written, flushed, then renamed over the target.
   Any thread; the functions keep no state. */
#ifndef KAIROS_FILEUTIL_H
#define KAIROS_FILEUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Replace `path` with `len` bytes of `data` (file mode `mode`). A symbolic link at `path`
   is refused with -ELOOP, and a path that is not a regular file with -EINVAL, so a link
   planted by someone else cannot redirect the write. Returns 0 or a negative errno; on
   failure the old file, if any, is left as it was and no temporary file remains. */
int FIL_WriteAtomic(const char *path, const void *data, size_t len, mode_t mode);

/* Read at most size - 1 bytes of a regular file (not following a final symlink) into buf
   and NUL-terminate it. Returns the length or a negative errno. */
ssize_t FIL_ReadSmall(const char *path, char *buf, size_t size);

#endif
