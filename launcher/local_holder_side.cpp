// One machine, no second launcher: the front end stats the image itself
// (a missing or broken image fails before anything starts), starts this
// node's holder as its own child and lets the ranks in once it is ready.
// The holder's life is the front end's: its death (kill -9) stops the holder
// and, with it, the ranks (PR_SET_PDEATHSIG; the holder is not detached).
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/message_socket.hpp"
#include "common/self_path.hpp"
#include "image/image_metadata.hpp"
#include "launcher/node_side.hpp"
#include "wireup/holder_protocol.hpp"

namespace hl::launcher {
namespace {

constexpr int kGraceMs = 5000;
constexpr int kHolderExitMs = 3000;

class LocalHolderSide : public NodeSide {
 public:
  LocalHolderSide(const LaunchPlan& plan, const SpawnOptions& options, bool verbose)
      : plan_(plan), options_(options), verbose_(verbose), output_(verbose) {}

  void start() override {
    const std::string& path = plan_.spec.container.image;
    UniqueFd image_fd;
    // A staged copy: its identity, the metadata tail's checksum included, is
    // what the holder checks the copy it opens against.
    const std::string& staged = plan_.spec.serving.staged_path;
    image::ImageMetadata image;
    if (plan_.image_identity && staged.empty()) {
      image = *plan_.image_identity;  // read by the front end: open and compare, no second stat
      image_fd = image::open_matching_image(image);
    } else {
      image = image::read_image_metadata(staged.empty() ? path : staged, &image_fd, !staged.empty());
    }
    auto [ours, theirs] = message_socket_pair();
    options_.fd_map = {{theirs.get(), wireup::kHolderControlFd}};
    options_.stdout_fd = options_.stderr_fd = output_.write_fd();
    holder_ = ChildProcess::spawn({sibling_binary("hpclaunch-node"), "holder"}, options_);
    output_.close_write_end();
    output_open_ = true;
    control_ = std::move(ours);
    wireup::send_request(control_.get(), wireup::HolderRequest{plan_.spec, image, std::move(image_fd)});
  }

  void add_pollfds(std::vector<pollfd>& fds) const override {
    fds.push_back({code_ ? -1 : holder_.pidfd(), POLLIN, 0});
    fds.push_back({ready_ ? -1 : control_.get(), POLLIN, 0});
    fds.push_back({output_open_ ? output_.read_fd() : -1, POLLIN, 0});
  }

  std::optional<int> on_events(const pollfd* mine, const ChildProcess&, int) override {
    if (mine[2].revents & (POLLIN | POLLHUP)) output_open_ = output_.drain();
    if (mine[1].revents & (POLLIN | POLLHUP)) {
      if (auto failed = answer()) return failed;
    }
    if (mine[0].revents & POLLIN) return exited();
    return std::nullopt;
  }

  int finish(int app_code) override {
    // The holder exits once every rank that joined has; one that never
    // joined keeps it waiting, so release it after a while (at once when
    // the app step failed).
    if (!code_ && (app_code != 0 || !holder_.wait_for(kHolderExitMs))) holder_.terminate(kGraceMs);
    drain_output();
    if (!verbose_) print_hpclaunch_lines(output_.text(), app_code != 0 ? is_problem_line : is_warning_line);
    return app_code;
  }

  void stop(int grace_ms) override { holder_.terminate(grace_ms); }

 private:
  // The holder's "ready" (then it may let the ranks in) or its error.
  std::optional<int> answer() {
    try {
      wireup::await_ready(control_.get());
    } catch (const Error& e) {
      if (std::string_view(e.what()).find("died") != std::string_view::npos) {
        control_.reset();  // the holder is gone: its pidfd says how
        return std::nullopt;
      }
      log::error("{}", e.describe());
      failed_ = true;
      return e.exit_code();
    }
    ready_ = true;
    wireup::send_serve(control_.get(), false);
    return std::nullopt;
  }

  std::optional<int> exited() {
    code_ = holder_.wait();
    drain_output();
    if (failed_ || (ready_ && *code_ == 0)) return std::nullopt;
    if (killed_by_signal(*code_)) {
      log::error(
          "the container holder died ({0}) while serving image `{1}`; the image may be corrupt: check it with "
          "`unsquashfs -s {1}` and `unsquashfs -l {1}`",
          describe_exit(*code_), plan_.spec.container.image);
    } else if (!ready_) {
      print_hpclaunch_lines(output_.text(), is_problem_line);
    }
    return ready_ ? std::nullopt : std::optional<int>(*code_ == 0 ? 1 : *code_);
  }

  void drain_output() {
    while (output_open_) {
      pollfd fd{output_.read_fd(), POLLIN, 0};
      if (::poll(&fd, 1, 0) <= 0) return;
      output_open_ = output_.drain();
    }
  }

  const LaunchPlan& plan_;
  SpawnOptions options_;
  bool verbose_;
  StepOutput output_;
  bool output_open_ = false;
  UniqueFd control_;
  ChildProcess holder_;
  std::optional<int> code_;
  bool ready_ = false;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<NodeSide> make_local_holder_side(const LaunchPlan& plan, const SpawnOptions& options, bool verbose) {
  return std::make_unique<LocalHolderSide>(plan, options, verbose);
}

}  // namespace hl::launcher
