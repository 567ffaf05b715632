#pragma once
// Whole-file reads and writes, and tree removal that another user cannot
// steer: every helper here names the path in its error.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hl {

// Reads a whole file; throws Error naming the path.
std::string read_file(const std::string& path);
// Reads at most `max_bytes` from an open regular file (`what` names it in
// errors: "`/etc/passwd` of the image"): a FIFO, device or directory is refused instead of read, so a
// hostile file cannot block or flood the reader.
std::string read_regular_file(int fd, const std::string& what, std::uint64_t max_bytes);
// Writes a file (created with `mode`), throws Error naming the path.
void write_file(const std::string& path, std::string_view content, unsigned mode = 0644);
// A file that appears at `target` only complete: it is written under a
// temporary name in the same directory (so the rename stays on one file
// system), renamed over `target` by commit(), and removed if never committed.
class PendingFile {
 public:
  explicit PendingFile(std::string target);
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  ~PendingFile();

  const std::string& path() const { return temp_; }  // write (or link, or let a tool write) here
  const std::string& target() const { return target_; }
  void commit();

 private:
  std::string target_;
  std::string temp_;
  bool committed_ = false;
};

// A PendingFile with `content`: readers see the old content or the new, never a part.
void write_file_atomic(const std::string& path, std::string_view content, unsigned mode = 0644);

struct DirectoryEntry {
  std::string name;
  bool is_directory = false;  // a real one (d_type; a symlink to one is not)
};
// The entries of the directory `dir_fd` (not "." and ".."), in no order;
// throws Error naming `what` when it cannot be read.
std::vector<DirectoryEntry> read_directory(int dir_fd, const std::string& what);

// Removes `name` (a file, symlink or directory tree) below the directory
// `parent_fd`. Each level is opened relative to its parent's fd with
// O_NOFOLLOW, so a directory swapped for a symlink mid-way is unlinked,
// never followed, and nothing on another file system (a mount point below)
// is entered. Best effort: returns false if something stayed.
bool remove_tree_at(int parent_fd, const std::string& name);
// The same for an absolute path (its parent directory is opened first).
bool remove_tree(const std::string& path);

}  // namespace hl
