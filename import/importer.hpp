#pragma once
// The steps of `hpclaunch import`: resolve the manifest (index -> platform),
// answer from the image cache when this manifest digest was imported before,
// else fetch the config and the layers (parallel, verified, cached) and build
// the squashfs into the image cache; then install it at the output path.
#include <string>

#include "import/registry/blob_cache.hpp"
#include "import/registry/manifest.hpp"
#include "import/progress.hpp"
#include "import/registry/reference.hpp"
#include "import/registry/registry_client.hpp"
#include "import/layers/squashfs_builder.hpp"

namespace hl::import {

struct ImportRequest {
  ImageReference ref;
  Platform platform;
  std::string output;     // absolute
  std::string cache_dir;  // absolute
  RegistryOptions registry;
  SquashfsBuildOptions build;
  int parallel = 4;
};

struct ImportResult {
  std::string manifest_digest;
  bool from_image_cache = false;
  InstallMethod install = InstallMethod::Copy;
  std::uint64_t output_bytes = 0;
};

// Throws hl::Error; nothing appears at `output` unless everything verified
// and the image is complete.
ImportResult import_image(const ImportRequest& request, ImportProgress& progress);

}  // namespace hl::import
