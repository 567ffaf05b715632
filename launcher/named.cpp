#include "launcher/named.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/json.hpp"

namespace hl::launcher {
namespace {

constexpr const char* kRecord = "record.json";
constexpr std::uint64_t kMaxRecord = 1 << 20;

std::vector<image::MountSpec> user_mounts(const std::vector<image::MountSpec>& mounts) {
  std::vector<image::MountSpec> out;
  std::copy_if(mounts.begin(), mounts.end(), std::back_inserter(out),
               [](const image::MountSpec& m) { return m.origin == "--mount"; });
  return out;
}

std::string describe(const std::vector<image::MountSpec>& mounts) {
  std::vector<std::string> parts;
  for (const auto& m : mounts) parts.push_back(fmt::format("{}:{}{}", m.source, m.target, m.read_only ? ":ro" : ""));
  return parts.empty() ? "no --mount" : fmt::format("--mount {}", fmt::join(parts, " --mount "));
}

bool same(const image::MountSpec& a, const image::MountSpec& b) {
  return a.source == b.source && a.target == b.target && a.read_only == b.read_only;
}

}  // namespace

void validate_container_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
  if (!ok || name.front() == '.') {
    throw Error(fmt::format("--name `{}`: not a container name", name),
                "use letters, digits, '.', '_' and '-' (at most 64, not starting with '.')");
  }
}

NamedRecord record_of(const std::string& name, const image::ContainerSpec& spec) {
  NamedRecord r;
  r.name = name;
  r.image = spec.image;
  r.mounts = user_mounts(spec.mounts);
  r.writable = spec.writable;
  r.root = spec.root;
  return r;
}

std::optional<std::string> record_mismatch(const NamedRecord& existing, const NamedRecord& asked) {
  auto differs = [&](const std::string& what, const std::string& was, const std::string& now) {
    return fmt::format("named container `{}` was made with {}; this launch asks for {}{}", existing.name, was, now,
                       what.empty() ? "" : " " + what);
  };
  if (!asked.image.empty() && asked.image != existing.image)
    return differs("", "--image " + existing.image, "--image " + asked.image);
  bool mounts_equal = asked.mounts.size() == existing.mounts.size() &&
                      std::equal(asked.mounts.begin(), asked.mounts.end(), existing.mounts.begin(), same);
  if (!asked.mounts.empty() && !mounts_equal) return differs("", describe(existing.mounts), describe(asked.mounts));
  if (asked.writable && !existing.writable) return differs("", "a read-only root", "--writable");
  if (asked.root && !existing.root) return differs("", "no --root", "--root");
  return std::nullopt;
}

LockedRecord::LockedRecord(const PrivateDir& runtime, const std::string& group) : group_(runtime.subdir(group)) {
  lock_ = UniqueFd(::openat(group_.fd(), "record.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!lock_) throw_errno("open", group_.path() + "/record.lock");
  if (::flock(lock_.get(), LOCK_EX) != 0) throw_errno("lock", group_.path() + "/record.lock");
}

std::optional<NamedRecord> LockedRecord::load() const {
  UniqueFd fd(::openat(group_.fd(), kRecord, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno("open", group_.path() + "/" + kRecord);
  }
  return decode_json<NamedRecord>(read_regular_file(fd.get(), group_.path() + "/" + kRecord, kMaxRecord),
                                  "named container record");
}

void LockedRecord::save(const NamedRecord& record) const {
  write_file_atomic(group_.path() + "/" + kRecord, nlohmann::json(record).dump(), 0600);
}

void LockedRecord::remove() const {
  ::unlinkat(group_.fd(), kRecord, 0);
  ::unlinkat(group_.fd(), "record.lock", 0);
}

}  // namespace hl::launcher
