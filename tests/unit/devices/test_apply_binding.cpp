// Binding for real: a forked child binds itself to PU 0 and reports what
// /proc/self/status says, as the application would see it after exec.
#include "devices/apply_binding.hpp"

#include <linux/mempolicy.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>

using namespace hl::devices;

namespace {

std::string cpus_allowed_list() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("Cpus_allowed_list:")) return line.substr(line.find_first_not_of(" \t", 18));
  }
  return {};
}

// Runs `body` in a child (so the test process keeps its affinity) and returns
// what it wrote to the pipe.
template <typename Body>
std::string in_child(Body body) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    try {
      out = body();
    } catch (const std::exception& e) {
      out = std::string("error: ") + e.what();
    }
    ssize_t ignored = ::write(fds[1], out.data(), out.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buffer[512];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

int memory_policy() {
  int mode = -1;
  if (::syscall(SYS_get_mempolicy, &mode, nullptr, 0UL, nullptr, 0UL) != 0) return -1;
  return mode;
}

RankBinding planned(CpuList pus, int numa) {
  RankBinding b;
  b.pus = pus;
  for (int pu : pus) b.cores.push_back({pu, {pu}});
  b.numa = numa;
  return b;
}

}  // namespace

TEST(BindingApply, CurrentAllowedMatchesProcStatus) {
  EXPECT_EQ(format_cpu_list(current_allowed_cpus()), cpus_allowed_list());
}

TEST(BindingApply, BindsAForkedChildToPuZero) {
  std::string seen = in_child([] {
    AppliedBinding applied = apply_binding(planned({0}, 0));
    return format_cpu_list(applied.binding.pus) + " " + cpus_allowed_list() + " " +
           std::to_string(applied.warnings.size());
  });
  EXPECT_EQ(seen, "0 0 0");
  EXPECT_NE(cpus_allowed_list(), "") << "the test process itself was not rebound";
}

TEST(BindingApply, PrefersTheRanksNumaNode) {
  std::string seen = in_child([] {
    apply_binding(planned({0}, 0));
    return std::to_string(memory_policy());
  });
  EXPECT_EQ(seen, std::to_string(MPOL_PREFERRED));
  EXPECT_EQ(memory_policy(), MPOL_DEFAULT) << "the test process itself was changed";
}

TEST(BindingApply, PlanOutsideTheAllowedSetKeepsTheAllowedSet) {
  std::string seen = in_child([] {
    CpuList before = current_allowed_cpus();
    AppliedBinding applied = apply_binding(planned({4000}, -1));
    return format_cpu_list(before) + "|" + cpus_allowed_list() + "|" +
           (applied.warnings.empty() ? "" : applied.warnings[0]);
  });
  std::string allowed = cpus_allowed_list();
  EXPECT_EQ(seen, allowed + "|" + allowed + "|planned cpus 4000 are outside this rank's allowed cpus " + allowed +
                      ": not binding");
}

TEST(BindingApply, EffectiveBindingIntersects) {
  AppliedBinding applied = effective_binding(planned({0, 1, 2, 3}, 0), {2, 3, 4});
  EXPECT_EQ(applied.binding.pus, (CpuList{2, 3}));
  EXPECT_EQ(applied.binding.cores.size(), 2u);
  EXPECT_EQ(applied.binding.numa, 0);
  EXPECT_TRUE(applied.warnings.empty());
}
