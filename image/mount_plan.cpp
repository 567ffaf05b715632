#include "image/mount_plan.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"

namespace hl::image {
namespace {

MountSpec identity(const std::string& path, std::string origin, bool optional = true) {
  return MountSpec{path, path, false, true, optional, std::move(origin)};
}

bool is_identity(const MountSpec& m) { return m.source == m.target; }

// An identity bind below another identity bind shows the same files already.
bool covered_by(const MountSpec& m, const std::vector<MountSpec>& kept) {
  if (!is_identity(m)) return false;
  return std::any_of(kept.begin(), kept.end(), [&](const MountSpec& k) {
    return is_identity(k) && k.recursive && !k.read_only && path_is_within(m.target, k.target);
  });
}

std::size_t depth(const std::string& path) {
  return static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

void sort_parents_first(std::vector<MountSpec>& plan) {
  std::stable_sort(plan.begin(), plan.end(),
                   [](const MountSpec& a, const MountSpec& b) { return depth(a.target) < depth(b.target); });
}

}  // namespace

MountSpec parse_mount_option(std::string_view text, std::string_view cwd) {
  auto parts = split(text, ':');
  auto bad = [&](std::string_view why) {
    return Error(fmt::format("--mount `{}`: {}", text, why), "use --mount SRC:DST[:ro|rw], DST absolute");
  };
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) throw bad("expected SRC:DST");
  MountSpec m;
  m.source = absolute_path(parts[0], cwd);
  if (!parts[1].starts_with('/')) throw bad("the target must be an absolute path");
  m.target = absolute_path(parts[1], "/");
  if (m.target == "/" || path_is_within(m.target, "/proc") || path_is_within(m.target, "/dev")) {
    throw bad("cannot mount over /, /proc or /dev");
  }
  if (parts.size() == 3) {
    if (parts[2] == "ro") {
      m.read_only = true;
    } else if (parts[2] != "rw") {
      throw bad(fmt::format("unknown option `{}`", parts[2]));
    }
  }
  m.origin = "--mount";
  return m;
}

std::vector<MountSpec> plan_mounts(const MountInputs& in) {
  std::vector<MountSpec> wanted = {
      identity("/proc", "default", false),
      identity("/sys", "default", false),
      identity("/tmp", "default"),
      MountSpec{"/etc/hosts", "/etc/hosts", true, false, true, "default"},
      MountSpec{"/etc/resolv.conf", "/etc/resolv.conf", true, false, true, "default"},
  };
  if (!in.tmpdir.empty() && in.tmpdir != "/tmp") wanted.push_back(identity(in.tmpdir, "$TMPDIR"));
  if (!in.home.empty() && in.home != "/") wanted.push_back(identity(in.home, "$HOME"));
  if (!in.workdir.empty() && in.workdir != "/") wanted.push_back(identity(in.workdir, "workdir"));

  std::vector<MountSpec> plan;
  for (auto& m : wanted) {
    if (!covered_by(m, plan)) plan.push_back(std::move(m));
  }
  // The user's mounts come last so they win over a default at the same target.
  for (const auto& text : in.user_mounts) {
    MountSpec m = parse_mount_option(text, in.cwd);
    std::erase_if(plan, [&](const MountSpec& p) { return p.target == m.target; });
    plan.push_back(std::move(m));
  }
  sort_parents_first(plan);
  return plan;
}

std::vector<MountSpec> add_node_mounts(std::vector<MountSpec> plan, const std::vector<MountSpec>& node) {
  for (const auto& m : node) {
    bool taken = std::any_of(plan.begin(), plan.end(), [&](const MountSpec& p) { return p.target == m.target; });
    if (!taken && !covered_by(m, plan)) plan.push_back(m);
  }
  sort_parents_first(plan);
  return plan;
}

MountSpec identity_mount(const std::string& path, std::string origin) { return identity(path, std::move(origin)); }

}  // namespace hl::image
