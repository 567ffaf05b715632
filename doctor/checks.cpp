#include "doctor/checks.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/strings.hpp"

namespace hl::doctor {
namespace {

constexpr std::array kBaseline = {
    KernelFeature{"unprivileged user namespaces", 3, 8},
    KernelFeature{"FUSE mounts in a user namespace", 4, 18},
    KernelFeature{"pidfd_open", 5, 3},
    KernelFeature{"openat2", 5, 6},
    KernelFeature{"overlayfs with userxattr in a user namespace", 5, 11},
    KernelFeature{"mount_setattr", 5, 12},
};

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(separator)) + p;
  return out;
}

std::string trim(std::string_view text) {
  auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  return std::string(text.substr(begin, text.find_last_not_of(" \t\r") - begin + 1));
}

bool contains(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }
bool says_errno(std::string_view text, int err) { return contains(text, std::strerror(err)); }

std::string last_line(std::string_view output) {
  auto lines = split(std::string(output), '\n');
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines.empty() ? std::string() : lines.back();
}

std::string first_line(std::string_view output) { return std::string(output.substr(0, output.find('\n'))); }

Check make(std::string id, std::string title, bool required) {
  Check c;
  c.id = std::move(id);
  c.title = std::move(title);
  c.required = required;
  return c;
}

Check& set(Check& c, Result result, std::string detail, std::string fix = {}) {
  // An informational check never fails a node: at worst it warns.
  c.result = (result == Result::fail && !c.required) ? Result::warn : result;
  c.detail = std::move(detail);
  c.fix = std::move(fix);
  return c;
}

Check kernel_check(const HostFacts& f) {
  Check c = make("kernel", "kernel", false);
  auto version = kernel_version(f.kernel_release);
  if (!version) return set(c, Result::warn, fmt::format("cannot tell the version of `{}`", f.kernel_release));
  std::vector<std::string> newer;
  for (const auto& feature : kBaseline) {
    if (std::pair(feature.major, feature.minor) > *version) {
      newer.push_back(fmt::format("{} ({}.{})", feature.what, feature.major, feature.minor));
    }
  }
  const auto& base = kBaseline.back();
  if (newer.empty()) {
    return set(c, Result::ok,
               fmt::format("Linux {} (hpclaunch needs {}.{} or later)", f.kernel_release, base.major, base.minor));
  }
  // Distribution kernels backport features: the probes below decide.
  return set(c, Result::warn,
             fmt::format("Linux {} is older than {}.{}; it may lack {}", f.kernel_release, base.major, base.minor,
                         join(newer, ", ")),
             fmt::format("a kernel {}.{} or later", base.major, base.minor));
}

Check max_userns_check(const HostFacts& f) {
  Check c = make("sysctl.user.max_user_namespaces", "user.max_user_namespaces", true);
  if (!f.max_user_namespaces) return set(c, Result::skip, "not in this kernel");
  if (*f.max_user_namespaces <= 0) {
    return set(c, Result::fail, "0: no user namespace may be created",
               "as root: sysctl -w user.max_user_namespaces=15000 (and in /etc/sysctl.d/ to keep it)");
  }
  return set(c, Result::ok, fmt::format("{} (one per node per launch)", *f.max_user_namespaces));
}

Check userns_clone_check(const HostFacts& f) {
  Check c = make("sysctl.kernel.unprivileged_userns_clone", "kernel.unprivileged_userns_clone", true);
  if (!f.unprivileged_userns_clone)
    return set(c, Result::skip, "not in this kernel (upstream kernels have no such switch)");
  if (*f.unprivileged_userns_clone == 0) {
    return set(c, Result::fail, "0: only root may create user namespaces",
               "as root: sysctl -w kernel.unprivileged_userns_clone=1 (and in /etc/sysctl.d/ to keep it)");
  }
  return set(c, Result::ok, fmt::format("{}", *f.unprivileged_userns_clone));
}

constexpr const char* kAppArmorFix =
    "allow user namespaces to hpclaunch-node with an AppArmor profile (see the README: `userns,`), or as root: "
    "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0";

