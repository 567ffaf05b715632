#pragma once
// The boundary between the registry side of `hpclaunch import` (which fetches
// and verifies blobs) and the layer side (which turns verified layers into
// one squashfs image). Owned by import/.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hl::import {

// One layer blob on disk whose sha256 has already been verified.
struct LayerBlob {
  std::string path;        // file in the layer cache
  std::string media_type;  // ...tar, ...tar+gzip, ...tar+zstd (OCI or Docker names)
  std::string digest;      // "sha256:..."
  std::uint64_t size = 0;  // compressed size
};

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
