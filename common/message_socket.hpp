#pragma once
// Whole messages (SOCK_SEQPACKET keeps their boundaries) with optional file
// descriptors attached (SCM_RIGHTS): how the holder hands namespace fds to
// joiners and how its build child hands back the container's mount namespace.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"

namespace hl {

struct Message {
  std::string payload;
  std::vector<UniqueFd> fds;
};

// A connected SOCK_SEQPACKET pair, both ends CLOEXEC.
std::pair<UniqueFd, UniqueFd> message_socket_pair();

void send_message(int sock, std::string_view payload, std::span<const int> fds = {});
// nullopt when the peer closed the connection.
std::optional<Message> receive_message(int sock);

}  // namespace hl
