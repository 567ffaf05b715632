#pragma once
// The boundary between the registry side of `hpclaunch import` (which fetches
// and verifies blobs) and the layer side (which turns verified layers into
// one squashfs image): what the one hands the other.
#include <cstdint>
#include <string>

namespace hl::import {

// One layer blob on disk whose sha256 has already been verified.
struct LayerBlob {
  std::string path;        // file in the layer cache
  std::string media_type;  // ...tar, ...tar+gzip, ...tar+zstd (OCI or Docker names)
  std::string digest;      // "sha256:..."
  std::uint64_t size = 0;  // compressed size
};

}  // namespace hl::import
