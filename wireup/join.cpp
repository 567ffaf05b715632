#include "wireup/join.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/message_socket.hpp"
#include "common/strings.hpp"
#include "devices/apply_binding.hpp"
#include "devices/binding_render.hpp"
#include "devices/cpu_list.hpp"
#include "wireup/fake_root.hpp"
#include "wireup/join_protocol.hpp"

#include <nlohmann/json.hpp>
#include "wireup/rendezvous.hpp"

extern char** environ;

namespace hl::wireup {
namespace {

struct Joined {
  JoinReply reply;
  UniqueFd root_view;
  UniqueFd mntns;
  UniqueFd user_view;  // not for --root ranks
};

Joined ask_holder(const JoinSpec& options, JoinRequest request) {
  if (request.local_size == 0) request.local_size = options.local_size;
  UniqueFd sock = connect_rendezvous(options.rendezvous_group, std::chrono::seconds(options.timeout_s));
  if (peer_credentials(sock.get()).uid != ::getuid()) {
    throw Error("the rendezvous socket belongs to another user; refusing to join");
  }
  std::optional<Message> message;
  try {
    send_message(sock.get(), encode(request));
    message = receive_message(sock.get());
  } catch (const Error&) {
    message.reset();  // the holder went away mid-request: same as no answer
  }
  if (!message) {
    throw Error("the container holder on this node went away before answering",
                "the node step failed or was stopped: hpclaunch shows its error when the launch ends");
  }
  Joined joined{decode_reply(message->payload), {}, {}, {}};
  if (!joined.reply.ok) {
    if (options.quiet_unless_first && request.local_rank > 0) std::_Exit(joined.reply.exit_code);
    throw Error(joined.reply.error, joined.reply.hint, joined.reply.exit_code);
  }
  if (message->fds.size() != (options.root ? 2u : 3u)) throw Error("the container holder sent no namespace fds");
  joined.root_view = std::move(message->fds[0]);
  joined.mntns = std::move(message->fds[1]);
  if (!options.root) joined.user_view = std::move(message->fds[2]);
  return joined;
}

void enter(const Joined& joined) {
  // The root view's user namespace first: only inside it do we hold
  // CAP_SYS_ADMIN over the mount namespace it owns. Then, for the user view,
  // the nested one (as root of its parent we may enter it), which gives us
  // our own uid back.
  if (::setns(joined.root_view.get(), CLONE_NEWUSER) != 0) throw_errno("setns(user namespace)");
  if (::setns(joined.mntns.get(), CLONE_NEWNS) != 0) throw_errno("setns(mount namespace)");
  if (joined.user_view && ::setns(joined.user_view.get(), CLONE_NEWUSER) != 0) {
    throw_errno("setns(user view namespace)");
  }
}

// Binds this process as the node's plan says (inside the cpuset it was
// given); affinity and memory policy survive exec. Returns the device env.
EnvList apply_planned_binding(const JoinSpec& options, const JoinRequest& request, const JoinReply& reply) {
  if (reply.binding.empty()) return {};
  auto planned = devices::rank_binding_from_json(decode_json<nlohmann::json>(reply.binding, "rank binding"));
  auto applied = devices::apply_binding(planned);
  for (const auto& w : applied.warnings) log::warn("{}", w);
  if (options.report_bindings) {
    log::write_line("", devices::binding_report_line(request.rank, host_name(), applied.binding));
  }
  return planned.env;
}

void append_dirs(std::vector<std::string>& env, const std::string& key, const std::vector<std::string>& dirs) {
  if (dirs.empty()) return;
  auto it = std::find_if(env.begin(), env.end(), [&](const std::string& e) { return e.starts_with(key + "="); });
  std::string value = it == env.end() ? "" : it->substr(key.size() + 1);
  for (const auto& d : dirs) value += (value.empty() ? "" : ":") + d;
  if (it == env.end()) {
    env.push_back(key + "=" + value);
  } else {
    *it = key + "=" + value;
  }
}

void change_directory(const std::string& workdir) {
  // setns(mnt) reset our cwd to the container's root.
  if (!workdir.empty() && ::chdir(workdir.c_str()) == 0) return;
  if (!workdir.empty()) log::warn("workdir `{}` does not exist in the container; using /", workdir);
  if (::chdir("/") != 0) throw_errno("chdir", "/");
}

std::string path_value() {
  const char* path = std::getenv("PATH");
  return path != nullptr ? path : "";
}

}  // namespace

std::vector<std::string> parse_join_command(int argc, char** argv) {
  // `hpclaunch-join --` alone: no program, the image's Entrypoint and Cmd run.
  if (argc < 2 || std::strcmp(argv[1], "--") != 0) {
    throw Error("hpclaunch-join is internal: started by `hpclaunch run`", "run hpclaunch instead", 2);
  }
  return std::vector<std::string>(argv + 2, argv + argc);
}

void run_join(const JoinSpec& options, const std::vector<std::string>& given) {
  EnvList own = environment_of_this_process();
  JoinRequest request = request_from_environment(own);
  request.root_view = options.root;
  request.binding = options.binding;
  request.allowed_cpus = devices::format_cpu_list(devices::current_allowed_cpus());
  request.command = options.command;
  request.command.command = given;
  Joined joined = ask_holder(options, request);
  for (const auto& w : joined.reply.warnings) log::warn("{}", w);
  const std::vector<std::string>& command = joined.reply.argv;
  if (command.empty()) throw Error("the container holder sent no command to run");
  EnvList device_env = apply_planned_binding(options, request, joined.reply);
  enter(joined);
  bool image_workdir = !options.workdir_given && !joined.reply.image_workdir.empty();
  change_directory(image_workdir ? joined.reply.image_workdir : options.workdir);
  if (options.root) install_fake_root_filter();
  EnvLayers layers;
  layers.own = std::move(own);
  layers.image = joined.reply.image_env;
  layers.site = options.site_env;
  layers.site.insert(layers.site.end(), joined.reply.hook_env.begin(), joined.reply.hook_env.end());
  layers.device = std::move(device_env);
  layers.user = options.user_env;
  layers.cleanenv = options.cleanenv;
  layers.unset = options.unset_env;
  std::vector<std::string> env = compose_environment(layers);
  append_dirs(env, "LD_LIBRARY_PATH", joined.reply.library_dirs);
  append_dirs(env, "PATH", joined.reply.bin_dirs);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // execvp searches the PATH of `environ`: the container's, set just above.
  environ = envp.data();
  ::execvp(argv[0], argv.data());
  int err = errno;
  if (err == ENOENT) {
    log::error("program `{}` not found in the container (PATH={})", command[0], path_value());
    std::_Exit(127);
  }
  log::error("cannot run `{}` in the container: {}", command[0], std::strerror(err));
  std::_Exit(126);
}

}  // namespace hl::wireup
