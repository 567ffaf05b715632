// pingpong: ranks 0 and 1 bounce a message back and forth; message sizes double from
// 8 bytes up to --max-size (default 64 MiB; suffixes K, M, G = KiB, MiB, GiB). Other
// ranks only initialize and finalize. Needs at least 2 ranks (exit 2 otherwise).
//
// The iteration count per size is chosen from a short timed warm-up so that every size
// takes about --time-per-size seconds (default 0.2), between 5 and 20000 iterations.
//
// Rank 0 prints, per size:
//   pingpong size=<bytes> iters=<n> latency_us=<one-way us> bandwidth_MBps=<1e6 B/s>
// and at the end:
//   pingpong: max_size=<bytes> bandwidth_MBps=<bandwidth at the largest size>
#include <mpi.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool parse_size(const char* s, long long& out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s, &end, 10);
  if (errno != 0 || v <= 0) return false;
  long long mult = 1;
  if (*end != '\0') {
    switch (*end) {
      case 'k':
      case 'K':
        mult = 1LL << 10;
        break;
      case 'm':
      case 'M':
        mult = 1LL << 20;
        break;
      case 'g':
      case 'G':
        mult = 1LL << 30;
        break;
      default:
        return false;
    }
    ++end;
    if (*end == 'i') ++end;
    if (*end == 'B' || *end == 'b') ++end;
    if (*end != '\0') return false;
  }
  if (v > (1LL << 31) / mult) return false;  // MPI counts are int
  out = v * mult;
  return true;
}

unsigned char pattern(long long size, long long pos) {
  return static_cast<unsigned char>((size * 31 + pos * 7 + 1) & 0xff);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, nranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);

  long long max_size = 64LL << 20;
  double per_size = 0.2;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool ok = i + 1 < argc;
    if (ok && a == "--max-size") {
      ok = parse_size(argv[++i], max_size) && max_size >= 8 && max_size <= INT32_MAX;
    } else if (ok && a == "--time-per-size") {
      char* end = nullptr;
      per_size = std::strtod(argv[++i], &end);
      ok = *end == '\0' && per_size > 0 && per_size < 3600;
    } else {
      ok = false;
    }
    if (!ok) {
      if (rank == 0)
        std::fprintf(stderr,
                     "pingpong: bad option '%s'\n"
                     "usage: pingpong [--max-size BYTES[K|M|G]] [--time-per-size SECONDS]\n",
                     a.c_str());
      MPI_Finalize();
      return 2;
    }
  }
  if (nranks < 2) {
    if (rank == 0) std::fprintf(stderr, "pingpong: needs at least 2 ranks, got %d\n", nranks);
    MPI_Finalize();
    return 2;
  }

  std::vector<long long> sizes;
  for (long long s = 8; s <= max_size; s *= 2) sizes.push_back(s);
  if (sizes.back() != max_size) sizes.push_back(max_size);

  double last_bw = 0.0;
  if (rank <= 1) {
    const int peer = 1 - rank;
    std::vector<unsigned char> buf(static_cast<std::size_t>(max_size));
    std::memset(buf.data(), 0, buf.size());  // fault the pages in before timing
    for (long long size : sizes) {
      const int count = static_cast<int>(size);
      const long long probes[3] = {0, size / 2, size - 1};
      if (rank == 0)
        for (long long p : probes) buf[p] = pattern(size, p);

      auto round = [&](int iters) {
        for (int it = 0; it < iters; ++it) {
          if (rank == 0) {
            MPI_Send(buf.data(), count, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
            MPI_Recv(buf.data(), count, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          } else {
            MPI_Recv(buf.data(), count, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf.data(), count, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
          }
        }
      };

      // Warm-up (2..200 round trips, ~4 MiB each way in all), then rank 0 picks the
      // iteration count from it and tells rank 1.
      const int warm = static_cast<int>(std::clamp((4LL << 20) / size, 2LL, 200LL));
      double t = MPI_Wtime();
      round(warm);
      t = (MPI_Wtime() - t) / warm;
      int iters = 0;
      if (rank == 0) {
        double want = per_size / std::max(t, 1e-9);
        iters = static_cast<int>(std::clamp(want, 5.0, 20000.0));
      }
      if (rank == 0) {
        MPI_Send(&iters, 1, MPI_INT, peer, 1, MPI_COMM_WORLD);
      } else {
        MPI_Recv(&iters, 1, MPI_INT, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (long long p : probes) {
          if (buf[p] != pattern(size, p)) {
            std::fprintf(stderr, "pingpong: data mismatch at size %lld offset %lld\n", size, p);
            MPI_Abort(MPI_COMM_WORLD, 3);
          }
        }
      }

      t = MPI_Wtime();
      round(iters);
      t = MPI_Wtime() - t;
      if (rank == 0) {
        double one_way = t / (2.0 * iters);
        last_bw = static_cast<double>(size) / one_way / 1e6;
        std::printf("pingpong size=%lld iters=%d latency_us=%.3f bandwidth_MBps=%.1f\n", size, iters, one_way * 1e6,
                    last_bw);
        std::fflush(stdout);
      }
    }
  }
  if (rank == 0) {
    std::printf("pingpong: max_size=%lld bandwidth_MBps=%.1f\n", max_size, last_bw);
    std::fflush(stdout);
  }
  MPI_Finalize();
  return 0;
}
