/* conf.c - the chrony.conf parser: splits lines into words, checks them against the table
   of directives (conf_table.c), keeps typed entries in parse order, follows include,
   confdir and sourcedir, and prints entries back in canonical form. */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "engine/conf.h"
#include "engine/conf_table.h"
#include "engine/logging.h"

#define MAX_LINE  2048 /* bytes in a line, newline excluded */
#define MAX_DEPTH 10   /* files open at once through include/confdir/sourcedir */
#define MAX_DIRS  10   /* directories of one confdir/sourcedir line, as chrony */
#define MAX_ARGS  8    /* positional arguments of a table row */

typedef struct {
  const CNF_Param *param;
  CNF_Value value;
} Option;

typedef struct Entry Entry;

/* An entry is handed out through one of two views: iteration over the entries of its
   directive, or over all entries (CNF_First(NULL)). CNF_Next follows the view it gets, so
   iterations need no shared state. */
struct CNF_Entry_Record {
  Entry *entry;
  int all;
};

struct Entry {
  const CNF_Directive *directive;
  const char *file; /* interned in file_names */
  int line;
  int n_args; /* one past the last argument given */
  CNF_Value *args;
  int n_opts;
  Option *opts;
  Entry *next;
  struct CNF_Entry_Record same_view, all_view;
};

typedef struct FileName {
  struct FileName *next;
  char name[];
} FileName;

/* The files being read, innermost last: include depth and loop detection */
typedef struct {
  int depth;
  int sources_only; /* in a sourcedir *.sources file */
  dev_t dev[MAX_DEPTH];
  ino_t ino[MAX_DEPTH];
} Context;

static Entry *first_entry, *last_entry;
static FileName *file_names;
static int follow_includes = 1;

static int parse_file(Context *ctx, const char *path, const char *from_file, int from_line);

/* ================================================== */

static void *xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);

  if (!p) {
    LOG(LOGS_FATAL, "configuration: out of memory");
    abort();
  }
  return p;
}

