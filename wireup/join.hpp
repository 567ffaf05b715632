#pragma once
// `hpclaunch-join`: one per rank, started by the app step. Never an MPI or
// PMIx client (a PMIx client cannot init again after exec): connect to the
// holder, receive the namespace fds, setns(user) then setns(mnt), chdir, set
// the environment and exec the application.
#include <string>
#include <vector>

#include "wireup/launch_spec.hpp"

namespace hl::wireup {

// `hpclaunch-join -- [PROG ARGS...]`, with the JoinSpec in kJoinSpecVariable:
// the program and its arguments, exactly as the user gave them (none: the
// image's Entrypoint and Cmd, which the holder knows).
std::vector<std::string> parse_join_command(int argc, char** argv);

// Only returns by throwing; exits 127/126 itself when exec fails.
[[noreturn]] void run_join(const JoinSpec& spec, const std::vector<std::string>& given);

}  // namespace hl::wireup
