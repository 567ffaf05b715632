#include "image/image_path.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"

namespace hl::image {
namespace {

constexpr int kMaxSymlinks = 40;  // the kernel's own limit (ELOOP)

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::deque<std::string> components(const std::string& path) {
  std::deque<std::string> out;
  for (auto& part : split(path, '/')) {
    if (!part.empty() && part != ".") out.push_back(std::move(part));
  }
  return out;
}

std::string read_link(int root_fd, const std::string& relative) {
  std::string target(4096, '\0');
  ssize_t n = ::readlinkat(root_fd, relative.c_str(), target.data(), target.size());
  if (n < 0) throw_errno("readlink in image", "/" + relative);
  target.resize(static_cast<std::size_t>(n));
  return target;
}

}  // namespace

ImagePath resolve_in_image(int root_fd, const std::string& path, bool follow_last) {
  std::vector<std::string> done;  // resolved: real directories of the image
  std::deque<std::string> todo = components(path);
  int links = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == "..") {
      if (!done.empty()) done.pop_back();  // ".." at the root stays at the root, as in RESOLVE_IN_ROOT
      continue;
    }
    done.push_back(part);
    std::string relative = joined(done).substr(1);
    struct stat st {};
    // Every component before `part` is a resolved directory, so this looks
    // up `part` in the image and nothing else.
    if (::fstatat(root_fd, relative.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) throw_errno("resolve in image", "/" + relative);
      for (auto& rest : todo) done.push_back(std::move(rest));
      return ImagePath{joined(done), false, false};
    }
    if (!S_ISLNK(st.st_mode)) continue;
    if (todo.empty() && !follow_last) return ImagePath{joined(done), true, true};
    if (++links > kMaxSymlinks) {
      throw Error(fmt::format("image path `{}`: too many levels of symlinks", path), "the image has a symlink loop");
    }
    std::string target = read_link(root_fd, relative);
    done.pop_back();
    if (target.starts_with('/')) done.clear();
    auto more = components(target);
    todo.insert(todo.begin(), more.begin(), more.end());
  }
  return ImagePath{joined(done), true, false};
}

}  // namespace hl::image
