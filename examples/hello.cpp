// hello: one identifying line per rank, used to check where a rank runs.
//
//   hello rank=<r> size=<n> host=<h> mntns=<ino> userns=<ino> uid=<uid>
//         marker=<first line of /etc/hpclaunch-example-marker | MISSING> cpus=<list>
//
// Options:
//   --exit-rank R --exit-code C   after printing, rank R calls exit(C) without
//                                 MPI_Finalize (the others finalize normally)
//   --no-mpi                      never touch MPI; rank/size come from the launcher's
//                                 environment (OMPI_COMM_WORLD_* or SLURM_*)
#include <mpi.h>

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {

void usage(const char* prog) { std::fprintf(stderr, "usage: %s [--no-mpi] [--exit-rank R --exit-code C]\n", prog); }

bool parse_int(const char* s, long& out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < INT_MIN || v > INT_MAX) return false;
  out = v;
  return true;
}

// "mnt:[4026531841]" -> "4026531841"; "?" when unreadable.
std::string ns_inode(const char* path) {
  char buf[256];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  if (n < 0) return "?";
  buf[n] = '\0';
  const char* lb = std::strchr(buf, '[');
  const char* rb = lb ? std::strchr(lb, ']') : nullptr;
  if (lb == nullptr || rb == nullptr) return buf;
  return std::string(lb + 1, rb);
}

std::string marker() {
  std::ifstream f("/etc/hpclaunch-example-marker");
  std::string line;
  if (!f || !std::getline(f, line)) return "MISSING";
  return line;
}

std::string cpus_allowed() {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string key = "Cpus_allowed_list:";
  while (std::getline(f, line)) {
    if (line.compare(0, key.size(), key) == 0) {
      std::size_t i = key.size();
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      return line.substr(i);
    }
  }
  return "?";
}

int env_int(const char* a, const char* b, int dflt) {
  for (const char* name : {a, b}) {
    long v;
    if (parse_int(std::getenv(name), v)) return static_cast<int>(v);
  }
  return dflt;
}

void print_line(int rank, int size) {
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "?");
  std::string mnt = ns_inode("/proc/self/ns/mnt");
  std::string user = ns_inode("/proc/self/ns/user");
  std::string mark = marker();
  std::string cpus = cpus_allowed();
  // One printf + flush so that lines of different ranks never interleave.
  std::printf("hello rank=%d size=%d host=%s mntns=%s userns=%s uid=%u marker=%s cpus=%s\n", rank, size, host,
              mnt.c_str(), user.c_str(), static_cast<unsigned>(getuid()), mark.c_str(), cpus.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  bool no_mpi = false;
  long exit_rank = -1, exit_code = 1;
  bool have_exit_rank = false, have_exit_code = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-mpi") {
      no_mpi = true;
    } else if (a == "--exit-rank" && i + 1 < argc) {
      if (!parse_int(argv[++i], exit_rank) || exit_rank < 0) {
        std::fprintf(stderr, "hello: bad --exit-rank '%s'\n", argv[i]);
        return 2;
      }
      have_exit_rank = true;
    } else if (a == "--exit-code" && i + 1 < argc) {
      if (!parse_int(argv[++i], exit_code) || exit_code < 0 || exit_code > 255) {
        std::fprintf(stderr, "hello: bad --exit-code '%s' (0..255)\n", argv[i]);
        return 2;
      }
      have_exit_code = true;
    } else if (a == "-h" || a == "--help") {
      usage(argv[0]);
      return 0;
    } else {
      std::fprintf(stderr, "hello: unknown or incomplete option '%s'\n", a.c_str());
      usage(argv[0]);
      return 2;
    }
  }
  if (have_exit_code && !have_exit_rank) {
    std::fprintf(stderr, "hello: --exit-code needs --exit-rank\n");
    return 2;
  }

  if (no_mpi) {
    int rank = env_int("OMPI_COMM_WORLD_RANK", "SLURM_PROCID", 0);
    int size = env_int("OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS", 1);
    print_line(rank, size);
    if (have_exit_rank && rank == exit_rank) std::exit(static_cast<int>(exit_code));
    return 0;
  }

  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  print_line(rank, size);
  if (have_exit_rank && rank == exit_rank) {
    std::fflush(nullptr);
    std::exit(static_cast<int>(exit_code));  // deliberately without MPI_Finalize
  }
  MPI_Finalize();
  return 0;
}
