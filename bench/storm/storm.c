// Import storm (the pynamic case): dlopen every lib*.so in DIR, as a Python
// or Julia rank importing many small modules does. Prints one line with the
// rank and the seconds it took.
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: storm DIR COUNT\n");
    return 2;
  }
  int count = atoi(argv[2]);
  const char* rank = getenv("OMPI_COMM_WORLD_RANK");
  if (rank == NULL) rank = getenv("SLURM_PROCID");
  double start = now();
  char path[4096];
  for (int i = 0; i < count; ++i) {
    snprintf(path, sizeof path, "%s/lib%04d.so", argv[1], i);
    void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
      fprintf(stderr, "storm: %s\n", dlerror());
      return 1;
    }
    int (*f)(void) = (int (*)(void))dlsym(handle, "storm_value");
    if (f == NULL || f() != 42) return 1;
  }
  printf("storm rank=%s libs=%d seconds=%.4f\n", rank ? rank : "0", count, now() - start);
  return 0;
}
