/* replay.c - runs every file of a fuzz corpus directory (or single files) through a
   target's LLVMFuzzerTestOneInput, so corpora are replayed under ctest with the normal
   compiler. Fails when the corpus is missing or empty. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  uint8_t *buf;
  long len;

  if (!f) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
    fclose(f);
    return -1;
  }
  /* a private copy of exactly the file's size lets ASan catch reads past the end */
  buf = malloc(len ? (size_t) len : 1);
  if (!buf || fread(buf, 1, (size_t) len, f) != (size_t) len) {
    free(buf);
    fclose(f);
    return -1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, (size_t) len);
  free(buf);
  return 0;
}

int main(int argc, char **argv)
{
  int i, files = 0;

  for (i = 1; i < argc; i++) {
    struct stat st;
    DIR *d;
    struct dirent *e;

    if (stat(argv[i], &st) < 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (replay_file(argv[i]) < 0)
        return 1;
      files++;
      continue;
    }
    d = opendir(argv[i]);
    if (!d)
      return 1;
    while ((e = readdir(d))) {
      char path[4096];

      if (e->d_name[0] == '.')
        continue;
      snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
      if (replay_file(path) < 0) {
        closedir(d);
        return 1;
      }
      files++;
    }
    closedir(d);
  }
  printf("replayed %d inputs\n", files);
  return files > 0 ? 0 : 1;
}
