#pragma once
// The node's rendezvous: an abstract SOCK_SEQPACKET Unix socket. Both ends
// check the peer's uid (SO_PEERCRED): abstract sockets have no file mode.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "common/unique_fd.hpp"

namespace hl::wireup {

UniqueFd listen_rendezvous(const std::string& name);
// nullopt when another process already listens on the name.
std::optional<UniqueFd> try_listen_rendezvous(const std::string& name);
// Retries (with backoff) until the holder listens or the deadline passes.
UniqueFd connect_rendezvous(const std::string& name, std::chrono::milliseconds timeout);

struct PeerCredentials {
  pid_t pid;
  uid_t uid;
  gid_t gid;
};
PeerCredentials peer_credentials(int sock);

}  // namespace hl::wireup
