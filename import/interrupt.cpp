#include "import/interrupt.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/signals.hpp"

namespace hl::import {
namespace {

// Process-wide by nature: signals are delivered to the process.
UniqueFd g_signal_fd;
int g_signal = 0;

}  // namespace

void watch_interrupts() {
  if (!g_signal_fd) g_signal_fd = block_termination_signals();
}

int interrupting_signal() {
  if (g_signal != 0 || !g_signal_fd) return g_signal;
  pollfd p{g_signal_fd.get(), POLLIN, 0};
  if (::poll(&p, 1, 0) != 1) return 0;
  signalfd_siginfo info{};
  if (::read(g_signal_fd.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    g_signal = static_cast<int>(info.ssi_signo);
  }
  return g_signal;
}

void throw_if_interrupted() {
  if (int sig = interrupting_signal(); sig != 0) {
    throw Error(fmt::format("interrupted by {}",
                            sigabbrev_np(sig) ? std::string("SIG") + sigabbrev_np(sig) : std::to_string(sig)),
                "partial downloads stay in the cache and resume next time", 128 + sig);
  }
}

}  // namespace hl::import
