#pragma once
// `hpclaunch-join`: one per rank, started by the app step. Never an MPI or
// PMIx client (a PMIx client cannot init again after exec): connect to the
// holder, receive the namespace fds, setns(user) then setns(mnt), chdir, set
// the environment and exec the application.
#include <string>
#include <vector>

#include "image/etc_files.hpp"

namespace hl::wireup {

struct JoinOptions {
  std::string socket_name;
  std::string workdir;
  image::EnvList user_env;  // --env K=V
  int timeout_s = 120;
  std::vector<std::string> command;
  int local_size = 0;  // used when the launcher's variables do not say
  // Companion mode: a failed container is reported by local rank 0 only,
  // so a node prints its error once, not once per task.
  bool quiet_unless_first = false;
  bool report_bindings = false;
};

// `hpclaunch-join --socket NAME --timeout S --workdir DIR [--env K=V]...
// [--report-bindings 1] -- PROG ARGS...`
JoinOptions parse_join_arguments(int argc, char** argv);

// Only returns by throwing; exits 127/126 itself when exec fails.
[[noreturn]] void run_join(const JoinOptions& options);

}  // namespace hl::wireup