Check apparmor_check(const HostFacts& f) {
  Check c = make("sysctl.kernel.apparmor_restrict_unprivileged_userns", "AppArmor user namespace restriction", false);
  if (!f.apparmor_restrict_userns) return set(c, Result::skip, "no such restriction in this kernel");
  if (*f.apparmor_restrict_userns != 0) {
    return set(c, Result::warn,
               "kernel.apparmor_restrict_unprivileged_userns=1: a user namespace gets no capabilities unless an "
               "AppArmor profile allows it",
               kAppArmorFix);
  }
  return set(c, Result::ok, "kernel.apparmor_restrict_unprivileged_userns=0");
}

Check selinux_check(const HostFacts& f) {
  Check c = make("selinux", "SELinux", false);
  if (!f.selinux_enforcing) return set(c, Result::skip, "not enabled");
  if (*f.selinux_enforcing) {
    return set(c, Result::warn, "enforcing: the policy may deny user namespaces or FUSE mounts",
               "if a user namespace or FUSE check fails, look for denials: ausearch -m avc -ts recent");
  }
  return set(c, Result::ok, "permissive");
}

// The node probes' verdicts share their shape: not probed (no report from
// hpclaunch-node), skipped (a check they need failed), or the outcome.
struct NodeCheck {
  const HostFacts& facts;
  Check from(Check c, const Outcome NodeProbes::*probe, const std::string& fix, std::string_view needs = {}) const {
    if (!facts.node) return set(c, Result::fail, "not probed: " + facts.node_error, "see the hpclaunch-node check");
    if (!needs.empty()) return set(c, Result::skip, std::string(needs));
    const Outcome& o = (*facts.node).*probe;
    if (o.ok) return set(c, Result::ok, o.detail);
    return set(c, Result::fail, o.detail, fix.empty() ? without_doctor_hint(o.hint) : fix);
  }
};

bool node_probe_ok(const HostFacts& f, const Outcome NodeProbes::*probe) { return f.node && ((*f.node).*probe).ok; }

std::string userns_fix(const HostFacts& f, const Outcome& o) {
  if (f.max_user_namespaces && *f.max_user_namespaces <= 0) return "as root: sysctl -w user.max_user_namespaces=15000";
  if (f.unprivileged_userns_clone && *f.unprivileged_userns_clone == 0) {
    return "as root: sysctl -w kernel.unprivileged_userns_clone=1";
  }
  if (f.apparmor_restrict_userns && *f.apparmor_restrict_userns != 0) return kAppArmorFix;
  if (says_errno(o.detail, ENOSPC)) {
    return "you reached the limit of user namespaces: raise user.max_user_namespaces, or end other containers";
  }
  if (f.selinux_enforcing && *f.selinux_enforcing) return "the SELinux policy may deny it: ausearch -m avc -ts recent";
  if (f.chrooted.value_or(false) && says_errno(o.detail, EPERM)) {
    return "this is a chroot, and the kernel creates no user namespace for a chrooted process: run outside it";
  }
  if (says_errno(o.detail, EPERM)) {
    return "user namespaces are refused here: inside a container (docker, a CI sandbox) a seccomp filter blocks "
           "unshare; run on the host, or ask the admin to allow unprivileged user namespaces";
  }
  return without_doctor_hint(o.hint);
}

// openat2, mount_setattr, pidfd_open: missing in old kernels (ENOSYS), or
// blocked by a seccomp filter older than the kernel (EPERM, ENOSYS too).
std::string syscall_fix(const Outcome& o, std::string_view name, int major, int minor) {
  if (says_errno(o.detail, EPERM)) {
    return fmt::format("a seccomp filter blocks {}: run on the host, or update the container runtime", name);
  }
  return fmt::format("{} needs Linux {}.{} or later (or a seccomp filter that knows it)", name, major, minor);
}

