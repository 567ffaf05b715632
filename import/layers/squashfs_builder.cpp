// Layers -> squashfs without an unpacked tree: the layers are merged in
// memory (layers_merge) and the surviving entries stream as one tar into
// tar2sqfs (squashfs-tools-ng), which packs them as it reads. Nothing is
// written to disk but the image, so no privileges are needed to keep
// ownership, and a failure leaves only a temp file that we remove.
#include "import/layers/squashfs_builder.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/scope_guard.hpp"
#include "common/files.hpp"
#include "common/strings.hpp"
#include "import/layers/layers_archive.hpp"
#include "import/layers/layers_config.hpp"
#include "import/layers/layers_merge.hpp"
#include "import/layers/squashfs_packer.hpp"

namespace hl::import {
namespace {

const std::string kEnvironmentPath = "etc/environment";
const std::string kConfigDir = ".hpclaunch";
constexpr std::size_t kEnvironmentLimit = 1 << 20;
constexpr std::string_view kCompressors[] = {"zstd", "gzip", "xz", "lzo", "lz4"};

int usable_cpus() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

std::vector<std::string> packer_command(const SquashfsBuildOptions& options, const std::string& output) {
  bool known = false;
  for (auto name : kCompressors) known = known || name == options.compressor;
  if (!known) {
    throw Error(fmt::format("unknown squashfs compressor `{}`", options.compressor), "use zstd, gzip, xz, lzo or lz4");
  }
  // --no-skip: a tar record tar2sqfs cannot read is an error, never a
  // silently missing file. -j: compress on every core we may use.
  std::vector<std::string> argv = {"tar2sqfs",
                                   "--quiet",
                                   "--no-skip",
                                   "--compressor",
                                   options.compressor,
                                   "--num-jobs",
                                   std::to_string(usable_cpus())};
  if (options.compressor != "lz4") {  // lz4 has no levels
    argv.push_back("--comp-extra");
    argv.push_back(fmt::format("level={}", options.level));
  }
  argv.push_back(output);
  return argv;
}

EntryType entry_type(archive_entry* entry) {
  if (archive_entry_hardlink(entry) != nullptr) return EntryType::kHardlink;
  switch (archive_entry_filetype(entry)) {
    case AE_IFDIR:
      return EntryType::kDirectory;
    case AE_IFREG:
      return EntryType::kRegular;
    case AE_IFLNK:
      return EntryType::kSymlink;
    default:
      return EntryType::kSpecial;
  }
}

// The last lines tar2sqfs wrote (captured in a memfd), as one line.
std::string packer_output(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t n;
  ::lseek(fd, 0, SEEK_SET);
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  std::vector<std::string> lines;
  for (auto& line : split(text, '\n')) {
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.size() > 3) lines.erase(lines.begin(), lines.end() - 3);
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "" : " | ") + line;
  return out.empty() ? "no output" : out;
}

// Reports compressed bytes read over all layers to the caller's callback.
class ReadProgress {
 public:
  ReadProgress(const std::vector<LayerBlob>& layers, const BuildProgress& callback) : callback_(callback) {
    for (const auto& layer : layers) {
      struct stat st {};
      total_ += layer.size != 0 ? layer.size
                                : (::stat(layer.path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0);
    }
    report(0);
  }
  void report(std::size_t bytes) {
    done_ += bytes;
    if (callback_) callback_(std::min(done_, total_), total_);
  }
  void finish() {
    if (callback_) callback_(total_, total_);
  }

 private:
  const BuildProgress& callback_;
  std::uint64_t total_ = 0;
  std::uint64_t done_ = 0;
};

// Reads the layers top-down and writes what survives into the tar stream.
class LayerStreamer {
 public:
  LayerStreamer(const std::vector<LayerBlob>& layers, const SquashfsBuildOptions& options, TarStreamWriter& out)
      : layers_(layers), options_(options), out_(out), merge_(digests(layers)) {
    merge_.reserve(kConfigDir);
    merge_.capture(kEnvironmentPath);
  }

