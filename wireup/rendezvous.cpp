#include "wireup/rendezvous.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"

namespace hl::wireup {
namespace {

constexpr const char* kSocketName = "rendezvous";

// The address of `name` in `dir`, reached through the directory's verified
// fd: short whatever the runtime dir's length, and immune to renames of the
// path's components.
std::pair<sockaddr_un, socklen_t> address_in(const PrivateDir& dir, const std::string& name) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir.fd_path(name);
  if (path.size() + 1 > sizeof addr.sun_path) throw Error(fmt::format("rendezvous path too long: {}", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return {addr, static_cast<socklen_t>(sizeof addr)};
}

UniqueFd new_socket() {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  return fd;
}

UniqueFd bind_and_listen(const PrivateDir& dir, const std::string& name) {
  UniqueFd fd = new_socket();
  auto [addr, len] = address_in(dir, name);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    throw_errno("bind rendezvous socket", dir.path() + "/" + name);
  }
  if (::listen(fd.get(), 4096) != 0) throw_errno("listen", dir.path() + "/" + name);
  return fd;
}

// true when a holder answers on `rendezvous` in `dir`.
bool someone_listens(const PrivateDir& dir) {
  UniqueFd fd = new_socket();
  auto [addr, len] = address_in(dir, kSocketName);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0;
}

// One attempt; an empty fd while the holder is not there (yet).
UniqueFd try_connect(const std::string& group) {
  PrivateDir runtime = open_runtime_dir(environment_of_this_process());
  PrivateDir launch = runtime.existing_subdir(group);
  if (!launch.valid()) return {};
  PrivateDir node = launch.existing_subdir(host_name());
  if (!node.valid()) return {};
  UniqueFd fd = new_socket();
  auto [addr, len] = address_in(node, kSocketName);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0) return fd;
  int err = errno;
  // A named container's socket is there only while its holder lives, and
  // no new one is coming: its holder died or was stopped.
  if (err == ECONNREFUSED && group.starts_with("n-")) {
    std::string name = group.substr(group.find('.') + 1);
    throw Error(fmt::format("the named container `{}` has no holder on {} any more (it was stopped, timed out or died)",
                            name, host_name()),
                fmt::format("run `hpclaunch stop {}`, then launch again with --name {} --image ...", name, name));
  }
  if (err != ECONNREFUSED && err != ENOENT && err != EAGAIN && err != EINTR) {
    throw system_error(err, "connect to the node's container holder", node.path() + "/" + kSocketName);
  }
  return {};
}

}  // namespace

UniqueFd connect_rendezvous_in(const PrivateDir& node_dir) {
  UniqueFd fd = new_socket();
  auto [addr, len] = address_in(node_dir, kSocketName);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return {};
  return fd;
}

std::string launch_group(std::string_view job, std::string_view launch_id) {
  return job.empty() ? fmt::format("l-{}", launch_id) : fmt::format("l-{}.{}", job, launch_id);
}

std::string named_group(const EnvList& env, const std::string& name) {
  std::string job = env_value(env, "SLURM_JOB_ID");
  return fmt::format("n-{}.{}", job.empty() ? "local" : job, name);
}

std::string companion_group(const EnvList& env) {
  std::string job = env_value(env, "SLURM_JOB_ID");
  std::string step = env_value(env, "SLURM_STEP_ID");
  if (!job.empty()) return fmt::format("x-{}.{}", job, step.empty() ? "batch" : step);
  std::string pmix = env_value(env, "PMIX_NAMESPACE");  // mpirun -n N hpclaunch exec ...
  if (!pmix.empty()) {
    std::erase_if(pmix, [](char c) { return c == '/'; });
    return "x-" + pmix;
  }
  return fmt::format("x-pid{}", ::getpid());  // a single task on its own
}

PrivateDir node_directory(const PrivateDir& runtime, const std::string& group) {
  return runtime.subdir(group).subdir(host_name());
}

UniqueFd listen_rendezvous(const PrivateDir& node_dir) {
  std::string temp = fmt::format("{}.{}", kSocketName, random_hex(4));
  UniqueFd fd = bind_and_listen(node_dir, temp);
  if (::renameat(node_dir.fd(), temp.c_str(), node_dir.fd(), kSocketName) != 0) {
    int err = errno;
    ::unlinkat(node_dir.fd(), temp.c_str(), 0);
    throw system_error(err, "rename rendezvous socket in", node_dir.path());
  }
  return fd;
}

std::optional<UniqueFd> listen_rendezvous_if_free(const PrivateDir& node_dir) {
  if (someone_listens(node_dir)) return std::nullopt;
  return listen_rendezvous(node_dir);
}

UniqueFd connect_rendezvous(const std::string& group, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    if (UniqueFd fd = try_connect(group)) return fd;
    if (std::chrono::steady_clock::now() + pause > deadline) {
      throw Error(fmt::format("no container holder on this node after {} s", timeout.count() / 1000),
                  "the node step did not start or failed (hpclaunch shows its error when the launch ends), or raise "
                  "--join-timeout");
    }
    std::this_thread::sleep_for(pause);
    // Short pauses: a refused connect costs microseconds, and every
    // millisecond a rank sleeps past its holder's start is launch time.
    pause = std::min(pause * 2, std::chrono::milliseconds(5));
  }
}

PeerCredentials peer_credentials(int sock) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) throw_errno("getsockopt(SO_PEERCRED)");
  return {cred.pid, cred.uid, cred.gid};
}

}  // namespace hl::wireup