std::vector<Check> kernel_feature_checks(const HostFacts& f) {
  NodeCheck node{f};
  std::vector<Check> checks;
  Outcome userns = f.node ? f.node->user_namespace : Outcome{};
  checks.push_back(node.from(make("userns", "user namespaces", true), &NodeProbes::user_namespace,
                             f.node ? userns_fix(f, userns) : std::string()));
  std::string needs_userns = node_probe_ok(f, &NodeProbes::user_namespace) || !f.node ? "" : "needs user namespaces";
  auto syscall = [&](std::string id, const Outcome NodeProbes::*probe, int major, int minor, std::string_view needs) {
    const Outcome* o = f.node ? &((*f.node).*probe) : nullptr;
    std::string fix = o != nullptr ? syscall_fix(*o, id, major, minor) : std::string();
    return node.from(make(id, id, true), probe, fix, needs);
  };
  checks.push_back(syscall("openat2", &NodeProbes::openat2, 5, 6, ""));
  checks.push_back(syscall("mount_setattr", &NodeProbes::mount_setattr, 5, 12, needs_userns));
  checks.push_back(syscall("pidfd_open", &NodeProbes::pidfd, 5, 3, ""));
  checks.push_back(node.from(make("overlayfs", "overlayfs (userxattr)", true), &NodeProbes::overlay,
                             "unprivileged overlayfs with the userxattr option needs Linux 5.11 or later",
                             needs_userns));
  Outcome fuse = f.node ? f.node->fuse_device : Outcome{};
  std::string fuse_fix = says_errno(fuse.detail, ENOENT)
                             ? "as root: modprobe fuse (the fuse kernel module)"
                             : "as root: chmod 666 /dev/fuse (scripts/setup does it; a udev "
                               "rule KERNEL==\"fuse\", MODE=\"0666\" keeps it)";
  checks.push_back(node.from(make("fuse-device", "/dev/fuse", true), &NodeProbes::fuse_device, fuse_fix));
  std::string needs = needs_userns;
  if (needs.empty() && f.node && !fuse.ok) needs = "needs /dev/fuse";
  checks.push_back(node.from(make("fuse-userns", "FUSE in a user namespace", true), &NodeProbes::fuse_mount,
                             "FUSE mounts in a user namespace need Linux 4.18 or later", needs));
  return checks;
}

Check runtime_dir_check(const HostFacts& f) {
  Check c = make("runtime-dir", "runtime dir", true);
  if (f.runtime_dir.ok) return set(c, Result::ok, f.runtime_dir.detail + " (private: yours, mode 0700)");
  return set(c, Result::fail, f.runtime_dir.detail, without_doctor_hint(f.runtime_dir.hint));
}

Check tmp_dir_check(const HostFacts& f) {
  Check c = make("tmp-dir", "tmp dir", true);
  const DirFacts& d = f.tmp_dir;
  constexpr const char* fix =
      "set TMPDIR to a directory of yours (it is bound into the container, and the runtime dir "
      "lives there unless XDG_RUNTIME_DIR or HPCLAUNCH_RUNTIME_DIR say otherwise)";
  if (!d.error.empty()) return set(c, Result::fail, fmt::format("`{}`: {}", d.path, d.error), fix);
  if (!d.is_dir) return set(c, Result::fail, fmt::format("`{}` is not a directory", d.path), fix);
  if (!d.writable) return set(c, Result::fail, fmt::format("you cannot create files in `{}`", d.path), fix);
  std::string detail = fmt::format("`{}`, {} free", d.path, human_bytes(d.free_bytes));
  if (d.world_writable && !d.sticky) {
    return set(c, Result::warn, detail + "; world-writable without the sticky bit: others can rename your files",
               fmt::format("as root: chmod 1777 {}", d.path));
  }
  return set(c, Result::ok, detail);
}

Check binary_check(const BinaryFacts& b) {
  // Launches need the node side and the joiner; import is a tool of its own.
  bool required = b.name != "hpclaunch-import";
  Check c = make("binary." + b.name, b.name, required);
  if (!b.found) {
    return set(c, Result::fail, fmt::format("`{}` is missing or not executable", b.path),
               "install hpclaunch, hpclaunch-node, hpclaunch-join and hpclaunch-import side by side");
  }
  if (!b.missing_libraries.empty()) {
    return set(
        c, Result::fail,
        fmt::format("`{}` needs {}, which the dynamic loader cannot find", b.path, join(b.missing_libraries, ", ")),
        fmt::format("install the packages with these libraries (`ldd {}` lists them; the .deb declares them)", b.path));
  }
  return set(c, Result::ok, fmt::format("`{}` (its libraries load)", b.path));
}

bool srun_has_pmix(const HostFacts& f) {
  return !f.srun_version.path.empty() && f.srun_mpi_list.exit_code == 0 &&
         !srun_pmix_plugins(f.srun_mpi_list.output).empty();
}

std::string tool_failure(const ToolRun& run, std::string_view command) {
  if (run.timed_out) return fmt::format("`{}` did not answer in time", command);
  std::string line = last_line(run.output);
  return fmt::format("`{}` failed (exit {}){}", command, run.exit_code, line.empty() ? "" : ": " + line);
}

