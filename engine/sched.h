/* sched.h - the engine thread's event loop: poll(2) over file handlers plus timers on the
   monotonic clock. Engine thread only, except SCH_QuitProgram, which is also safe to call
   from a signal handler. Nothing always-readable sits in the poll set (no self-pipe): a
   signal interrupts poll() with EINTR and the loop checks the quit flag. */
#ifndef KAIROS_SCHED_H
#define KAIROS_SCHED_H

#include <poll.h>

typedef void (*SCH_FileHandler)(int fd, int events, void *arg);
typedef void (*SCH_TimeoutHandler)(void *arg);
typedef unsigned long SCH_TimeoutID; /* 0 is never a valid id */

void SCH_Initialise(void);
void SCH_Finalise(void);

/* Watch fd for `events` (POLLIN, POLLOUT); the handler gets the revents. Returns 0 or a
   negative errno (-EEXIST when fd is already watched). */
int SCH_AddFileHandler(int fd, int events, SCH_FileHandler handler, void *arg);
void SCH_SetFileHandlerEvents(int fd, int events);
void SCH_RemoveFileHandler(int fd);

/* Call handler once, `delay` seconds from now (monotonic, >= 0). Timers due at the same
   time run in the order they were added. */
SCH_TimeoutID SCH_AddTimeout(double delay, SCH_TimeoutHandler handler, void *arg);
/* Removing an id that already ran or was removed is harmless. */
void SCH_RemoveTimeout(SCH_TimeoutID id);

/* Run until SCH_QuitProgram is called; returns 0, or a negative errno on poll failure. */
int SCH_MainLoop(void);

/* Call `hook` at the top of every loop iteration (after any poll() return, EINTR
   included): where flags set by signal handlers are turned into work on the engine
   thread. NULL removes it. */
typedef void (*SCH_LoopHook)(void);
void SCH_SetLoopHook(SCH_LoopHook hook);

/* Async-signal-safe: ask SCH_MainLoop to return after the current iteration. */
void SCH_QuitProgram(void);

#endif
