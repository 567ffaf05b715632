#include "wireup/rendezvous_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "common/error.hpp"

namespace hl::wireup {
namespace {

std::pair<sockaddr_un, socklen_t> abstract_address(const std::string& name) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.size() + 1 > sizeof addr.sun_path) throw Error(fmt::format("rendezvous name too long: {}", name));
  addr.sun_path[0] = '\0';  // abstract namespace
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  return {addr, static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())};
}

UniqueFd new_socket() {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  return fd;
}

}  // namespace

std::optional<UniqueFd> try_listen_rendezvous(const std::string& name) {
  UniqueFd fd = new_socket();
  auto [addr, len] = abstract_address(name);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (errno == EADDRINUSE) return std::nullopt;
    throw_errno("bind rendezvous socket", name);
  }
  if (::listen(fd.get(), 4096) != 0) throw_errno("listen", name);
  return fd;
}

UniqueFd listen_rendezvous(const std::string& name) {
  auto fd = try_listen_rendezvous(name);
  if (!fd)
    throw Error(fmt::format("rendezvous socket `@{}` is already in use", name), "a launch with the same name runs");
  return std::move(*fd);
}

UniqueFd connect_rendezvous(const std::string& name, std::chrono::milliseconds timeout) {
  auto [addr, len] = abstract_address(name);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    UniqueFd fd = new_socket();
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0) return fd;
    int err = errno;
    if (err != ECONNREFUSED && err != ENOENT && err != EAGAIN && err != EINTR) {
      throw system_error(err, "connect to the node's container holder", name);
    }
    if (std::chrono::steady_clock::now() + pause > deadline) {
      throw Error(fmt::format("no container holder on this node after {} s", timeout.count() / 1000),
                  "the node step did not start or failed (hpclaunch shows its error when the launch ends), or raise "
                  "--join-timeout");
    }
    std::this_thread::sleep_for(pause);
    // Short pauses: a refused connect on an abstract socket costs microseconds,
    // and every millisecond a rank sleeps past its holder's start is launch time.
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
