/* server.h - the NTP server: reads its directives, opens one SO_REUSEPORT socket per
   address for each worker (or takes sockets from systemd socket activation), builds the
   ACL and the shared client log, and runs the workers. Engine thread only; the workers
   themselves are in worker.c. */
#ifndef KAIROS_SERVER_H
#define KAIROS_SERVER_H

#include "server/srvstats.h"

/* 1 if the configuration asks for an NTP server (an `allow` directive and port != 0). */
int SRV_IsConfigured(void);

/* Start the server from the parsed configuration. 0 or a negative errno (logged). */
int SRV_Initialise(void);
/* Stop and join the workers, log the final counters, free everything. Returns -1 if a
   worker had failed (kairosd then exits with status 1), else 0. */
int SRV_Finalise(void);

/* Counters summed over the workers; and the log line SIGUSR1 asks for. */
void SRV_GetStats(SVS_Counters *total);
void SRV_LogStats(void);

#endif