  void write_layers(ReadProgress& progress) {
    for (std::size_t i = layers_.size(); i-- > 0;) {
      LayerReader reader(layers_[i], [&](std::size_t bytes) { progress.report(bytes); });
      merge_.begin_layer(i);
      std::uint64_t ordinal = 0;
      while (archive_entry* entry = reader.next()) write_entry(i, reader, entry, ordinal++);
      merge_.end_layer();
    }
    MergeResult result = merge_.finish();
    for (const auto& link : result.links) out_.write_link(link.path, link.target);
    write_fixups(result.fixups);
    if (result.special_files > 0) {
      log::warn(
          "left out {} device files, fifos or sockets found in the layers (a container's /dev comes from "
          "hpclaunch)",
          result.special_files);
    }
  }

  void write_config(const nlohmann::json& image_config) {
    auto etc = merge_.written_type("etc");
    auto environment = merge_.written_type(kEnvironmentPath);
    if ((etc && *etc != EntryType::kDirectory) || (environment && *environment == EntryType::kDirectory)) {
      throw Error("the image's /etc/environment cannot be written: /etc is not a directory or /etc/environment is one",
                  "the image is not a Linux root file system");
    }
    std::int64_t now = std::time(nullptr);
    std::string skipped;
    out_.write_file(kEnvironmentPath, environment_with_config(environment_, image_config, &skipped), 0644, now);
    if (!skipped.empty()) log::warn("not in /etc/environment (multi-line values): {}", skipped);
    out_.write_directory(kConfigDir, 0755, now);
    out_.write_file(kConfigDir + "/config.json", hpclaunch_config_json(image_config), 0644, now);
  }

 private:
  static std::vector<std::string> digests(const std::vector<LayerBlob>& layers) {
    std::vector<std::string> names;
    for (const auto& layer : layers) names.push_back(layer.digest);
    return names;
  }

  LayerEntry layer_entry(std::size_t layer, archive_entry* entry) const {
    const char* raw = archive_entry_pathname(entry);
    std::string name = raw != nullptr ? raw : "";
    try {
      LayerEntry result{normalize_layer_path(name), entry_type(entry), {}};
      if (result.type == EntryType::kHardlink) result.link_target = link_target(entry);
      return result;
    } catch (const Error& e) {
      throw Error(fmt::format("layer {} entry `{}`: {}", layers_[layer].digest, printable_name(name), e.what()),
                  "refusing the image; ask its publisher to fix the layer");
    }
  }

  static std::string link_target(archive_entry* entry) {
    std::string target = archive_entry_hardlink(entry);
    try {
      return normalize_layer_path(target);
    } catch (const Error& e) {
      throw Error(fmt::format("hardlink target `{}`: {}", printable_name(target), e.what()));
    }
  }

  void check_unpacked_size(std::size_t layer, archive_entry* entry) {
    unpacked_ += static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(entry), 0));
    if (unpacked_ <= options_.max_unpacked_bytes) return;
    throw Error(fmt::format("layer {}: the image unpacks to more than {} (at entry `{}`): a decompression bomb?",
                            layers_[layer].digest, human_bytes(options_.max_unpacked_bytes),
                            printable_name(archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "")),
                "raise the unpacked-size limit only for an image you trust");
  }

  void write_entry(std::size_t layer, LayerReader& reader, archive_entry* entry, std::uint64_t ordinal) {
    check_unpacked_size(layer, entry);
    LayerEntry info = layer_entry(layer, entry);
    EntryDecision decision = merge_.add(info, ordinal);
    switch (decision.action) {
      case EntryAction::kWrite:
        copy_entry(reader, entry, info.path);
        return;
      case EntryAction::kWriteLink:
        out_.write_entry(entry, info.path, decision.link_to);
        break;
      case EntryAction::kCapture:
        environment_ = reader.read_text(kEnvironmentLimit);
        return;
      case EntryAction::kSkip:
        break;
    }
    reader.read_data({});
  }

