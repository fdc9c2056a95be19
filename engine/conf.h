/* conf.h - the chrony.conf parser. Directives are parsed through one table of directives
   with typed positional arguments and options into a list of entries that the modules
   read at startup. Main (engine) thread only; not reentrant.

   Directive and option names are not case-sensitive, as chrony's. Errors are reported
   through LOG_Message(LOGS_ERR, "FILE:LINE: ...") and make the parse functions return -1
   after the rest of the text or file has been parsed (every bad line is reported);
   kairosd then exits with status 1. */
#ifndef KAIROS_CONF_H
#define KAIROS_CONF_H

#include <stddef.h>
#include <stdio.h>

typedef struct CNF_Entry_Record *CNF_Entry;

void CNF_Initialise(void);
/* Frees every entry and resets the parser. */
void CNF_Finalise(void);

/* Parse a configuration file (with its include/confdir/sourcedir directives). */
int CNF_ParseFile(const char *path);
/* Parse a multi-line text (the embedded default configuration); `origin` names it in
   messages and in CNF_EntryFile. */
int CNF_ParseString(const char *origin, const char *text);
/* Parse one directive line, e.g. from the command line (origin "command line", line = the
   argument's position). */
int CNF_ParseLine(const char *origin, int line, const char *text);
/* Parse `len` bytes that may hold NUL bytes (each a per-line error), e.g. fuzz input. */
int CNF_ParseBuffer(const char *origin, const char *data, size_t len);

/* With 0, include/confdir/sourcedir lines are checked and kept as entries but no file is
   read (the fuzz target sets it so that inputs cannot read the machine's files).
   CNF_Initialise and CNF_Finalise set it back to 1. */
void CNF_SetFollowIncludes(int follow);

/* Before the daemon starts: report each parsed directive whose feature kairos does not
   implement yet ("FILE:LINE: directive 'x' is not supported yet"). Returns 0 or -1. */
int CNF_CheckImplemented(void);

/* Print every entry in canonical form, one line each, in the order parsed. Directives
   are printed in lower case, numbers normalised (1.0 -> 1), addresses and subnets as
   address/bits. include, confdir and sourcedir lines are printed as comments ("# include
   X") followed by the entries of the files they read, so that the output parsed again
   gives the same entries without reading those files twice. */
void CNF_Print(FILE *out);

/* Entries in the order parsed. CNF_First(NULL) starts with the first entry of any
   directive; CNF_First("server") with the first `server` entry. CNF_Next continues with
   the next entry of the same directive (or of any directive after CNF_First(NULL)). */
CNF_Entry CNF_First(const char *directive);
CNF_Entry CNF_Next(CNF_Entry entry);
/* The last entry of a directive that may appear once (later lines override), or NULL. */
CNF_Entry CNF_Last(const char *directive);

const char *CNF_EntryDirective(CNF_Entry entry);
const char *CNF_EntryFile(CNF_Entry entry);
int CNF_EntryLine(CNF_Entry entry);

/* Positional arguments, 0-based, in the typed form the table gives them. A missing
   optional argument returns the default passed in; it keeps its index (`allow 10` has
   argument 0, the optional `all`, missing and argument 1 "10.0.0.0/8"). The count is one
   past the last argument given. */
int CNF_EntryArgCount(CNF_Entry entry);
const char *CNF_EntryArgString(CNF_Entry entry, int index, const char *dflt);
long CNF_EntryArgInt(CNF_Entry entry, int index, long dflt);
double CNF_EntryArgDouble(CNF_Entry entry, int index, double dflt);

/* Named options (e.g. `iburst`, `minpoll 4`). A flag option reads as 1 when present. */
int CNF_EntryHasOption(CNF_Entry entry, const char *option);
const char *CNF_EntryOptionString(CNF_Entry entry, const char *option, const char *dflt);
long CNF_EntryOptionInt(CNF_Entry entry, const char *option, long dflt);
double CNF_EntryOptionDouble(CNF_Entry entry, const char *option, double dflt);
/* Options that may be repeated on a line (`extfield`): how many times it was given, and
   the nth value (0-based). */
int CNF_EntryOptionCount(CNF_Entry entry, const char *option);
long CNF_EntryOptionIntAt(CNF_Entry entry, const char *option, int nth, long dflt);

#endif
