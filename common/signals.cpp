#include "common/signals.hpp"

#include <signal.h>
#include <sys/signalfd.h>

#include "common/error.hpp"

namespace hl {

UniqueFd block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throw_errno("sigprocmask");
  UniqueFd fd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!fd) throw_errno("signalfd");
  return fd;
}

}  // namespace hl