static void conf_error(const char *file, int line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void conf_error(const char *file, int line, const char *format, ...)
{
  char msg[1024];
  va_list ap;

  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  LOG(LOGS_ERR, "%s:%d: %s", file, line, msg);
}

static const char *intern_file_name(const char *name)
{
  FileName *f;
  size_t len = strlen(name) + 1;

  for (f = file_names; f; f = f->next) {
    if (!strcmp(f->name, name))
      return f->name;
  }
  f = CNF_XMalloc(sizeof(*f) + len);
  memcpy(f->name, name, len);
  f->next = file_names;
  file_names = f;
  return f->name;
}

/* ================================================== */
/* Entries */

static void free_value(CNF_Value *v)
{
  free(v->text);
  v->text = NULL;
}

static void free_entry(Entry *e)
{
  int i;

  for (i = 0; i < e->n_args; i++)
    free_value(&e->args[i]);
  for (i = 0; i < e->n_opts; i++)
    free_value(&e->opts[i].value);
  free(e->args);
  free(e->opts);
  free(e);
}

static int count_params(const CNF_Param *p)
{
  int n = 0;

  while (p && p[n].name)
    n++;
  return n;
}

/* The words after the directive name into a new entry; NULL after logging the error */
static Entry *parse_entry(const CNF_Directive *d, const char *file, int line, char **words,
                          int n_words)
{
  const CNF_Param *args = d->args, *p;
  int n_specs = count_params(args), need[MAX_ARGS + 1], i, k, w = 0, slot = 0;
  char what[160], use[512];
  Entry *e;

  if (n_specs > MAX_ARGS)
    abort(); /* a table row out of bounds: our bug */

  /* need[i]: words the required arguments from i on take */
  need[n_specs] = 0;
  for (i = n_specs - 1; i >= 0; i--)
    need[i] = need[i + 1] + !(args[i].flags & (CNF_P_OPTIONAL | CNF_P_LIST));

  e = xcalloc(1, sizeof(*e));
  e->directive = d;
  e->file = intern_file_name(file);
  e->line = line;
  e->args = xcalloc((size_t) (n_words + n_specs), sizeof(CNF_Value));
  e->opts = xcalloc((size_t) n_words, sizeof(Option));
  e->same_view.entry = e->all_view.entry = e;
  e->all_view.all = 1;

  for (i = 0; i < n_specs; i++) {
    int take;

    p = &args[i];
    if (p->flags & (CNF_P_LIST | CNF_P_LIST1))
      take = n_words - w - need[i + 1];
    else if (p->type == CNF_T_KEYWORD)
      take = w < n_words && !strcasecmp(words[w], p->name);
    else if (p->flags & CNF_P_OPTIONAL)
      take = n_words - w > need[i + 1];
    else
      take = w < n_words;

    if (take < 1 && !(p->flags & (CNF_P_OPTIONAL | CNF_P_LIST))) {
      conf_error(file, line, "%s: missing argument '%s'; usage: %s", d->name, p->name,
                 CNF_Usage(d, use, sizeof(use)));
      goto error;
    }
    if (take < 1 && !(p->flags & CNF_P_LIST))
      slot++; /* an optional argument left out keeps its place */
    for (k = 0; k < take; k++, w++, slot++) {
      if (CNF_ParseValue(p, words[w], &e->args[slot]) < 0) {
        conf_error(file, line, "%s: argument '%s' expects %s, got '%s'", d->name, p->name,
                   CNF_DescribeParam(p, what, sizeof(what)), words[w]);
        goto error;
      }
      e->n_args = slot + 1;
    }
  }

  if (!d->opts && w < n_words) {
    conf_error(file, line, "%s: unexpected argument '%s'; usage: %s", d->name, words[w],
               CNF_Usage(d, use, sizeof(use)));
    goto error;
  }

  while (w < n_words) {
    const char *name = words[w++];
    Option *o = &e->opts[e->n_opts];

    for (p = d->opts; p->name && strcasecmp(p->name, name); p++)
      ;
    if (!p->name) {
      conf_error(file, line, "%s: unknown option '%s'; usage: %s", d->name, name,
                 CNF_Usage(d, use, sizeof(use)));
      goto error;
    }
    for (k = 0; k < e->n_opts && !(p->flags & CNF_P_REPEAT); k++) {
      if (e->opts[k].param == p) {
        conf_error(file, line, "%s: option '%s' given twice", d->name, p->name);
        goto error;
      }
    }
    o->param = p;
    if (p->type == CNF_T_FLAG) {
      CNF_ParseValue(p, "", &o->value);
    } else if (w >= n_words) {
      conf_error(file, line, "%s: option '%s' needs a value (%s)", d->name, p->name,
                 CNF_DescribeParam(p, what, sizeof(what)));
      goto error;
    } else if (CNF_ParseValue(p, words[w], &o->value) < 0) {
      conf_error(file, line, "%s: option '%s' expects %s, got '%s'", d->name, p->name,
                 CNF_DescribeParam(p, what, sizeof(what)), words[w]);
      goto error;
    } else {
      w++;
    }
    e->n_opts++;
  }
  return e;

error:
  /* a value that failed may hold nothing; free_entry frees up to n_args only */
  e->n_args = n_words + n_specs;
  free_entry(e);
  return NULL;
}

static void append_entry(Entry *e)
{
  if (last_entry)
    last_entry->next = e;
  else
    first_entry = e;
  last_entry = e;
}

/* ================================================== */
/* include, confdir, sourcedir */

typedef struct {
  char *name;
  int dir;
} DirFile;

static int compare_dir_files(const void *a, const void *b)
{
  const DirFile *x = a, *y = b;
  int r = strcmp(x->name, y->name);

  return r ? r : x->dir - y->dir;
}

/* The files of the directories with the suffix, sorted by name; a name in an earlier
   directory hides the same name in later ones. A missing directory is no error (chrony
   globs the directory for the suffix, which then matches nothing). */
static int parse_dirs(Context *ctx, Entry *e, const char *suffix)
{
  size_t suffix_len = strlen(suffix), n = 0, cap = 16, i;
  DirFile *files = CNF_XMalloc(cap * sizeof(*files));
  int d, r = 0;

  if (e->n_args > MAX_DIRS) {
    conf_error(e->file, e->line, "%s: at most %d directories", e->directive->name, MAX_DIRS);
    free(files);
    return -1;
  }
  for (d = 0; d < e->n_args; d++) {
    DIR *dir = opendir(e->args[d].text);
    struct dirent *de;

    if (!dir) {
      if (errno == ENOENT || errno == ENOTDIR)
        continue;
      conf_error(e->file, e->line, "%s: cannot open '%s': %s", e->directive->name,
                 e->args[d].text, strerror(errno));
      r = -1;
      continue;
    }
    while ((de = readdir(dir))) {
      size_t len = strlen(de->d_name);

      if (de->d_name[0] == '.' || len <= suffix_len ||
          strcmp(de->d_name + len - suffix_len, suffix))
        continue;
      if (n == cap)
        files = realloc(files, (cap *= 2) * sizeof(*files));
      if (!files) {
        LOG(LOGS_FATAL, "configuration: out of memory");
        abort();
      }
      files[n].name = CNF_XStrdup(de->d_name);
      files[n++].dir = d;
    }
    closedir(dir);
  }

  qsort(files, n, sizeof(*files), compare_dir_files);
  for (i = 0; i < n; i++) {
    if (i == 0 || strcmp(files[i].name, files[i - 1].name)) {
      const char *dir = e->args[files[i].dir].text;
      char *path = CNF_XMalloc(strlen(dir) + strlen(files[i].name) + 2);

      sprintf(path, "%s/%s", dir, files[i].name);
      if (parse_file(ctx, path, e->file, e->line) < 0)
        r = -1;
      free(path);
    }
  }
  for (i = 0; i < n; i++)
    free(files[i].name);
  free(files);
  return r;
}

/* Without GLOB_NOMAGIC a literal path that does not exist would be no error; with it,
   only a wildcard matching nothing is (as chrony) */
static int parse_include(Context *ctx, Entry *e)
{
  const char *pattern = e->args[0].text;
  glob_t gl;
  size_t i;
  int r = 0, g = glob(pattern, GLOB_ERR | GLOB_NOMAGIC, NULL, &gl);

  if (g == GLOB_NOMATCH)
    return 0;
  if (g) {
    conf_error(e->file, e->line, "include: cannot search for '%s'", pattern);
    return -1;
  }
  for (i = 0; i < gl.gl_pathc; i++) {
    if (parse_file(ctx, gl.gl_pathv[i], e->file, e->line) < 0)
      r = -1;
  }
  globfree(&gl);
  return r;
}

static int follow(Context *ctx, Entry *e)
{
  int r, sources_only = ctx->sources_only;

  if (!follow_includes)
    return 0;
  if (ctx->depth >= MAX_DEPTH) {
    conf_error(e->file, e->line, "%s: more than %d nested configuration files",
               e->directive->name, MAX_DEPTH);
    return -1;
  }
  if (e->directive->flags & CNF_D_INCLUDE)
    return parse_include(ctx, e);
  if (e->directive->flags & CNF_D_CONFDIR)
    return parse_dirs(ctx, e, ".conf");
  ctx->sources_only = 1;
  r = parse_dirs(ctx, e, ".sources");
  ctx->sources_only = sources_only;
  return r;
}

/* ================================================== */
/* Lines */

static int is_blank(int c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* `text` holds min(len, MAX_LINE) bytes: a longer line is rejected for its length */
static int parse_line(Context *ctx, const char *file, int line, const char *text, size_t len)
{
  char buf[MAX_LINE + 1], *words[MAX_LINE / 2 + 1], *s;
  const CNF_Directive *d;
  int n_words = 0;
  size_t i;
  Entry *e;

  if (len > MAX_LINE) {
    conf_error(file, line, "line too long (%zu bytes, the limit is %d)", len, MAX_LINE);
    return -1;
  }
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char) text[i];

    if (c == '\0') {
      conf_error(file, line, "NUL byte in line");
      return -1;
    }
    if ((c < 0x20 && !is_blank(c)) || c == 0x7f) {
      conf_error(file, line, "control character 0x%02x in line", c);
      return -1;
    }
  }
  memcpy(buf, text, len);
  buf[len] = '\0';

  for (s = buf;;) {
    while (is_blank(*s))
      s++;
    if (!*s)
      break;
    /* a comment is a line whose first non-blank character is one of these */
    if (n_words == 0 && strchr("#!;%", *s))
      return 0;
    words[n_words++] = s;
    while (*s && !is_blank(*s))
      s++;
    if (*s)
      *s++ = '\0';
  }
  if (n_words == 0)
    return 0;

  d = CNF_FindDirective(words[0]);
  if (!d) {
    conf_error(file, line, "unknown directive '%s'", words[0]);
    return -1;
  }
  if (ctx->sources_only && !(d->flags & CNF_D_SOURCE)) {
    conf_error(file, line,
               "directive '%s' is not allowed in a sources file (only server, pool, peer, "
               "refclock)",
               d->name);
    return -1;
  }
  if (d->status == CNF_UNSUPPORTED) {
    conf_error(file, line, "directive '%s' is not supported yet", d->name);
    return -1;
  }
  if (d->status == CNF_OBSOLETE) {
    LOG(LOGS_WARN, "%s:%d: directive '%s' is obsolete and ignored", file, line, d->name);
    return 0;
  }

  e = parse_entry(d, file, line, words + 1, n_words - 1);
  if (!e)
    return -1;
  append_entry(e);
  if (d->flags & (CNF_D_INCLUDE | CNF_D_CONFDIR | CNF_D_SOURCEDIR))
    return follow(ctx, e);
  return 0;
}

