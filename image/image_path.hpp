#pragma once
// Paths as the container will see them, resolved inside the image alone:
// an image symlink (/home -> /var/home, or a hostile /tmp -> /etc or
// /var/tmp -> ../../etc) is followed within the image's root, never out of
// it, and the result is a path string relative to that root — computed
// component by component with readlinkat, not by taking a /proc/self/fd
// link apart (which gives the host's resolved path: wrong when the staging
// dir itself lies behind a symlink, e.g. TMPDIR=/tmp/link).
#include <string>

namespace hl::image {

struct ImagePath {
  std::string path;         // absolute, inside the image, no symlink among its existing components
  bool exists = false;      // the whole path exists in the image
  bool is_symlink = false;  // exists, and its last component is a symlink (not followed)
};

// Resolves `path` below the directory `root_fd`. Every component but the last
// is followed when it is a symlink; the last only when `follow_last`.
// Throws Error on a symlink loop (more than 40 links).
ImagePath resolve_in_image(int root_fd, const std::string& path, bool follow_last);

}  // namespace hl::image
