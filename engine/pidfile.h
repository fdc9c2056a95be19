/* pidfile.h - kairosd's pid file: refuses symbolic links, refuses to start beside a
   running kairosd, writes atomically, and is removed at exit only if it is still ours.
   Main thread only, at startup and exit. */
#ifndef KAIROS_PIDFILE_H
#define KAIROS_PIDFILE_H

#include <sys/types.h>

/* Returns 0, -ELOOP (a symlink), -EEXIST (another live kairosd is named in it; its pid
   is stored in *other if other is not NULL), or another negative errno. */
int PID_Write(const char *path, pid_t *other);

/* Removes the file if it holds this process's pid. */
void PID_Remove(const char *path);

#endif