/* Reads lines into a fixed buffer (the rest of an overlong line is counted, not kept), so
   a file without newlines cannot make us allocate. */
static int parse_stream(Context *ctx, FILE *f, const char *path)
{
  char buf[MAX_LINE];
  int c, line = 0, r = 0;

  do {
    size_t len = 0;

    while ((c = getc(f)) != EOF && c != '\n') {
      if (len < sizeof(buf))
        buf[len] = (char) c;
      len++;
    }
    if (c == EOF && len == 0)
      break;
    line++;
    if (c == EOF && ctx->sources_only) {
      /* chrony expects complete lines there: the file may be being written */
      LOG(LOGS_WARN, "%s:%d: line without a newline ignored", path, line);
      break;
    }
    if (parse_line(ctx, path, line, buf, len) < 0)
      r = -1;
  } while (c != EOF);

  if (ferror(f)) {
    conf_error(path, line + 1, "read error: %s", strerror(errno));
    r = -1;
  }
  return r;
}

static int parse_file(Context *ctx, const char *path, const char *from_file, int from_line)
{
  struct stat st;
  FILE *f;
  int i, r, err;

  f = fopen(path, "r");
  if (!f) {
    if (from_file)
      conf_error(from_file, from_line, "cannot open '%s': %s", path, strerror(errno));
    else
      LOG(LOGS_ERR, "cannot open configuration file '%s': %s", path, strerror(errno));
    return -1;
  }
  err = fstat(fileno(f), &st) < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
  if (err) {
    if (from_file)
      conf_error(from_file, from_line, "cannot read '%s': %s", path, strerror(err));
    else
      LOG(LOGS_ERR, "cannot read configuration file '%s': %s", path, strerror(err));
    fclose(f);
    return -1;
  }
  for (i = 0; i < ctx->depth; i++) {
    if (ctx->dev[i] == st.st_dev && ctx->ino[i] == st.st_ino) {
      conf_error(from_file, from_line, "include loop: '%s' is already being read", path);
      fclose(f);
      return -1;
    }
  }

  ctx->dev[ctx->depth] = st.st_dev;
  ctx->ino[ctx->depth] = st.st_ino;
  ctx->depth++;
  r = parse_stream(ctx, f, path);
  ctx->depth--;
  fclose(f);
  return r;
}

