#include "common/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "common/unique_handle.hpp"

namespace hl {
namespace {

void close_dir(DIR* d) { ::closedir(d); }
using UniqueDir = UniqueHandle<DIR*, close_dir>;

constexpr int kMaxTreeDepth = 128;

const char* file_type(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

std::string read_all(int fd, const std::string& what, std::uint64_t max_bytes) {
  std::string content;
  char buffer[16384];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", what);
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > max_bytes) {
      throw Error(fmt::format("{} is larger than {} bytes", what, max_bytes), "is it the file you meant?");
    }
  }
  return content;
}

void write_all(int fd, std::string_view content, const std::string& path) {
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write", path);
    done += static_cast<std::size_t>(n);
  }
}

bool remove_entries(int dir_fd, dev_t device, int depth);

// One entry of `dir_fd`: a directory on the same file system is emptied
// first (opened with O_NOFOLLOW relative to its parent), anything else is
// unlinked as it is. A mount point (another st_dev) is left alone.
bool remove_entry(int dir_fd, const char* name, dev_t device, int depth) {
  if (::unlinkat(dir_fd, name, 0) == 0) return true;
  if (errno == ENOENT) return true;
  if (errno != EISDIR && errno != EPERM) return false;
  UniqueFd child(::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!child) return errno == ENOENT;
  struct stat st {};
  if (::fstat(child.get(), &st) != 0 || st.st_dev != device) return false;
  bool emptied = depth < kMaxTreeDepth && remove_entries(child.get(), device, depth + 1);
  return (::unlinkat(dir_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) && emptied;
}

bool remove_entries(int dir_fd, dev_t device, int depth) {
  std::vector<DirectoryEntry> entries;
  try {
    entries = read_directory(dir_fd, "a directory being removed");
  } catch (const Error&) {
    return false;
  }
  bool all = true;
  for (const auto& e : entries) all = remove_entry(dir_fd, e.name.c_str(), device, depth) && all;
  return all;
}

}  // namespace

std::vector<DirectoryEntry> read_directory(int dir_fd, const std::string& what) {
  int copy = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw_errno("dup", what);
  UniqueDir dir(::fdopendir(copy));
  if (!dir) {
    int err = errno;
    ::close(copy);
    throw system_error(err, "read directory", what);
  }
  std::vector<DirectoryEntry> out;
  errno = 0;
  while (dirent* e = ::readdir(dir.get())) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") out.push_back({std::string(name), e->d_type == DT_DIR});
  }
  if (errno != 0) throw_errno("read directory", what);
  return out;
}

std::string read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("open", path);
  return read_all(fd.get(), path, UINT64_MAX);
}

std::string read_regular_file(int fd, const std::string& what, std::uint64_t max_bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno("stat", what);
  if (!S_ISREG(st.st_mode)) {
    throw Error(fmt::format("{} is not a regular file ({})", what, file_type(st.st_mode)), "make it a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    throw Error(fmt::format("{} is larger than {} bytes", what, max_bytes), "is it the file you meant?");
  }
  return read_all(fd, what, max_bytes);
}

void write_file(const std::string& path, std::string_view content, unsigned mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) throw_errno("create", path);
  write_all(fd.get(), content, path);
}

PendingFile::PendingFile(std::string target)
    : target_(std::move(target)),
      temp_(dirname_of(target_) + "/." + target_.substr(target_.rfind('/') + 1) + "." + random_hex(6) + ".tmp") {}

PendingFile::~PendingFile() {
  if (!committed_) ::unlink(temp_.c_str());
}

void PendingFile::commit() {
  if (::rename(temp_.c_str(), target_.c_str()) != 0) throw_errno("rename to", target_);
  committed_ = true;
}

void write_file_atomic(const std::string& path, std::string_view content, unsigned mode) {
  PendingFile file(path);
  UniqueFd fd(::open(file.path().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) throw_errno("create", file.path());
  write_all(fd.get(), content, file.path());
  file.commit();
}

bool remove_tree_at(int parent_fd, const std::string& name) {
  struct stat st {};
  if (::fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT;
  return remove_entry(parent_fd, name.c_str(), st.st_dev, 0);
}

bool remove_tree(const std::string& path) {
  std::string parent = dirname_of(path);
  UniqueFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent_fd) return errno == ENOENT;
  return remove_tree_at(parent_fd.get(), path.substr(path.rfind('/') + 1));
}

}  // namespace hl