constexpr const char* kPmixPluginFix =
    "install Slurm's PMIx plugin (Debian: slurm-wlm-basic-plugins; a Slurm built from source: configure --with-pmix)";

Check launcher_check(const HostFacts& f) {
  Check c = make("launcher", "launcher", true);
  std::string mpi = f.mpirun_version.exit_code == 0 ? open_mpi_version(f.mpirun_version.output) : "";
  bool srun_pmix = srun_has_pmix(f);
  if (f.in_allocation) {
    if (srun_pmix) return set(c, Result::ok, "srun --mpi=pmix (in this Slurm allocation hpclaunch launches with srun)");
    return set(c, Result::fail, "this is a Slurm allocation, but srun has no PMIx plugin (srun --mpi=list)",
               std::string(kPmixPluginFix) + (mpi.empty() ? "" : ", or launch with --launcher mpirun"));
  }
  if (!mpi.empty()) {
    return set(c, Result::ok,
               fmt::format("Open MPI's mpirun {} (this machine, or --hostfile){}", mpi,
                           srun_pmix ? "; srun --mpi=pmix inside sbatch/salloc" : ""));
  }
  if (srun_pmix) {
    return set(c, Result::warn,
               "srun --mpi=pmix: launch inside sbatch or salloc; outside an allocation hpclaunch "
               "needs Open MPI's mpirun, which is not on PATH",
               "for launches outside Slurm: install Open MPI (Debian: openmpi-bin) or load its module");
  }
  if (!f.mpirun_version.path.empty() && f.mpirun_version.exit_code == 0) {
    return set(c, Result::fail,
               fmt::format("`{}` is not Open MPI's ({})", f.mpirun_version.path, first_line(f.mpirun_version.output)),
               "put Open MPI's mpirun first on PATH (module load openmpi, say)");
  }
  return set(c, Result::fail, "neither Open MPI's mpirun nor Slurm's srun with PMIx is usable here",
             "install Open MPI (Debian: openmpi-bin) or load its module; on a Slurm cluster, launch inside sbatch or "
             "salloc (srun --mpi=list must list pmix)");
}

Check slurm_check(const HostFacts& f) {
  Check c = make("slurm", "Slurm", false);
  if (f.srun_version.path.empty()) return set(c, Result::skip, "no srun on PATH");
  std::string version = slurm_version(f.srun_version.output);
  std::string what = version.empty() ? fmt::format("`{}`", f.srun_version.path) : "Slurm " + version;
  if (f.srun_mpi_list.exit_code != 0) {
    return set(c, Result::warn, what + "; " + tool_failure(f.srun_mpi_list, "srun --mpi=list"),
               "srun needs Slurm's configuration: SLURM_CONF, /etc/slurm/slurm.conf, or a reachable slurmctld "
               "(configless)");
  }
  auto plugins = srun_pmix_plugins(f.srun_mpi_list.output);
  if (plugins.empty()) return set(c, Result::warn, what + "; no PMIx plugin (srun --mpi=list)", kPmixPluginFix);
  return set(c, Result::ok, fmt::format("{}, PMIx plugin ({})", what, join(plugins, ", ")));
}

Check openmpi_check(const HostFacts& f) {
  Check c = make("openmpi", "Open MPI", false);
  const ToolRun& run = f.mpirun_version;
  if (run.path.empty()) return set(c, Result::skip, "no mpirun on PATH");
  if (run.exit_code != 0) return set(c, Result::warn, tool_failure(run, "mpirun --version"));
  std::string version = open_mpi_version(run.output);
  if (version.empty())
    return set(c, Result::warn, fmt::format("`{}` is not Open MPI's: {}", run.path, first_line(run.output)));
  return set(c, Result::ok, fmt::format("{} (`{}`)", version, run.path));
}

Check pmix_check(const HostFacts& f) {
  Check c = make("pmix", "PMIx", false);
  if (!f.node || f.node->pmix_version.empty()) return set(c, Result::warn, "unknown: hpclaunch-node gave no report");
  // "OpenPMIx 4.2.2rc2 (PMIx Standard: 4.2, Stable ABI: 0.0, ...)": the name and version say enough.
  std::string version = f.node->pmix_version.substr(0, f.node->pmix_version.find(" ("));
  return set(c, Result::ok, version + " (the library of hpclaunch-node's node step)");
}

