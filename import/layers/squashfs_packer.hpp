#pragma once
// tar2sqfs (squashfs-tools-ng) as a child that packs a tar stream into a
// squashfs image as it reads: the importer feeds it merged layers, `save` a
// named container's root. The image appears at its path only complete.
#include <string>

#include "common/child_process.hpp"
#include "common/files.hpp"
#include "common/unique_fd.hpp"
#include "import/layers/layers_archive.hpp"

namespace hl::import {

struct SquashfsBuildOptions;

class SquashfsPacker {
 public:
  // Starts tar2sqfs writing a temporary file next to `output`.
  SquashfsPacker(const std::string& output, const SquashfsBuildOptions& options);
  // The tar stream into tar2sqfs.
  TarStreamWriter& writer() { return *writer_; }
  // After the writer's last entry: ends the stream, waits for tar2sqfs, and
  // renames the image into place. Throws tar2sqfs's own message on failure;
  // `cut_short`: the writer failed because tar2sqfs stopped reading first.
  void finish(bool cut_short = false);

 private:
  std::string output_;
  PendingFile image_;  // before the packer: the packer is reaped first, so it cannot make the file after we removed it
  UniqueFd log_;
  UniqueFd ours_;
  ChildProcess packer_;
  std::unique_ptr<TarStreamWriter> writer_;
};

}  // namespace hl::import