/* ================================================== */
/* Public */

void CNF_Initialise(void)
{
  CNF_Finalise();
}

void CNF_Finalise(void)
{
  Entry *e, *next;
  FileName *f, *next_f;

  for (e = first_entry; e; e = next) {
    next = e->next;
    free_entry(e);
  }
  for (f = file_names; f; f = next_f) {
    next_f = f->next;
    free(f);
  }
  first_entry = last_entry = NULL;
  file_names = NULL;
  follow_includes = 1;
}

void CNF_SetFollowIncludes(int follow_them)
{
  follow_includes = follow_them;
}

int CNF_ParseFile(const char *path)
{
  Context ctx = { 0 };

  return parse_file(&ctx, path, NULL, 0);
}

int CNF_ParseBuffer(const char *origin, const char *data, size_t len)
{
  Context ctx = { 0 };
  const char *end = data + len;
  int line = 1, r = 0;

  while (data < end) {
    const char *nl = memchr(data, '\n', (size_t) (end - data));
    size_t n = nl ? (size_t) (nl - data) : (size_t) (end - data);

    if (parse_line(&ctx, origin, line++, data, n) < 0)
      r = -1;
    if (!nl)
      break;
    data = nl + 1;
  }
  return r;
}

int CNF_ParseString(const char *origin, const char *text)
{
  return CNF_ParseBuffer(origin, text, strlen(text));
}

int CNF_ParseLine(const char *origin, int line, const char *text)
{
  Context ctx = { 0 };

  return parse_line(&ctx, origin, line, text, strlen(text));
}

int CNF_CheckImplemented(void)
{
  Entry *e;
  int r = 0;

  for (e = first_entry; e; e = e->next) {
    if (e->directive->status != CNF_IMPLEMENTED) {
      conf_error(e->file, e->line, "directive '%s' is not supported yet", e->directive->name);
      r = -1;
    }
  }
  return r;
}