  void copy_entry(LayerReader& reader, archive_entry* entry, const std::string& path) {
    bool regular = archive_entry_filetype(entry) == AE_IFREG;
    if (!regular) archive_entry_set_size(entry, 0);
    out_.write_entry(entry, path);
    if (!regular) return reader.read_data({});
    reader.read_data([this](const void* data, std::size_t size) { out_.write_data(data, size); });
  }

  // Hardlinks whose target's data an upper layer hid: read those layers
  // again, write the data under the first link and link the others to it.
  void write_fixups(const std::vector<Fixup>& fixups) {
    std::size_t next = 0;
    while (next < fixups.size()) {
      std::size_t layer = fixups[next].layer;
      LayerReader reader(layers_[layer]);
      std::uint64_t ordinal = 0;
      while (next < fixups.size() && fixups[next].layer == layer) {
        archive_entry* entry = reader.next();
        if (entry == nullptr) throw Error(fmt::format("layer {} changed while it was read", layers_[layer].digest));
        if (ordinal++ != fixups[next].ordinal) {
          reader.read_data({});
          continue;
        }
        const Fixup& fixup = fixups[next++];
        copy_entry(reader, entry, fixup.paths[0]);
        for (std::size_t i = 1; i < fixup.paths.size(); ++i) out_.write_link(fixup.paths[i], fixup.paths[0]);
      }
    }
  }

  const std::vector<LayerBlob>& layers_;
  const SquashfsBuildOptions& options_;
  TarStreamWriter& out_;
  LayerMerge merge_;
  std::string environment_;  // the image's own /etc/environment
  std::uint64_t unpacked_ = 0;
};

}  // namespace

void build_squashfs_from_layers(const std::vector<LayerBlob>& layers, const nlohmann::json& image_config,
                                const std::string& output, const SquashfsBuildOptions& options,
                                const BuildProgress& progress) {
  for (const auto& layer : layers) compression_of(layer);  // refuse unknown types before any work
  SquashfsPacker packer(output, options);
  ReadProgress read_progress(layers, progress);
  bool cut_short = false;
  try {
    LayerStreamer streamer(layers, options, packer.writer());
    streamer.write_layers(read_progress);
    streamer.write_config(image_config);
  } catch (const Error&) {
    if (!packer.writer().peer_closed()) throw;  // else tar2sqfs stopped first: its message says why
    cut_short = true;
  }
  packer.finish(cut_short);
  read_progress.finish();
}

SquashfsPacker::SquashfsPacker(const std::string& output, const SquashfsBuildOptions& options)
    : output_(output), image_(output) {
  std::vector<std::string> command = packer_command(options, image_.path());
  log_ = UniqueFd(::memfd_create("tar2sqfs-output", MFD_CLOEXEC));
  if (!log_) throw_errno("memfd_create");
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw_errno("socketpair");
  ours_ = UniqueFd(fds[0]);
  UniqueFd theirs(fds[1]);
  SpawnOptions spawn;
  spawn.stdin_fd = theirs.get();
  spawn.stdout_fd = spawn.stderr_fd = log_.get();
  spawn.parent_death_signal = SIGKILL;  // never a packer outliving an import killed with SIGKILL
  try {
    packer_ = ChildProcess::spawn(command, spawn);
  } catch (const Error& e) {
    throw Error(e.what(), "install squashfs-tools-ng (scripts/setup does it)");
  }
  writer_ = std::make_unique<TarStreamWriter>(ours_.get());
}

void SquashfsPacker::finish(bool cut_short) {
  if (!cut_short) {
    try {
      writer_->close();
    } catch (const Error&) {
      if (!writer_->peer_closed()) throw;
      cut_short = true;
    }
  }
  writer_.reset();
  ours_.reset();  // end of input for tar2sqfs
  int code = packer_.wait();
  if (code != 0) {
    throw Error(fmt::format("tar2sqfs failed (exit {}) building `{}`: {}", code, output_, packer_output(log_.get())));
  }
  if (cut_short) throw Error(fmt::format("tar2sqfs stopped reading before the end building `{}`", output_));
  image_.commit();
}

}  // namespace hl::import
