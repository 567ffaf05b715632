#include "wireup/holder_protocol.hpp"

#include "common/json.hpp"
#include "common/message_socket.hpp"

namespace hl::wireup {
namespace {

struct RequestMessage {
  LaunchSpec launch;
  image::ImageMetadata image;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RequestMessage, launch, image)

}  // namespace

void send_request(int control, const HolderRequest& request) {
  std::string payload = nlohmann::json(RequestMessage{request.launch, request.image}).dump();
  int fd = request.image_fd.get();
  send_message(control, payload, request.image_fd ? std::span(&fd, 1) : std::span<const int>());
}

std::optional<HolderRequest> receive_request(int control) {
  auto message = receive_message(control);
  if (!message) return std::nullopt;
  auto decoded = decode_json<RequestMessage>(message->payload, "holder request");
  HolderRequest request{std::move(decoded.launch), std::move(decoded.image), {}};
  if (!message->fds.empty()) request.image_fd = std::move(message->fds[0]);
  return request;
}

void send_ready(int control) { send_message(control, R"({"ready":true})"); }

void send_failure(int control, const Error& error) { send_message(control, error_to_json(error).dump()); }

void await_ready(int control) {
  auto reply = receive_message(control);
  if (!reply) throw Error("the container holder died while building the container");
  auto j = decode_json<nlohmann::json>(reply->payload, "holder reply");
  if (is_error_json(j)) throw error_from_json(j);
  if (!j.is_object() || !j.value("ready", false)) throw Error("malformed holder reply: neither ready nor an error");
}

void send_serve(int control, bool detach) {
  send_message(control, nlohmann::json{{"serve", true}, {"detach", detach}}.dump());
}

std::optional<bool> await_serve(int control) {
  auto message = receive_message(control);
  if (!message) return std::nullopt;
  auto j = decode_json<nlohmann::json>(message->payload, "serve message");
  if (!j.is_object() || !j.value("serve", false)) return std::nullopt;
  return j.value("detach", false);
}

}  // namespace hl::wireup
