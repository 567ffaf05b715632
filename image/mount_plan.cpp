#include "image/mount_plan.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "image/fstab.hpp"

namespace hl::image {
namespace {

MountSpec identity(const std::string& path, std::string origin, bool optional = true) {
  return bind_mount(path, path, false, true, optional, std::move(origin));
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

void check_mount_target(const std::string& target, std::string_view what) {
  if (target == "/" || path_is_within(target, "/proc") || path_is_within(target, "/dev")) {
    throw Error(fmt::format("{}: cannot mount over /, /proc or /dev", what), "choose another target");
  }
}

MountSpec parse_mount_option(std::string_view text, std::string_view cwd, const EnvList& env) {
  std::string what = fmt::format("--mount `{}`", text);
  if (text.find_first_of(" \t") != std::string_view::npos) {
    auto entry = parse_fstab_line(text, FstabContext{env, std::string(cwd), what, false});
    if (!entry) throw Error(fmt::format("{}: not a mount", what), "use --mount SRC:DST[:OPTIONS] or an fstab line");
    entry->mount.origin = "--mount";
    return entry->mount;
  }
  auto parts = split(text, ':');
  auto bad = [&](std::string_view why) {
    return Error(fmt::format("{}: {}", what, why), "use --mount SRC:DST[:OPTIONS], DST absolute");
  };
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) throw bad("expected SRC:DST");
  MountSpec m;
  m.source = absolute_path(parts[0], cwd);
  if (!parts[1].starts_with('/')) throw bad("the target must be an absolute path");
  m.target = absolute_path(parts[1], "/");
  if (m.target == "/" || path_is_within(m.target, "/proc") || path_is_within(m.target, "/dev")) {
    throw bad("cannot mount over /, /proc or /dev");
  }
  if (parts.size() == 3) apply_mount_options(parts[2], m, nullptr, what);
  m.origin = "--mount";
  return m;
}

namespace {

// A later mount at a target replaces an earlier one.
void add_replacing(std::vector<MountSpec>& plan, MountSpec m) {
  std::erase_if(plan, [&](const MountSpec& p) { return p.target == m.target; });
  plan.push_back(std::move(m));
}

MountSpec private_tmpfs(const std::string& target) {
  MountSpec m;
  m.source = "tmpfs";
  m.target = target;
  m.kind = MountKind::tmpfs;
  m.data = "mode=1777";
  m.create = CreateKind::dir;
  m.origin = "--contain";
  return m;
}

}  // namespace

std::vector<MountSpec> plan_mounts(const MountInputs& in) {
  std::vector<MountSpec> wanted = {
      identity("/proc", "default", false),
      identity("/sys", "default", false),
      bind_mount("/etc/hosts", "/etc/hosts", true, false, true, "default"),
      bind_mount("/etc/resolv.conf", "/etc/resolv.conf", true, false, true, "default"),
  };
  if (in.contain) {
    wanted.push_back(private_tmpfs("/tmp"));
    wanted.push_back(private_tmpfs("/var/tmp"));
  } else {
    wanted.insert(wanted.begin() + 2, identity("/tmp", "default"));
  }
  // With --contain a $TMPDIR below /tmp or /var/tmp is the private one's business.
  bool tmpdir_contained = in.contain && (path_is_within(in.tmpdir, "/tmp") || path_is_within(in.tmpdir, "/var/tmp"));
  if (!in.tmpdir.empty() && in.tmpdir != "/tmp" && !tmpdir_contained) wanted.push_back(identity(in.tmpdir, "$TMPDIR"));
  if (!in.home.empty() && in.home != "/" && !in.no_home) wanted.push_back(identity(in.home, "$HOME"));
  if (!in.workdir.empty() && in.workdir != "/") wanted.push_back(identity(in.workdir, "workdir"));

  std::vector<MountSpec> plan;
  for (auto& m : wanted) {
    if (!covered_by(m, plan)) plan.push_back(std::move(m));
  }
  // The configuration's mounts, then the user's, so the user's win over a
  // default or a configured mount at the same target.
  for (const auto& m : in.config_mounts) add_replacing(plan, m);
  for (const auto& text : in.user_mounts) add_replacing(plan, parse_mount_option(text, in.cwd, in.env));
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
