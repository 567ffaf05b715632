#pragma once
// A launch step's output, read from a pipe in the front end's poll loop:
// kept (its tail) to explain a failure, shown live with -v, and watched for
// the node step's "containers ready" line. pyxis keeps helper output the
// same way and shows it only when something failed.
#include <cstddef>
#include <set>
#include <string>

#include "common/unique_fd.hpp"

namespace hl::launcher {

class StepOutput {
 public:
  // The write end goes to the step (its stdout and stderr).
  explicit StepOutput(bool echo);
  // The step writes into the file at `path` instead (created, appended to):
  // a step that outlives us (a named container's) must not lose its stdout
  // when we exit. read_fd() is then an inotify fd that wakes on writes.
  StepOutput(bool echo, const std::string& path);

  int read_fd() const { return read_.get(); }
  int write_fd() const { return write_.get(); }
  // After spawning: only the step holds the write end now.
  void close_write_end() { write_.reset(); }
  // Reads what is there (non-blocking); false at EOF.
  bool drain();
  // Forgets what was read (a restarted step explains only its own failure).
  void clear();
  // Reopens the pipe for a new attempt of the step.
  void reopen();

  const std::string& text() const { return text_; }
  // The node step said every node's container is ready (rank 0's line).
  bool containers_ready() const { return containers_ready_; }
  // Every node step printed its serve-gate line (wireup/holder_protocol.hpp).
  bool every_node_ready() const {
    return ready_size_ > 0 && ready_ranks_.size() == static_cast<std::size_t>(ready_size_);
  }

 private:
  void take(const char* data, std::size_t size);
  void take_lines();
  void take_node_ready(const std::string& line);

  UniqueFd read_;
  UniqueFd write_;
  UniqueFd file_;  // file mode: our read end of the file (read_ is the inotify fd)
  bool echo_;
  std::string text_;     // the kept tail, whole lines
  std::string partial_;  // an unfinished last line
  bool containers_ready_ = false;
  std::set<int> ready_ranks_;  // node steps that printed their node-ready line
  int ready_size_ = 0;         // how many there are, from those lines
};

}  // namespace hl::launcher
