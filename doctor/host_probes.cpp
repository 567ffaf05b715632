#include "doctor/host_probes.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/files.hpp"
#include "common/json.hpp"
#include "common/private_dir.hpp"
#include "common/self_path.hpp"
#include "common/strings.hpp"
#include "image/image_metadata.hpp"
#include "image/superblock.hpp"
#include "wireup/launch_spec.hpp"

namespace hl::doctor {
namespace {

constexpr int kToolTimeoutMs = 10'000;
// Building the container reads the image's metadata through FUSE: seconds
// for a large image on a slow shared file system.
constexpr int kNodeProbeTimeoutMs = 120'000;
constexpr std::size_t kMaxOutput = 1 << 20;

std::optional<long> read_sysctl(const std::string& path) {
  try {
    return static_cast<long>(parse_integer(split(read_file(path), '\n').front(), path, -1, 1LL << 40));
  } catch (const Error&) {
    return std::nullopt;  // no such sysctl in this kernel (or unreadable: the probes decide)
  }
}

// The kernel refuses a user namespace to a chrooted process (EPERM): worth
// telling apart from a seccomp filter. Init's root is the answer where we may
// look at it; otherwise a root that is no mount point (no "/" in our
// mountinfo, whose paths are relative to our root) is a chroot's.
std::optional<bool> chrooted() {
  struct stat ours {
  }, init{};
  if (::stat("/", &ours) == 0 && ::stat("/proc/1/root/", &init) == 0) {
    return ours.st_dev != init.st_dev || ours.st_ino != init.st_ino;
  }
  try {
    for (const auto& line : split(read_file("/proc/self/mountinfo"), '\n')) {
      auto fields = split(line, ' ');
      if (fields.size() > 4 && fields[4] == "/") return false;
    }
    return true;
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string kernel_release() {
  utsname u{};
  return ::uname(&u) == 0 ? u.release : "";
}

// A memfd the child writes into: no pipe to drain while we wait for it.
UniqueFd output_file(const char* name) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) throw_errno("memfd_create");
  return fd;
}

std::string read_back(int fd) {
  std::string out;
  char buffer[8192];
  ssize_t n;
  ::lseek(fd, 0, SEEK_SET);
  while (out.size() < kMaxOutput && (n = ::read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, n);
  return out;
}

struct Captured {
  int exit_code = -1;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs `argv` to its end, or kills it after `timeout_ms`, and captures what
// it wrote. stdin is /dev/null: a tool that asks something gets EOF.
Captured capture(const std::vector<std::string>& argv, int timeout_ms,
                 const std::optional<std::vector<std::string>>& env = std::nullopt, bool merge_stderr = true) {
  UniqueFd out = output_file("doctor-stdout");
  UniqueFd err = merge_stderr ? UniqueFd() : output_file("doctor-stderr");
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  SpawnOptions options;
  options.stdin_fd = null.get();
  options.stdout_fd = out.get();
  options.stderr_fd = merge_stderr ? out.get() : err.get();
  options.env = env;
  options.parent_death_signal = SIGKILL;
  Captured result;
  try {
    ChildProcess child = ChildProcess::spawn(argv, options);
    auto code = child.wait_for(timeout_ms);
    result.timed_out = !code;
    result.exit_code = code ? *code : child.terminate(500);
  } catch (const Error& e) {
    result.exit_code = 127;
    result.err = e.what();
  }
  result.out = read_back(out.get());
  if (err) result.err += read_back(err.get());
  return result;
}

std::string find_on_path(const std::string& name, const EnvList& env) {
  std::string path = env_value(env, "PATH");
  for (const auto& dir : split(path.empty() ? "/usr/local/bin:/usr/bin:/bin" : path, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

ToolRun run_tool(const std::string& name, const std::vector<std::string>& args, const EnvList& env) {
  ToolRun run;
  run.path = find_on_path(name, env);
  if (run.path.empty()) return run;
  std::vector<std::string> argv = {run.path};
  argv.insert(argv.end(), args.begin(), args.end());
  Captured c = capture(argv, kToolTimeoutMs);
  run.exit_code = c.exit_code;
  run.timed_out = c.timed_out;
  run.output = c.out + c.err;
  return run;
}

DirFacts probe_tmp_dir(const EnvList& env) {
  DirFacts d;
  d.path = env_value(env, "TMPDIR").empty() ? "/tmp" : env_value(env, "TMPDIR");
  struct stat st {};
  if (::stat(d.path.c_str(), &st) != 0) {
    d.error = std::strerror(errno);
    return d;
  }
  d.is_dir = S_ISDIR(st.st_mode);
  d.writable = ::access(d.path.c_str(), W_OK | X_OK) == 0;
  d.world_writable = (st.st_mode & S_IWOTH) != 0;
  d.sticky = (st.st_mode & S_ISVTX) != 0;
  struct statvfs vfs {};
  if (::statvfs(d.path.c_str(), &vfs) == 0) d.free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  return d;
}

// The loader lists what each binary needs without running any of it.
BinaryFacts probe_binary(const std::string& name, const EnvList& env) {
  BinaryFacts b;
  b.name = name;
  b.path = sibling_binary(name);
  b.found = ::access(b.path.c_str(), X_OK) == 0;
  if (!b.found) return b;
  std::vector<std::string> traced = env_assignments(env);
  traced.push_back("LD_TRACE_LOADED_OBJECTS=1");
  b.missing_libraries = libraries_not_found(capture({b.path}, kToolTimeoutMs, traced).out);
  return b;
}

Outcome probe_runtime_dir(const EnvList& env) {
  try {
    return success(open_runtime_dir(env).path());
  } catch (const Error& e) {
    return failure(e);
  }
}

Outcome probe_image(const std::string& path) {
  try {
    image::ImageMetadata m = image::read_image_metadata(path);
    image::Superblock sb = image::parse_superblock(m.superblock, path);
    return success(fmt::format("`{}`: squashfs {}.{}, {}, {}, {} inodes", path, sb.version_major, sb.version_minor,
                               sb.compression_name(), human_bytes(m.size), sb.inode_count));
  } catch (const Error& e) {
    return failure(e);
  }
}

// The last line hpclaunch-node printed as an error, or how it ended.
std::string node_failure(const Captured& c) {
  if (c.timed_out)
    return fmt::format("`hpclaunch-node doctor-probe` did not finish in {} s", kNodeProbeTimeoutMs / 1000);
  std::string reason;
  for (const auto& line : split(c.err, '\n')) {
    if (!line.empty()) reason = line;
  }
  if (reason.starts_with("hpclaunch: error: ")) reason = reason.substr(18);
  return reason.empty() ? fmt::format("`hpclaunch-node doctor-probe` ended with {}", describe_exit(c.exit_code))
                        : reason;
}

void probe_node(const HostProbeRequest& request, HostFacts& facts) {
  std::vector<std::string> argv = {sibling_binary("hpclaunch-node"), "doctor-probe"};
  EnvList env = request.env;
  // An image that does not open is not worth mounting: image-mount is skipped.
  bool image_opens = facts.image_open && facts.image_open->ok;
  if (!request.launch_spec.empty() && image_opens) {
    argv.push_back("--image");
    env_set(env, wireup::kLaunchSpecVariable, request.launch_spec);
  }
  Captured c = capture(argv, kNodeProbeTimeoutMs, env_assignments(env), false);
  if (c.exit_code != 0) {
    facts.node_error = node_failure(c);
    return;
  }
  try {
    facts.node = decode_json<NodeProbes>(c.out, "hpclaunch-node doctor-probe report");
  } catch (const Error& e) {
    facts.node_error = e.what();
  }
}

}  // namespace

std::vector<std::string> libraries_not_found(std::string_view output) {
  std::vector<std::string> missing;
  for (const auto& line : split(output, '\n')) {
    auto arrow = line.find(" => not found");
    if (arrow == std::string::npos) continue;
    auto begin = line.find_first_not_of(" \t");
    missing.push_back(line.substr(begin, arrow - begin));
  }
  return missing;
}

HostFacts probe_host(const HostProbeRequest& request) {
  const EnvList& env = request.env;
  HostFacts f;
  f.kernel_release = kernel_release();
  f.max_user_namespaces = read_sysctl("/proc/sys/user/max_user_namespaces");
  f.unprivileged_userns_clone = read_sysctl("/proc/sys/kernel/unprivileged_userns_clone");
  f.apparmor_restrict_userns = read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  if (auto enforce = read_sysctl("/sys/fs/selinux/enforce")) f.selinux_enforcing = *enforce != 0;
  f.chrooted = chrooted();
  f.runtime_dir = probe_runtime_dir(env);
  f.tmp_dir = probe_tmp_dir(env);
  for (const char* name : {"hpclaunch-node", "hpclaunch-join", "hpclaunch-import"}) {
    f.binaries.push_back(probe_binary(name, env));
  }
  f.in_allocation = !env_value(env, "SLURM_JOB_ID").empty();
  f.srun_version = run_tool("srun", {"--version"}, env);
  if (!f.srun_version.path.empty()) f.srun_mpi_list = run_tool("srun", {"--mpi=list"}, env);
  f.mpirun_version = run_tool("mpirun", {"--version"}, env);
  if (!request.image.empty()) f.image_open = probe_image(absolute_path(request.image, request.cwd));
  probe_node(request, f);
  if (f.node && request.plan_failure && f.image_open && f.image_open->ok) f.node->image_mount = request.plan_failure;
  return f;
}

}  // namespace hl::doctor
