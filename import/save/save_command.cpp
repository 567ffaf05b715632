#include "import/save/save_command.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/cli_parse.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/message_socket.hpp"
#include "common/private_dir.hpp"
#include "common/strings.hpp"
#include "import/layers/squashfs_builder.hpp"
#include "import/layers/squashfs_packer.hpp"
#include "import/save/tree_tar.hpp"
#include "wireup/join_protocol.hpp"
#include "wireup/rendezvous.hpp"

namespace hl::import {
namespace {

struct Namespaces {
  UniqueFd root_view;
  UniqueFd mounts;
};

// The root view of this node's holder of `name` (it counts as no rank).
Namespaces root_view_of(const std::string& name) {
  EnvList env = environment_of_this_process();
  PrivateDir runtime = open_runtime_dir(env);
  std::string group = wireup::named_group(env, name);
  PrivateDir group_dir = runtime.existing_subdir(group);
  PrivateDir node = group_dir.valid() ? group_dir.existing_subdir(host_name()) : PrivateDir();
  UniqueFd sock = node.valid() ? wireup::connect_rendezvous_in(node) : UniqueFd();
  if (!sock)
    throw Error(fmt::format("no named container `{}` on this node ({})", name, host_name()), "see `hpclaunch ps`");
  wireup::JoinRequest request;
  request.kind = wireup::RequestKind::root_view;
  send_message(sock.get(), wireup::encode(request));
  auto reply = receive_message(sock.get());
  if (!reply) throw Error(fmt::format("the holder of `{}` went away", name));
  auto decoded = wireup::decode_reply(reply->payload);
  if (!decoded.ok) throw Error(decoded.error, decoded.hint);
  if (reply->fds.size() != 2) throw Error(fmt::format("the holder of `{}` sent no namespace fds", name));
  return {std::move(reply->fds[0]), std::move(reply->fds[1])};
}

// The container's root mount alone (open_tree, not recursive): the binds
// from the host (/proc, $HOME, /tmp ...) show as their empty mount points.
UniqueFd container_root(const Namespaces& ns) {
  if (::setns(ns.root_view.get(), CLONE_NEWUSER) != 0) throw_errno("setns(user namespace)");
  if (::setns(ns.mounts.get(), CLONE_NEWNS) != 0) throw_errno("setns(mount namespace)");
  UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!tree) throw_errno("open_tree", "/");
  // open_tree gives an O_PATH fd; a directory we can list is opened through it.
  UniqueFd root(::openat(tree.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("open", "/");
  return root;
}

}  // namespace

int run_save_command(int argc, char** argv) {
  std::string name, output;
  SquashfsBuildOptions options;
  CLI::App app{"hpclaunch save: this node's named container as a new squashfs image", "hpclaunch save"};
  app.add_option("NAME", name, "the container's --name")->required();
  app.add_option("-o,--output", output, "the image to write (.sqsh)")->required();
  app.add_option("--compressor", options.compressor, "zstd, gzip, xz, lzo or lz4")->default_val("zstd");
  bool force = false;
  app.add_flag("-f,--force", force, "replace an existing output file");
  if (!parse_command_line(app, argc, argv, "hpclaunch save", "", 2)) return 0;
  std::string path = absolute_path(output, current_directory());
  if (!force && ::access(path.c_str(), F_OK) == 0) {
    throw Error(fmt::format("`{}` exists", path), "choose another -o, or add -f to replace it");
  }
  Namespaces ns = root_view_of(name);
  // tar2sqfs starts here, in our own namespaces (it writes `path` on the
  // host); only then do we enter the container to read its root.
  SquashfsPacker packer(path, options);
  UniqueFd root = container_root(ns);
  TreeStats stats;
  bool cut_short = false;
  try {
    stats = write_tree(root.get(), packer.writer());
  } catch (const Error&) {
    if (!packer.writer().peer_closed()) throw;
    cut_short = true;
  }
  packer.finish(cut_short);
  std::string left_out;
  if (stats.skipped > 0) left_out += fmt::format(", {} sockets or devices left out", stats.skipped);
  if (stats.unreadable > 0) left_out += fmt::format(", {} unreadable entries left out", stats.unreadable);
  log::write_line("", fmt::format("saved `{}` ({} files, {}{}) to {}", name, stats.files, human_bytes(stats.bytes),
                                  left_out, path));
  return 0;
}

}  // namespace hl::import
