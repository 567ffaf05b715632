#pragma once
// A directory tree, read through fds, as tar entries: what `hpclaunch save`
// streams into tar2sqfs from a named container's root (the overlay alone,
// whiteouts already applied by it: a removed image file is simply absent).
#include <cstdint>
#include <string>

#include "import/layers/layers_archive.hpp"

namespace hl::import {

struct TreeStats {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::uint64_t skipped = 0;     // sockets, device nodes
  std::uint64_t unreadable = 0;  // files and directories of unmapped owners that only they may read
};

// Writes everything below the directory `root_fd` (never following a
// symlink, never leaving its file system: other mounts show as their empty
// mount points), hard links as links. Throws Error naming the path.
TreeStats write_tree(int root_fd, TarStreamWriter& out);

}  // namespace hl::import