std::vector<Check> image_checks(const HostFacts& f) {
  if (!f.image_open) return {};
  Check open = make("image-open", "image", true);
  if (f.image_open->ok) {
    set(open, Result::ok, f.image_open->detail);
  } else {
    set(open, Result::fail, f.image_open->detail, without_doctor_hint(f.image_open->hint));
  }
  Check mount = make("image-mount", "image mounts", true);
  if (!f.image_open->ok) {
    set(mount, Result::skip, "needs an image that opens");
  } else if (!f.node || !f.node->image_mount) {
    set(mount, Result::fail, "not probed: " + (f.node_error.empty() ? "no report" : f.node_error),
        "see the hpclaunch-node check");
  } else if (f.node->image_mount->ok) {
    set(mount, Result::ok, f.node->image_mount->detail);
  } else {
    set(mount, Result::fail, f.node->image_mount->detail, without_doctor_hint(f.node->image_mount->hint));
  }
  return {open, mount};
}

}  // namespace

std::string_view to_string(Result result) {
  switch (result) {
    case Result::ok:
      return "ok";
    case Result::warn:
      return "warn";
    case Result::fail:
      return "fail";
    case Result::skip:
      return "skip";
  }
  return "?";
}

std::vector<Check> evaluate(const HostFacts& f) {
  std::vector<Check> checks = {kernel_check(f), max_userns_check(f), userns_clone_check(f), apparmor_check(f),
                               selinux_check(f)};
  for (auto& c : kernel_feature_checks(f)) checks.push_back(std::move(c));
  checks.push_back(runtime_dir_check(f));
  checks.push_back(tmp_dir_check(f));
  for (const auto& b : f.binaries) checks.push_back(binary_check(b));
  checks.push_back(launcher_check(f));
  checks.push_back(slurm_check(f));
  checks.push_back(openmpi_check(f));
  checks.push_back(pmix_check(f));
  for (auto& c : image_checks(f)) checks.push_back(std::move(c));
  return checks;
}

bool launches_can_work(const std::vector<Check>& checks) {
  return std::none_of(checks.begin(), checks.end(),
                      [](const Check& c) { return c.required && c.result == Result::fail; });
}

std::span<const KernelFeature> kernel_baseline() { return kBaseline; }

std::optional<std::pair<int, int>> kernel_version(std::string_view release) {
  int major = 0, minor = 0;
  std::size_t i = 0;
  auto number = [&](int& out) {
    std::size_t start = i;
    while (i < release.size() && release[i] >= '0' && release[i] <= '9' && i - start < 6) {
      out = out * 10 + (release[i++] - '0');
    }
    return i > start;
  };
  if (!number(major) || i >= release.size() || release[i++] != '.' || !number(minor)) return std::nullopt;
  return std::pair(major, minor);
}

std::string slurm_version(std::string_view output) {
  // "slurm 22.05.8" upstream, "slurm-wlm 22.05.8" from Debian's packages.
  std::string line = first_line(output);
  auto space = line.find(' ');
  if (!line.starts_with("slurm") || space == std::string::npos) return {};
  return trim(line.substr(space + 1));
}

std::vector<std::string> srun_pmix_plugins(std::string_view output) {
  std::vector<std::string> plugins;
  for (auto line : split(std::string(output), '\n')) {
    // "\tpmix" in the plugin list; "specific pmix plugin versions available: pmix_v4".
    if (auto colon = line.find("versions available:"); colon != std::string::npos) line = line.substr(colon + 19);
    for (const auto& word : split(line, ' ')) {
      std::string w = trim(word);
      if (!w.empty() && w.back() == ',') w.pop_back();
      if ((w == "pmix" || w.starts_with("pmix_")) && std::find(plugins.begin(), plugins.end(), w) == plugins.end()) {
        plugins.push_back(w);
      }
    }
  }
  return plugins;
}

std::string open_mpi_version(std::string_view output) {
  std::string line = first_line(output);
  constexpr std::string_view marker = "(Open MPI) ";
  auto at = line.find(marker);
  if (at == std::string::npos) return {};
  return trim(line.substr(at + marker.size()));
}

std::string without_doctor_hint(std::string_view hint) {
  for (std::string_view suffix : {"; run `hpclaunch doctor`", "run `hpclaunch doctor`"}) {
    if (hint.ends_with(suffix)) hint.remove_suffix(suffix.size());
  }
  return std::string(hint);
}

}  // namespace hl::doctor
