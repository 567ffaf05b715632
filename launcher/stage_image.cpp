#include "launcher/stage_image.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <utility>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace hl::launcher {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

// Room in `dir` for a new file; throws when it is not a directory.
std::uint64_t room_in(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) {
    Error e = system_error(errno, "--stage: cannot use directory", dir);
    throw Error(e.what(), "give a node-local directory that exists on every node (e.g. $TMPDIR), or --stage none");
  }
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

// Size and mtime: the copy is only good if both are the same after it.
struct FileVersion {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileVersion&) const = default;
};

FileVersion version_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) throw Error(fmt::format("image `{}` does not exist", path), "check the --image path");
    throw_errno("stat image", path);
  }
  return {static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec};
}

// The front end's own copy (one machine).
void copy_here(const std::string& from, const std::string& to, std::uint64_t size, const std::string& mode) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) throw_errno("cannot open image", from);
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) throw_errno("--stage: cannot create the copy", to);
  off_t offset = 0;
  while (static_cast<std::uint64_t>(offset) < size) {
    ssize_t n = ::sendfile(out.get(), in.get(), &offset, std::min<std::uint64_t>(size - offset, 1 << 30));
    if (n > 0) continue;
    int err = n == 0 ? EIO : errno;
    ::unlink(to.c_str());
    if (err == ENOSPC) {
      throw Error(fmt::format("--stage {}: `{}` ran out of room for the image ({})", mode, to, human_bytes(size)),
                  "use --stage none, or a --stage DIR with room");
    }
    throw system_error(err, "--stage: copying the image to", to);
  }
}

// Slurm's sbcast: its output in a memfd, shown only when it fails.
void broadcast(const std::string& from, const std::string& to, const std::string& mode) {
  UniqueFd output(::memfd_create("sbcast", MFD_CLOEXEC));
  if (!output) throw_errno("memfd_create");
  SpawnOptions options;
  options.stdout_fd = options.stderr_fd = output.get();
  int code = ChildProcess::spawn({"sbcast", "--force", from, to}, options).wait();
  if (code == 0) return;
  std::string text(4096, '\0');
  ssize_t n = ::pread(output.get(), text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  std::string last;  // sbcast's last line says why
  for (const auto& line : split(text, '\n')) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  throw Error(fmt::format("--stage {}: sbcast of image `{}` to `{}` failed ({}){}", mode, from, to, describe_exit(code),
                          last.empty() ? "" : ": " + last),
              "make room there on every node, or use --stage none");
}

// A node step that failed before its holders opened their copies: remove
// them (a node whose holder did already has none: rm -f).
void remove_on_nodes(const std::string& path, int nodes) {
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  SpawnOptions options;
  options.stdin_fd = options.stdout_fd = options.stderr_fd = null.get();
  auto n = std::to_string(nodes);
  try {
    auto step = ChildProcess::spawn(
        {"srun", "--overlap", "-N", n, "-n", n, "--ntasks-per-node=1", "--cpu-bind=none", "rm", "-f", path}, options);
    if (!step.wait_for(10000)) step.terminate(1000);
  } catch (const Error& e) {
    log::warn("could not remove the staged image copies `{}`: {}", path, e.describe());
  }
}

}  // namespace

image::LeastRoom memory_room() {
  std::uint64_t bytes = mem_available();
  struct statvfs st {};
  if (::statvfs("/dev/shm", &st) == 0) bytes = std::min(bytes, static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize);
  return {bytes, host_name()};
}

StagedImage StagedImage::stage(LaunchPlan& plan, int image_fd) {
  StagedImage staged;
  const auto& target = plan.stage;
  const auto& serving = plan.spec.serving;
  if (target.copy == StageCopy::none) {
    log::info("image not staged: {}", target.why_not);
    return staged;
  }
  // auto on one machine is none without a look at the image.
  int nodes = target.copy == StageCopy::local ? 1 : target.nodes;
  if (serving.stage == image::StageMode::automatic && nodes <= 1) {
    log::info("image not staged: auto: one node reads the image once anyway");
    return staged;
  }
  const std::string& image = plan.spec.container.image;
  image::ImageMetadata& identity = *plan.image_identity;
  if (identity.squashfs_offset != 0) {
    // A SIF's partition is served in place at its offset; copies are of whole squashfs files.
    if (serving.stage != image::StageMode::automatic) {
      throw Error(fmt::format("--stage {}: image `{}` is a SIF file, which is served in place",
                              image::describe_stage(serving), image),
                  "use --stage none, or convert it to a .sqsh");
    }
    log::info("image not staged: auto: a SIF image is served in place");
    return staged;
  }
  FileVersion before{identity.size, identity.mtime_ns};
  std::uint64_t size = before.size;
  image::LeastRoom directory;
  if (serving.stage == image::StageMode::directory) directory = {room_in(serving.stage_dir), host_name()};
  image::StagePlan decided = image::plan_staging(serving, size, nodes, memory_room(), directory);
  if (decided.mode == image::StageMode::none) {
    log::info("image not staged: {}", decided.why);
    return staged;
  }
  std::string path = fmt::format("{}/{}", decided.root, target.file_name);
  std::string mode = image::describe_stage(serving);
  auto start = Clock::now();
  staged.copy_ = target.copy;
  staged.path_ = path;
  staged.nodes_ = nodes;
  if (target.copy == StageCopy::local) {
    copy_here(image, path, size, mode);
  } else {
    broadcast(image, path, mode);
  }
  // A file rewritten while it was read would be a mix of two images on
  // every node, and their copies would agree with each other.
  if (!(version_of(image) == before)) {
    throw Error(fmt::format("image `{}` changed while it was staged", image),
                "launch again once it is written completely, or use --stage none");
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  log::info("staged image `{}` ({}) to `{}` on {} node{} in {:.2f} s ({}): {} read from the shared file once, by {}",
            image, human_bytes(size), path, nodes, nodes == 1 ? "" : "s", seconds, decided.why, human_bytes(size),
            target.copy == StageCopy::local ? "this front end" : "sbcast");
  identity.tail_checksum = image::metadata_tail_checksum(image_fd, identity.superblock, image);
  set_staged_path(plan, path);
  return staged;
}

StagedImage::StagedImage(StagedImage&& other) noexcept
    : copy_(std::exchange(other.copy_, StageCopy::none)),
      path_(std::move(other.path_)),
      nodes_(other.nodes_),
      clean_up_nodes_(other.clean_up_nodes_) {}

StagedImage::~StagedImage() {
  if (copy_ == StageCopy::local) ::unlink(path_.c_str());  // the holder's open copy is unlinked already
  if (copy_ == StageCopy::sbcast && clean_up_nodes_) remove_on_nodes(path_, nodes_);
}

}  // namespace hl::launcher
