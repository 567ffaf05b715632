#pragma once
// One node's shared container, owned by the holder process: the user
// namespace, the image served by in-process squashfuse, and the mount
// namespace (built by a short-lived child) that every local rank joins.
#include <memory>
#include <string>

#include "common/unique_fd.hpp"
#include "image/container_spec.hpp"
#include "image/etc_files.hpp"
#include "image/image_config.hpp"
#include "image/squashfuse_server.hpp"

namespace hl::image {

class Container {
 public:
  // Must run in a single-threaded process. On failure everything made so far
  // (mounts, staging dir, build child) is undone before the error propagates.
  // `image_fd` is the image named by spec.image, already checked;
  // node.staging_dir an empty private directory (the caller removes it).
  // `image_size`: the squashfs's length as rank 0 saw it (the fd's file was
  // checked against it); it starts at node.image_offset (a SIF's partition).
  static std::unique_ptr<Container> build(UniqueFd image_fd, std::uint64_t image_size, const ContainerSpec& spec,
                                          const NodeSetup& node);

  SquashfsServer& server() { return *server_; }
  // The root view (uid 0 = the caller) and the user view (the caller's own
  // uid), both over the same mount namespace (image/user_namespace.hpp).
  int root_view_fd() const { return root_view_.get(); }
  int user_view_fd() const { return user_view_.get(); }
  int mount_namespace_fd() const { return mntns_.get(); }
  const EnvList& image_environment() const { return image_env_; }
  // What the node's hooks left for the ranks (HPCLAUNCH_HOOK_ENVIRON).
  const EnvList& hook_environment() const { return hook_env_; }
  const ImageConfig& image_config() const { return image_config_; }

 private:
  Container() = default;
  std::unique_ptr<SquashfsServer> server_;
  UniqueFd root_view_;
  UniqueFd user_view_;
  UniqueFd mntns_;
  EnvList image_env_;
  EnvList hook_env_;
  ImageConfig image_config_;
};

}  // namespace hl::image