void CNF_Print(FILE *out)
{
  Entry *e;
  int i;

  for (e = first_entry; e; e = e->next) {
    /* the entries of the files they read follow them: printed as comments, so the output
       parsed again does not read those files twice */
    if (e->directive->flags & (CNF_D_INCLUDE | CNF_D_CONFDIR | CNF_D_SOURCEDIR))
      fputs("# ", out);
    fputs(e->directive->name, out);
    for (i = 0; i < e->n_args; i++) {
      if (e->args[i].present)
        fprintf(out, " %s", e->args[i].text);
    }
    for (i = 0; i < e->n_opts; i++) {
      fprintf(out, " %s", e->opts[i].param->name);
      if (e->opts[i].value.text && e->opts[i].param->type != CNF_T_FLAG)
        fprintf(out, " %s", e->opts[i].value.text);
    }
    fputc('\n', out);
  }
}

CNF_Entry CNF_First(const char *directive)
{
  const CNF_Directive *d;
  Entry *e;

  if (!directive)
    return first_entry ? &first_entry->all_view : NULL;
  d = CNF_FindDirective(directive);
  for (e = first_entry; d && e; e = e->next) {
    if (e->directive == d)
      return &e->same_view;
  }
  return NULL;
}

CNF_Entry CNF_Next(CNF_Entry entry)
{
  Entry *e;

  if (!entry)
    return NULL;
  if (entry->all)
    return entry->entry->next ? &entry->entry->next->all_view : NULL;
  for (e = entry->entry->next; e; e = e->next) {
    if (e->directive == entry->entry->directive)
      return &e->same_view;
  }
  return NULL;
}

CNF_Entry CNF_Last(const char *directive)
{
  const CNF_Directive *d = CNF_FindDirective(directive);
  Entry *e, *last = NULL;

  for (e = first_entry; d && e; e = e->next) {
    if (e->directive == d)
      last = e;
  }
  return last ? &last->same_view : NULL;
}

const char *CNF_EntryDirective(CNF_Entry entry)
{
  return entry->entry->directive->name;
}

const char *CNF_EntryFile(CNF_Entry entry)
{
  return entry->entry->file;
}

int CNF_EntryLine(CNF_Entry entry)
{
  return entry->entry->line;
}

int CNF_EntryArgCount(CNF_Entry entry)
{
  return entry->entry->n_args;
}

static const CNF_Value *arg_value(CNF_Entry entry, int index)
{
  if (!entry || index < 0 || index >= entry->entry->n_args ||
      !entry->entry->args[index].present)
    return NULL;
  return &entry->entry->args[index];
}

const char *CNF_EntryArgString(CNF_Entry entry, int index, const char *dflt)
{
  const CNF_Value *v = arg_value(entry, index);

  return v ? v->text : dflt;
}

long CNF_EntryArgInt(CNF_Entry entry, int index, long dflt)
{
  const CNF_Value *v = arg_value(entry, index);

  return v ? v->i : dflt;
}

double CNF_EntryArgDouble(CNF_Entry entry, int index, double dflt)
{
  const CNF_Value *v = arg_value(entry, index);

  return v ? v->d : dflt;
}

/* The nth (0-based) value of an option on the entry's line, or NULL */
static const CNF_Value *option_value(CNF_Entry entry, const char *option, int nth)
{
  int i;

  for (i = 0; entry && i < entry->entry->n_opts; i++) {
    if (!strcasecmp(entry->entry->opts[i].param->name, option) && nth-- == 0)
      return &entry->entry->opts[i].value;
  }
  return NULL;
}

int CNF_EntryHasOption(CNF_Entry entry, const char *option)
{
  return option_value(entry, option, 0) != NULL;
}

int CNF_EntryOptionCount(CNF_Entry entry, const char *option)
{
  int n = 0;

  while (option_value(entry, option, n))
    n++;
  return n;
}

const char *CNF_EntryOptionString(CNF_Entry entry, const char *option, const char *dflt)
{
  const CNF_Value *v = option_value(entry, option, 0);

  return v && v->text ? v->text : dflt;
}

long CNF_EntryOptionInt(CNF_Entry entry, const char *option, long dflt)
{
  return CNF_EntryOptionIntAt(entry, option, 0, dflt);
}

long CNF_EntryOptionIntAt(CNF_Entry entry, const char *option, int nth, long dflt)
{
  const CNF_Value *v = option_value(entry, option, nth);

  return v ? v->i : dflt;
}

double CNF_EntryOptionDouble(CNF_Entry entry, const char *option, double dflt)
{
  const CNF_Value *v = option_value(entry, option, 0);

  return v ? v->d : dflt;
}
