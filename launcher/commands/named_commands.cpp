// hpclaunch ps / stop / save: the named containers of this user (--name),
// as this node sees them. Each holder answers for itself over its
// rendezvous socket; the front end's record (named.hpp) says where they are.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "common/child_process.hpp"
#include "common/cli_parse.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/message_socket.hpp"
#include "common/private_dir.hpp"
#include "common/self_path.hpp"
#include "common/strings.hpp"
#include "launcher/commands/commands.hpp"
#include "launcher/named.hpp"
#include "wireup/join_protocol.hpp"
#include "wireup/rendezvous.hpp"

namespace hl::launcher {
namespace {

constexpr int kStopWaitMs = 10000;

// A request other than a join to the holder in `node_dir`; nullopt when
// none answers there.
// One request on a connection to a holder; no reply if it went away.
std::optional<wireup::JoinReply> ask_on(int sock, wireup::RequestKind kind) {
  wireup::JoinRequest request;
  request.kind = kind;
  try {
    send_message(sock, wireup::encode(request));
    auto reply = receive_message(sock);
    if (!reply) return std::nullopt;
    return wireup::decode_reply(reply->payload);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::optional<wireup::JoinReply> ask(const PrivateDir& node_dir, wireup::RequestKind kind) {
  UniqueFd sock = wireup::connect_rendezvous_in(node_dir);
  if (!sock) return std::nullopt;
  return ask_on(sock.get(), kind);
}

// The names of the subdirectories of `dir` (node directories of a group).
std::vector<std::string> node_dirs(const PrivateDir& group) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(group.path())) {
    std::string name = entry.path().filename();
    if (entry.is_directory() && !entry.is_symlink() && !name.starts_with("front-")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The groups of named containers in this scope: this job's, or this machine's.
std::vector<std::string> named_groups(const PrivateDir& runtime, const EnvList& env) {
  std::string prefix = wireup::named_group(env, "");
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(runtime.path())) {
    std::string name = entry.path().filename();
    if (entry.is_directory() && !entry.is_symlink() && name.starts_with(prefix)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string when(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  char text[32] = "?";
  if (std::tm tm{}; ::localtime_r(&t, &tm) != nullptr) std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

void print_table(const std::vector<nlohmann::json>& rows) {
  fmt::print("{:<16} {:<10} {:<19} {:>7} {:<8} {:<4} {}\n", "NAME", "NODE", "CREATED", "RANKS", "WRITABLE", "ROOT",
             "IMAGE");
  for (const auto& r : rows) {
    fmt::print("{:<16} {:<10} {:<19} {:>7} {:<8} {:<4} {}\n", r.value("name", "?"), r.value("node", "?"),
               when(r.value("created", std::int64_t{0})),
               fmt::format("{}/{}", r.value("ranks_running", 0), r.value("ranks_joined", 0)),
               r.value("writable", false) ? "yes" : "no", r.value("root", false) ? "yes" : "no", r.value("image", "?"));
  }
}

// Stops this node's holder of `group`, waiting until the process is gone:
// its directory goes first, and its FUSE mount and layers only with it.
bool stop_here(const PrivateDir& runtime, const std::string& group) {
  PrivateDir group_dir = runtime.existing_subdir(group);
  if (!group_dir.valid()) return false;
  PrivateDir node = group_dir.existing_subdir(host_name());
  if (!node.valid()) return false;
  UniqueFd sock = wireup::connect_rendezvous_in(node);
  if (!sock) return false;
  UniqueFd holder = open_pidfd(wireup::peer_credentials(sock.get()).pid);  // the holder answers itself
  auto reply = ask_on(sock.get(), wireup::RequestKind::stop);
  if (!reply || !reply->ok) return false;
  if (holder) {
    pollfd fd{holder.get(), POLLIN, 0};
    ::poll(&fd, 1, kStopWaitMs);
    return true;
  }
  for (int waited = 0; waited < kStopWaitMs && group_dir.existing_subdir(host_name()).valid(); waited += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// In a job: one task per node of the record stops its node's holder.
void stop_on_nodes(const std::string& name, const std::vector<std::string>& nodes) {
  std::string count = std::to_string(nodes.size());
  std::vector<std::string> cmd = {"srun",
                                  "--overlap",
                                  "-w",
                                  fmt::format("{}", fmt::join(nodes, ",")),
                                  "-N",
                                  count,
                                  "-n",
                                  count,
                                  "--ntasks-per-node=1",
                                  "--quiet",
                                  self_path(),
                                  "stop",
                                  "--this-node",
                                  name};
  int code = ChildProcess::spawn(cmd).wait();
  if (code != 0) log::warn("stopping `{}` on {}: srun exited {}", name, fmt::join(nodes, ","), code);
}

}  // namespace

int ps_command(int argc, char** argv) {
  bool json = false;
  CLI::App app{"hpclaunch ps: the named containers (--name) of this job, or of this machine outside one",
               "hpclaunch ps"};
  app.add_flag("--json", json, "one JSON array of the holders' answers");
  if (!parse_command_line(app, argc, argv, "hpclaunch ps")) return 0;
  EnvList env = environment_of_this_process();
  PrivateDir runtime = open_runtime_dir(env);
  // Records of named containers whose job ended (nobody keeps their claim).
  runtime.sweep_all_stale("n-");
  std::vector<nlohmann::json> rows;
  for (const auto& group : named_groups(runtime, env)) {
    PrivateDir group_dir = runtime.existing_subdir(group);
    for (const auto& node : node_dirs(group_dir)) {
      auto reply = ask(group_dir.existing_subdir(node), wireup::RequestKind::status);
      if (reply && reply->ok) rows.push_back(reply->status);
    }
  }
  if (json) {
    fmt::print("{}\n", nlohmann::json(rows).dump());
  } else {
    print_table(rows);
  }
  return 0;
}

int stop_command(int argc, char** argv) {
  std::string name;
  bool this_node = false;
  CLI::App app{"hpclaunch stop: stop a named container (its holders, FUSE mounts and writable layer)",
               "hpclaunch stop"};
  app.add_option("NAME", name, "the container's --name")->required();
  app.add_flag("--this-node", this_node, "only this node's holder")->group("");
  if (!parse_command_line(app, argc, argv, "hpclaunch stop")) return 0;
  validate_container_name(name);
  EnvList env = environment_of_this_process();
  PrivateDir runtime = open_runtime_dir(env);
  std::string group = wireup::named_group(env, name);
  if (this_node) return stop_here(runtime, group) ? 0 : 1;
  if (!runtime.existing_subdir(group).valid()) {
    throw Error(fmt::format("no named container `{}` here", name), "see `hpclaunch ps`");
  }
  LockedRecord record(runtime, group);
  auto existing = record.load();
  if (!env_value(env, "SLURM_JOB_ID").empty() && existing && !existing->nodes.empty()) {
    stop_on_nodes(name, existing->nodes);
  } else {
    stop_here(runtime, group);
  }
  record.remove();
  runtime.remove(group);
  return 0;
}

int save_command(int, char** argv) {
  // The squashfs writer (tar2sqfs) is the importer's: hpclaunch-import does it.
  exec_sibling("hpclaunch-import", argv);
}

}  // namespace hl::launcher
