#include "image/image_metadata.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "image/sif.hpp"

namespace hl::image {
namespace {

UniqueFd open_image(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (err == ENOENT) throw Error(fmt::format("image `{}` does not exist", path), "check the --image path");
    throw system_error(err, "cannot open image", path);
  }
  return fd;
}

SuperblockBytes read_superblock(int fd, const std::string& path, std::uint64_t offset) {
  SuperblockBytes bytes{};
  ssize_t n = ::pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
  if (n < 0) throw_errno("read image", path);
  parse_superblock(std::span(bytes.data(), static_cast<std::size_t>(n)), path);
  return bytes;
}

std::vector<std::uint8_t> read_exactly(int fd, std::uint64_t offset, std::size_t size, const std::string& path) {
  std::vector<std::uint8_t> bytes(size);
  ssize_t n = ::pread(fd, bytes.data(), size, static_cast<off_t>(offset));
  if (n < 0) throw_errno("read image", path);
  bytes.resize(static_cast<std::size_t>(n));
  return bytes;
}

// A SIF's squashfs partition, or the whole file.
SifPartition locate_squashfs(int fd, std::uint64_t file_size, const std::string& path) {
  auto header = read_exactly(fd, 0, kSifHeaderSize, path);
  if (!is_sif(header)) return {0, file_size};
  SifHeader sif = parse_sif_header(header, file_size, path);
  auto descriptors = read_exactly(fd, sif.descriptors_offset, sif.descriptors_total * kSifDescriptorSize, path);
  return find_sif_squashfs(descriptors, file_size, path);
}

}  // namespace

void to_json(nlohmann::json& j, const ImageMetadata& m) {
  j = {{"path", m.path},
       {"size", m.size},
       {"squashfs_offset", m.squashfs_offset},
       {"squashfs_size", m.squashfs_size},
       {"mtime_ns", m.mtime_ns},
       {"superblock", to_hex(m.superblock.data(), m.superblock.size())},
       {"tail_checksum", m.tail_checksum}};
}

void from_json(const nlohmann::json& j, ImageMetadata& m) {
  m.path = j.at("path").get<std::string>();
  m.size = j.at("size").get<std::uint64_t>();
  m.squashfs_offset = j.at("squashfs_offset").get<std::uint64_t>();
  m.squashfs_size = j.at("squashfs_size").get<std::uint64_t>();
  m.mtime_ns = j.at("mtime_ns").get<std::int64_t>();
  auto bytes = from_hex(j.at("superblock").get<std::string>());
  if (bytes.size() != m.superblock.size()) throw Error("internal: bad superblock length in node message");
  std::memcpy(m.superblock.data(), bytes.data(), bytes.size());
  m.tail_checksum = j.value("tail_checksum", std::uint64_t{0});
}

ImageMetadata read_image_metadata(const std::string& path, UniqueFd* opened, bool tail_checksum) {
  UniqueFd fd = open_image(path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat image", path);
  if (!S_ISREG(st.st_mode)) {
    throw Error(fmt::format("image `{}` is not a regular file", path), "pass a .sqsh file to --image");
  }
  ImageMetadata m;
  m.path = path;
  m.size = static_cast<std::uint64_t>(st.st_size);
  m.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  SifPartition where = locate_squashfs(fd.get(), m.size, path);
  m.squashfs_offset = where.offset;
  m.squashfs_size = where.size;
  m.superblock = read_superblock(fd.get(), path, m.squashfs_offset);
  Superblock sb = parse_superblock(m.superblock, path);
  check_supported_compression(sb, path);  // fail at launch, not in every holder
  check_image_size(sb, m.squashfs_size, path);
  if (tail_checksum) m.tail_checksum = metadata_tail_checksum(fd.get(), m.superblock, path);
  if (opened != nullptr) *opened = std::move(fd);
  return m;
}

UniqueFd open_matching_image(const ImageMetadata& expected) {
  UniqueFd fd = open_image(expected.path);
  off_t length = ::lseek(fd.get(), 0, SEEK_END);
  if (length < 0) throw_errno("seek image", expected.path);
  SuperblockBytes bytes = read_superblock(fd.get(), expected.path, expected.squashfs_offset);
  if (static_cast<std::uint64_t>(length) != expected.size || bytes != expected.superblock) {
    throw Error(fmt::format("image `{}` differs on this node from the one the first node read", expected.path),
                "the image changed during launch, or the path is not on a shared file system");
  }
  return fd;
}

std::uint64_t metadata_tail_checksum(int fd, const SuperblockBytes& superblock, const std::string& path) {
  Superblock sb = parse_superblock(superblock, path);
  std::uint64_t hash = 0xcbf29ce484222325ull;
  std::vector<unsigned char> buffer(1 << 20);
  for (std::uint64_t at = sb.inode_table_start; at < sb.bytes_used;) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), sb.bytes_used - at));
    ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(at));
    if (n < 0) throw_errno("read image", path);
    if (n == 0) throw Error(fmt::format("image `{}` ends before its metadata does", path), "copy the image again");
    for (ssize_t i = 0; i < n; ++i) hash = (hash ^ buffer[static_cast<std::size_t>(i)]) * 0x100000001b3ull;
    at += static_cast<std::uint64_t>(n);
  }
  return hash;
}

UniqueFd open_staged_image(const ImageMetadata& expected, const std::string& staged_path) {
  UniqueFd fd(::open(staged_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    Error e = system_error(errno, "cannot open the staged copy of the image", staged_path);
    throw Error(e.what(), "the copy did not reach this node; launch again, or use --stage none");
  }
  // Ours from here on, whatever the checks say: no copy outlives this call.
  ::unlink(staged_path.c_str());
  // /dev/shm is shared: a file another user made there first (and sbcast
  // then wrote into) could be changed under us after the checks below, which
  // cover the metadata, not every data block. Only a file of our own.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat the staged copy", staged_path);
  if (st.st_uid != ::geteuid() || !S_ISREG(st.st_mode)) {
    throw Error(fmt::format("the staged copy `{}` is not a file of yours (owner uid {})", staged_path, st.st_uid),
                "another user made it first; launch again (a new name), or use --stage none");
  }
  off_t length = ::lseek(fd.get(), 0, SEEK_END);
  if (length < 0) throw_errno("seek image", staged_path);
  SuperblockBytes bytes{};
  ssize_t n = ::pread(fd.get(), bytes.data(), bytes.size(), 0);
  if (n < 0) throw_errno("read image", staged_path);
  bool same = static_cast<std::uint64_t>(length) == expected.size && static_cast<std::size_t>(n) == bytes.size() &&
              bytes == expected.superblock &&
              metadata_tail_checksum(fd.get(), bytes, staged_path) == expected.tail_checksum;
  if (!same) {
    throw Error(fmt::format("the staged copy `{}` differs from image `{}` as the first node read it", staged_path,
                            expected.path),
                "the image changed while it was copied, or the copy was cut short; launch again, or use --stage none");
  }
  return fd;
}

}  // namespace hl::image
