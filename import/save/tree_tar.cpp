#include "import/save/tree_tar.hpp"

#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "common/unique_handle.hpp"

namespace hl::import {
namespace {

void free_entry(archive_entry* e) { archive_entry_free(e); }
using Entry = UniqueHandle<archive_entry*, free_entry>;

constexpr int kMaxDepth = 256;

class TreeWriter {
 public:
  TreeWriter(TarStreamWriter& out, dev_t device) : out_(out), device_(device) {}

  void directory(int dir_fd, const std::string& path, int depth) {
    if (depth > kMaxDepth) throw Error(fmt::format("save: `{}` is nested too deep", path));
    for (const auto& name : names(dir_fd, path)) entry(dir_fd, name, path.empty() ? name : path + "/" + name, depth);
  }

  TreeStats stats() const { return stats_; }

 private:
  std::vector<std::string> names(int dir_fd, const std::string& path) {
    std::vector<std::string> out;
    for (auto& e : read_directory(dir_fd, "/" + path)) out.push_back(std::move(e.name));
    std::sort(out.begin(), out.end());  // the same container saves to the same image
    return out;
  }

  void entry(int dir_fd, const std::string& name, const std::string& path, int depth) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat", "/" + path);
    Entry e(archive_entry_new());
    archive_entry_copy_stat(e.get(), &st);
    if (!S_ISREG(st.st_mode)) archive_entry_set_size(e.get(), 0);  // only files carry data
    if (S_ISDIR(st.st_mode)) {
      out_.write_entry(e.get(), path);
      if (st.st_dev != device_) return;  // a mount point: its own file system is not the container's
      UniqueFd child(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child && errno == EACCES) return unreadable(path);
      if (!child) throw_errno("open", "/" + path);
      directory(child.get(), path, depth + 1);
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(4096, '\0');
      ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
      if (n < 0) throw_errno("readlink", "/" + path);
      target.resize(static_cast<std::size_t>(n));
      archive_entry_set_symlink(e.get(), target.c_str());
      out_.write_entry(e.get(), path);
    } else if (S_ISREG(st.st_mode)) {
      regular(dir_fd, name, path, st, e.get());
    } else if (S_ISFIFO(st.st_mode)) {
      out_.write_entry(e.get(), path);
    } else {
      ++stats_.skipped;  // sockets and device nodes: nothing a rootless image can hold
    }
  }

  void regular(int dir_fd, const std::string& name, const std::string& path, const struct stat& st, archive_entry* e) {
    if (st.st_nlink > 1) {
      auto [it, first] = links_.emplace(std::pair{st.st_dev, st.st_ino}, path);
      if (!first) {
        out_.write_link(path, it->second);
        return;
      }
    }
    UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd && errno == EACCES) return unreadable(path);
    if (!fd) throw_errno("open", "/" + path);
    out_.write_entry(e, path);
    char buffer[1 << 16];
    std::uint64_t left = static_cast<std::uint64_t>(st.st_size);
    while (left > 0) {
      ssize_t n = ::read(fd.get(), buffer, std::min<std::uint64_t>(sizeof buffer, left));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("read", "/" + path);
      if (n == 0) throw Error(fmt::format("save: `/{}` shrank while it was read", path));
      out_.write_data(buffer, static_cast<std::size_t>(n));
      left -= static_cast<std::uint64_t>(n);
    }
    ++stats_.files;
    stats_.bytes += static_cast<std::uint64_t>(st.st_size);
  }

  // A user namespace maps one uid: a file of another user (an image's _apt,
  // say) that only its owner may read stays unreadable even to our root.
  void unreadable(const std::string& path) {
    if (stats_.unreadable++ == 0)
      log::warn("save: `/{}` is not readable here (its owner is not mapped); left out", path);
  }

  TarStreamWriter& out_;
  dev_t device_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  TreeStats stats_;
};

}  // namespace

TreeStats write_tree(int root_fd, TarStreamWriter& out) {
  struct stat st {};
  if (::fstat(root_fd, &st) != 0) throw_errno("stat", "/");
  TreeWriter writer(out, st.st_dev);
  writer.directory(root_fd, "", 0);
  return writer.stats();
}

}  // namespace hl::import
