#pragma once
// The entry point of the layer side of `hpclaunch import`: verified layers
// (layer_blob.hpp) and the image config in, one squashfs image out.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "import/layers/layer_blob.hpp"

namespace hl::import {

struct SquashfsBuildOptions {
  std::string compressor = "zstd";  // the default compressor and level, used by the benchmark's baseline too
  int level = 3;
  std::uint64_t max_unpacked_bytes = 64ull << 30;  // decompression-bomb cap, checked while reading
  std::string tmp_dir = "/tmp";
};

// Progress of the layer side: bytes of layer data read so far, of the total.
using BuildProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Applies the layers in order (whiteouts, opaque dirs, hardlinks, symlinks;
// device files skipped with a note; modes, mtimes and uid/gid kept), stores
// the image config (Env, WorkingDir, Entrypoint, Cmd, User) in the image as
// /etc/environment and /.hpclaunch/config.json, and writes `output` via a
// temp name + rename: the file appears only complete. Throws hl::Error (one
// line naming the layer/entry) for unsafe paths, bad archives, size cap.
void build_squashfs_from_layers(const std::vector<LayerBlob>& layers, const nlohmann::json& image_config,
                                const std::string& output, const SquashfsBuildOptions& options,
                                const BuildProgress& progress = {});

}  // namespace hl::import
