#pragma once
// The caches shared by imports: content-addressed blobs
//   <root>/blobs/sha256/<hex>            verified (written as <hex>.partial, renamed after the digest matched)
// and finished images by the digest of their (platform) manifest
//   <root>/images/sha256:<hex>.sqsh
// Paths are pure; installing a finished image is one small I/O function.
#include <cstdint>
#include <string>
#include <string_view>

namespace hl::import {

// $XDG_CACHE_HOME/hpclaunch, else $HOME/.cache/hpclaunch. Throws when neither is set.
std::string default_cache_dir(const char* xdg_cache_home, const char* home);

class BlobCache {
 public:
  explicit BlobCache(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string blob_dir() const { return root_ + "/blobs/sha256"; }
  std::string image_dir() const { return root_ + "/images"; }
  std::string blob_path(std::string_view digest) const;
  // The one resumable partial download of a blob (locked while in use).
  std::string partial_path(std::string_view digest) const;
  std::string image_path(std::string_view manifest_digest) const;
  // Creates the directories (mode 0755) if missing; throws naming the path.
  void create_directories() const;
  // A blob is cached when its file exists with the expected size: it was
  // verified before it got its name.
  bool has_blob(std::string_view digest, std::uint64_t size) const;
  bool has_image(std::string_view manifest_digest) const;

 private:
  std::string root_;
};

enum class InstallMethod { Hardlink, Reflink, Copy };
const char* to_string(InstallMethod method);

// Makes `target` a copy of `source` that appears complete or not at all (temp
// name in the target's directory + rename): a hard link when both are on the
// same file system, else a reflink (FICLONE), else a copy. Replaces `target`.
InstallMethod install_file(const std::string& source, const std::string& target);

// mkdir -p with mode 0755; throws naming the path.
void make_directories(const std::string& path);

}  // namespace hl::import
