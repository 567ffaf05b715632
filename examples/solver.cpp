// solver: 2-D Jacobi heat stencil on an n x n grid of unknowns, decomposed over a
// 2-D Cartesian communicator. The top boundary is held at 1.0, the other three at
// 0.0, the interior starts at 0.0.
//
// residual = L2 norm of the update u_new - u_old over the whole grid. The update
// obeys d_{k+1} = J d_k with J = (1/4) * adjacency of the grid (symmetric, spectral
// radius cos(pi/(n+1)) < 1), so the residual falls strictly at every step.
//
// Options: --steps N (100)  --n N (256)  --report K (steps/10; 0 = only the summary)
// Rank 0 prints "step=<k> residual=<r>" every K steps and at the end
//   solver: ranks=<p> steps=<n> grid=<n>x<n> residual=<r> time=<seconds>s
#include <mpi.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

bool parse_int(const char* s, long& out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < 0 || v > INT_MAX) return false;
  out = v;
  return true;
}

// Block distribution of `n` items over `parts`: [begin, begin+count) for part `i`.
void split(int n, int parts, int i, int& begin, int& count) {
  int base = n / parts, rem = n % parts;
  count = base + (i < rem ? 1 : 0);
  begin = i * base + (i < rem ? i : rem);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, nranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);

  long steps = 100, n = 256, report = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    long* target = nullptr;
    if (a == "--steps")
      target = &steps;
    else if (a == "--n")
      target = &n;
    else if (a == "--report")
      target = &report;
    if (target == nullptr || i + 1 >= argc || !parse_int(argv[i + 1], *target)) {
      if (rank == 0)
        std::fprintf(stderr, "solver: bad option '%s'\nusage: solver [--steps N] [--n N] [--report K]\n", a.c_str());
      MPI_Finalize();
      return 2;
    }
    ++i;
  }
  if (report < 0) report = steps >= 10 ? steps / 10 : 1;

  int dims[2] = {0, 0}, periods[2] = {0, 0};
  MPI_Dims_create(nranks, 2, dims);
  if (n < 1 || n < dims[0] || n < dims[1]) {
    if (rank == 0) std::fprintf(stderr, "solver: grid %ld too small for %dx%d ranks\n", n, dims[0], dims[1]);
    MPI_Finalize();
    return 2;
  }
  MPI_Comm cart;
  MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, /*reorder=*/0, &cart);  // rank 0 stays rank 0
  int crank = 0, coords[2] = {0, 0};
  MPI_Comm_rank(cart, &crank);
  MPI_Cart_coords(cart, crank, 2, coords);
  int up, down, left, right;  // dim 0 = rows (up = smaller row index), dim 1 = columns
  MPI_Cart_shift(cart, 0, 1, &up, &down);
  MPI_Cart_shift(cart, 1, 1, &left, &right);

  int row0, rows, col0, cols;
  split(static_cast<int>(n), dims[0], coords[0], row0, rows);
  split(static_cast<int>(n), dims[1], coords[1], col0, cols);
  (void)row0;
  (void)col0;

  // Local block with a one-cell halo: (rows+2) x (cols+2), row-major.
  const int ld = cols + 2;
  std::vector<double> u((rows + 2) * static_cast<std::size_t>(ld), 0.0), v(u.size(), 0.0);
  auto at = [ld](std::vector<double>& a, int r, int c) -> double& { return a[static_cast<std::size_t>(r) * ld + c]; };
  // Fixed boundary: the halo row above the top row of the global grid is hot. Halos on
  // global edges are never written by the exchange (MPI_PROC_NULL), so it stays fixed.
  if (up == MPI_PROC_NULL)
    for (int c = 0; c < ld; ++c) at(u, 0, c) = at(v, 0, c) = 1.0;

  MPI_Datatype column;
  MPI_Type_vector(rows, 1, ld, MPI_DOUBLE, &column);
  MPI_Type_commit(&column);

  auto exchange = [&](std::vector<double>& a) {
    // rows: send my first row up, receive my bottom halo from below; and vice versa
    MPI_Sendrecv(&at(a, 1, 1), cols, MPI_DOUBLE, up, 0, &at(a, rows + 1, 1), cols, MPI_DOUBLE, down, 0, cart,
                 MPI_STATUS_IGNORE);
    MPI_Sendrecv(&at(a, rows, 1), cols, MPI_DOUBLE, down, 1, &at(a, 0, 1), cols, MPI_DOUBLE, up, 1, cart,
                 MPI_STATUS_IGNORE);
    MPI_Sendrecv(&at(a, 1, 1), 1, column, left, 2, &at(a, 1, cols + 1), 1, column, right, 2, cart, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&at(a, 1, cols), 1, column, right, 3, &at(a, 1, 0), 1, column, left, 3, cart, MPI_STATUS_IGNORE);
  };

  MPI_Barrier(cart);
  const double t0 = MPI_Wtime();
  double residual = 0.0;
  for (long k = 1; k <= steps; ++k) {
    exchange(u);
    double local = 0.0;
    for (int r = 1; r <= rows; ++r) {
      const double* up_row = &at(u, r - 1, 0);
      const double* row = &at(u, r, 0);
      const double* dn_row = &at(u, r + 1, 0);
      double* out = &at(v, r, 0);
      for (int c = 1; c <= cols; ++c) {
        double x = 0.25 * (up_row[c] + dn_row[c] + row[c - 1] + row[c + 1]);
        double d = x - row[c];
        local += d * d;
        out[c] = x;
      }
    }
    u.swap(v);
    double global = 0.0;
    MPI_Allreduce(&local, &global, 1, MPI_DOUBLE, MPI_SUM, cart);
    residual = std::sqrt(global);
    if (rank == 0 && report > 0 && k % report == 0) {
      std::printf("step=%ld residual=%.9e\n", k, residual);
      std::fflush(stdout);
    }
  }
  double elapsed = MPI_Wtime() - t0, tmax = 0.0;
  MPI_Reduce(&elapsed, &tmax, 1, MPI_DOUBLE, MPI_MAX, 0, cart);
  if (rank == 0) {
    std::printf("solver: ranks=%d steps=%ld grid=%ldx%ld residual=%.9e time=%.3fs\n", nranks, steps, n, n, residual,
                tmax);
    std::fflush(stdout);
  }

  MPI_Type_free(&column);
  MPI_Comm_free(&cart);
  MPI_Finalize();
  return 0;
}
