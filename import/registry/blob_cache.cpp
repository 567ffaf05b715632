#include "import/registry/blob_cache.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/scope_guard.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "import/registry/digest.hpp"

namespace hl::import {
namespace {

// copy_file_range refuses some pairs of file systems (EXDEV since 5.19):
// plain read/write then.
void copy_contents(int in, int out, const std::string& source, const std::string& target) {
  bool use_copy_file_range = true;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = -1;
    if (use_copy_file_range) {
      n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        use_copy_file_range = false;
        continue;
      }
    } else {
      n = ::read(in, buffer, sizeof buffer);
      for (ssize_t done = 0; n > 0 && done < n;) {
        ssize_t w = ::write(out, buffer + done, static_cast<size_t>(n - done));
        if (w < 0 && errno != EINTR) throw_errno("write", target);
        done += std::max<ssize_t>(w, 0);
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("copy", source);
    if (n == 0) return;
  }
}

// link(2) fails with ENOENT when another import renames its copy over
// `source` between the path lookup and the link (the old inode has lost its
// last name): two imports of one image both install it in the image cache.
// Look the name up again, a bounded number of times.
int link_retrying(const std::string& source, const std::string& temp) {
  for (int attempt = 1;; ++attempt) {
    if (::link(source.c_str(), temp.c_str()) == 0) return 0;
    if (errno != ENOENT || attempt == 5 || ::access(source.c_str(), F_OK) != 0) return -1;
  }
}

}  // namespace

std::string default_cache_dir(const char* xdg_cache_home, const char* home) {
  if (xdg_cache_home != nullptr && xdg_cache_home[0] == '/') return std::string(xdg_cache_home) + "/hpclaunch";
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.cache/hpclaunch";
  throw Error("no cache directory: neither XDG_CACHE_HOME nor HOME is set", "pass --cache-dir DIR");
}

std::string BlobCache::blob_path(std::string_view digest) const {
  return blob_dir() + "/" + std::string(digest_hex(digest));
}

std::string BlobCache::partial_path(std::string_view digest) const { return blob_path(digest) + ".partial"; }

std::string BlobCache::image_path(std::string_view manifest_digest) const {
  return image_dir() + "/" + std::string(manifest_digest) + ".sqsh";
}

void BlobCache::create_directories() const {
  make_directories(blob_dir());
  make_directories(image_dir());
}

bool BlobCache::has_blob(std::string_view digest, std::uint64_t size) const {
  struct stat st {};
  return ::stat(blob_path(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         static_cast<std::uint64_t>(st.st_size) == size;
}

bool BlobCache::has_image(std::string_view manifest_digest) const {
  struct stat st {};
  return ::stat(image_path(manifest_digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

const char* to_string(InstallMethod method) {
  switch (method) {
    case InstallMethod::Hardlink:
      return "hardlink";
    case InstallMethod::Reflink:
      return "reflink";
    case InstallMethod::Copy:
      return "copy";
  }
  return "copy";
}

InstallMethod install_file(const std::string& source, const std::string& target) {
  PendingFile pending(target);
  const std::string& temp = pending.path();
  InstallMethod method = InstallMethod::Hardlink;
  if (link_retrying(source, temp) != 0) {
    if (errno != EXDEV && errno != EPERM && errno != EMLINK) throw_errno("link to", temp);
    UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) throw_errno("open", source);
    UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out) throw_errno("create", temp);
    method = ::ioctl(out.get(), FICLONE, in.get()) == 0 ? InstallMethod::Reflink : InstallMethod::Copy;
    if (method == InstallMethod::Copy) copy_contents(in.get(), out.get(), source, temp);
    if (::fsync(out.get()) != 0) throw_errno("fsync", temp);
  }
  pending.commit();
  return method;
}

void make_directories(const std::string& path) {
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("create directory", prefix);
    if (slash == std::string::npos) break;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) throw Error(fmt::format("`{}` is not a directory", path));
}

}  // namespace hl::import
