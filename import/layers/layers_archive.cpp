#include "import/layers/layers_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "common/error.hpp"
#include "import/layers/layers_merge.hpp"

namespace hl::import {
namespace {

constexpr std::size_t kReadChunk = 1 << 20;
constexpr int kWriteBlock = 64 << 10;

struct MediaType {
  std::string_view name;
  LayerCompression compression;
};

constexpr MediaType kLayerTypes[] = {
    {"application/vnd.oci.image.layer.v1.tar", LayerCompression::kNone},
    {"application/vnd.oci.image.layer.v1.tar+gzip", LayerCompression::kGzip},
    {"application/vnd.oci.image.layer.v1.tar+zstd", LayerCompression::kZstd},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", LayerCompression::kNone},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", LayerCompression::kGzip},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", LayerCompression::kZstd},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", LayerCompression::kGzip},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", LayerCompression::kGzip},
};

std::string_view compression_word(LayerCompression c) {
  switch (c) {
    case LayerCompression::kGzip:
      return "tar+gzip";
    case LayerCompression::kZstd:
      return "tar+zstd";
    default:
      return "tar";
  }
}

using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

// An entry hpclaunch adds itself: owned by root, like the image's system files.
EntryPtr new_entry(const std::string& path, unsigned type, unsigned mode, std::int64_t mtime) {
  EntryPtr entry(archive_entry_new(), archive_entry_free);
  if (!entry) throw Error("libarchive: out of memory");
  archive_entry_set_pathname(entry.get(), path.c_str());
  archive_entry_set_filetype(entry.get(), type);
  archive_entry_set_perm(entry.get(), mode);
  archive_entry_set_mtime(entry.get(), mtime, 0);
  return entry;
}

std::string archive_message(archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown libarchive error";
}

}  // namespace

LayerCompression compression_of(const LayerBlob& blob) {
  for (const auto& type : kLayerTypes) {
    if (type.name == blob.media_type) return type.compression;
  }
  throw Error(fmt::format("layer {}: unknown media type `{}`", blob.digest, printable_name(blob.media_type)),
              "hpclaunch imports tar, tar+gzip and tar+zstd layers (OCI or Docker media types)");
}

// The media type only gates what we accept: like containerd, we let
// libarchive recognise gzip or zstd by their magic, so a layer whose
// registry type is mislabelled still imports.
LayerReader::LayerReader(const LayerBlob& blob, std::function<void(std::size_t)> on_read)
    : blob_(blob), on_read_(std::move(on_read)), buffer_(kReadChunk) {
  compression_of(blob);
  fd_ = UniqueFd(::open(blob.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_) {
    int err = errno;
    rethrow_with_context(system_error(err, "open", blob.path), fmt::format("layer {}", blob.digest));
  }
  archive_ = archive_read_new();
  if (archive_ == nullptr) throw Error("libarchive: out of memory");
  archive_read_support_filter_gzip(archive_);
  archive_read_support_filter_zstd(archive_);
  archive_read_support_format_tar(archive_);
  archive_read_support_format_empty(archive_);
  if (archive_read_open(archive_, this, nullptr, read_callback, nullptr) != ARCHIVE_OK) fail("");
}

LayerReader::~LayerReader() {
  if (archive_ != nullptr) archive_read_free(archive_);
}

ssize_t LayerReader::read_callback(archive* a, void* self, const void** buffer) {
  auto* reader = static_cast<LayerReader*>(self);
  ssize_t n;
  do {
    n = ::read(reader->fd_.get(), reader->buffer_.data(), reader->buffer_.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    archive_set_error(a, errno, "read `%s`: %s", reader->blob_.path.c_str(), std::strerror(errno));
    return -1;
  }
  reader->source_eof_ = n == 0;
  if (n > 0 && reader->on_read_) reader->on_read_(static_cast<std::size_t>(n));
  *buffer = reader->buffer_.data();
  return n;
}

void LayerReader::fail(std::string_view what) const {
  std::string where = entry_name_.empty() ? "" : fmt::format(" at entry `{}`", printable_name(entry_name_));
  throw Error(fmt::format("layer {}: truncated or corrupt {} archive{}: {}", blob_.digest,
                          compression_word(compression_of(blob_)), where,
                          what.empty() ? archive_message(archive_) : std::string(what)),
              "fetch the layer again (remove it from the layer cache)");
}

archive_entry* LayerReader::next() {
  if (ended_) return nullptr;
  archive_entry* entry = nullptr;
  int r = archive_read_next_header(archive_, &entry);
  if (r == ARCHIVE_EOF) return nullptr;
  if (r < ARCHIVE_WARN) fail("");  // ARCHIVE_WARN: e.g. a name not in this locale's charset, still usable
  const char* name = archive_entry_pathname(entry);
  entry_name_ = name != nullptr ? name : "";
  entry_size_ = archive_entry_size_is_set(entry) ? std::max<std::int64_t>(archive_entry_size(entry), 0) : 0;
  return entry;
}

void LayerReader::read_data(const Sink& sink) {
  static const char zeros[64 << 10] = {};
  auto fill = [&](std::int64_t count) {
    for (; count > 0; count -= static_cast<std::int64_t>(sizeof zeros)) {
      if (sink) sink(zeros, static_cast<std::size_t>(std::min<std::int64_t>(count, sizeof zeros)));
    }
  };
  std::int64_t at = 0;
  while (true) {
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(archive_, &block, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      // Go's archive/tar (umoci insert) may end a layer right after the last
      // file's data: no padding, no end blocks. The data is complete and the
      // blob is used up, so this is the end of the layer, as Go reads it.
      if (at >= entry_size_ && source_eof_) {
        ended_ = true;
        break;
      }
      fail("");
    }
    if (offset > at) fill(offset - at);  // a hole in a sparse file
    if (sink && size > 0) sink(block, size);
    at = std::max<std::int64_t>(at, offset) + static_cast<std::int64_t>(size);
  }
  if (at < entry_size_) fill(entry_size_ - at);  // a sparse file's trailing hole
}

std::string LayerReader::read_text(std::size_t limit) {
  if (static_cast<std::uint64_t>(entry_size_) > limit) {
    throw Error(fmt::format("layer {}: `{}` is {} bytes, more than hpclaunch reads ({})", blob_.digest,
                            printable_name(entry_name_), entry_size_, limit));
  }
  std::string text;
  read_data([&](const void* data, std::size_t size) { text.append(static_cast<const char*>(data), size); });
  return text;
}

TarStreamWriter::TarStreamWriter(int socket_fd) : fd_(socket_fd) {
  archive_ = archive_write_new();
  if (archive_ == nullptr) throw Error("libarchive: out of memory");
  // pax_restricted: plain ustar headers unless a name, id or size needs pax.
  archive_write_set_format_pax_restricted(archive_);
  archive_write_add_filter_none(archive_);
  archive_write_set_bytes_per_block(archive_, kWriteBlock);
  archive_write_set_bytes_in_last_block(archive_, 1);
  if (archive_write_open(archive_, this, nullptr, write_callback, nullptr) != ARCHIVE_OK) fail("open");
}

TarStreamWriter::~TarStreamWriter() {
  // Not closed: a failure. Cut the stream first, so that tar2sqfs sees a
  // truncated archive rather than the end blocks archive_write_free() adds.
  if (!closed_) ::shutdown(fd_, SHUT_RDWR);
  if (archive_ != nullptr) archive_write_free(archive_);
}

// A socket, not a pipe: MSG_NOSIGNAL turns tar2sqfs's early exit into EPIPE
// here instead of a SIGPIPE that would kill hpclaunch.
ssize_t TarStreamWriter::write_callback(archive* a, void* self, const void* buffer, std::size_t size) {
  auto* writer = static_cast<TarStreamWriter*>(self);
  const char* p = static_cast<const char*>(buffer);
  std::size_t left = size;
  while (left > 0) {
    ssize_t n = ::send(writer->fd_, p, left, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno == EPIPE || errno == ECONNRESET) writer->peer_closed_ = true;
      archive_set_error(a, errno, "%s", std::strerror(errno));
      return -1;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(size);
}

void TarStreamWriter::fail(std::string_view what) const {
  throw Error(fmt::format("writing the tar stream to tar2sqfs ({}): {}", what, archive_message(archive_)));
}

// ARCHIVE_WARN is a name not valid in our ("C") locale: libarchive writes its
// bytes as they are, which is what Go tools do and tar2sqfs reads. (The
// hdrcharset=BINARY option would avoid the warning, but at the cost of a pax
// header on every entry.)
void TarStreamWriter::write_header(archive_entry* entry) {
  if (archive_write_header(archive_, entry) < ARCHIVE_WARN) fail(archive_entry_pathname(entry));
}

void TarStreamWriter::write_entry(archive_entry* entry, const std::string& path, const std::string& link_to) {
  archive_entry_set_pathname(entry, path.c_str());
  // squashfs keeps numeric ids and whole seconds: names and the other times
  // would only cost pax headers.
  archive_entry_set_uname(entry, nullptr);
  archive_entry_set_gname(entry, nullptr);
  archive_entry_set_mtime(entry, archive_entry_mtime(entry), 0);
  archive_entry_unset_atime(entry);
  archive_entry_unset_ctime(entry);
  archive_entry_unset_birthtime(entry);
  archive_entry_sparse_clear(entry);  // holes are written out as zeros
  if (link_to.empty()) {
    archive_entry_set_hardlink(entry, nullptr);
  } else {
    archive_entry_set_hardlink(entry, link_to.c_str());
    archive_entry_set_size(entry, 0);
  }
  write_header(entry);
}

void TarStreamWriter::write_link(const std::string& path, const std::string& target) {
  EntryPtr entry = new_entry(path, AE_IFREG, 0, 0);
  archive_entry_set_hardlink(entry.get(), target.c_str());
  archive_entry_set_size(entry.get(), 0);
  write_header(entry.get());
}

void TarStreamWriter::write_file(const std::string& path, std::string_view content, unsigned mode, std::int64_t mtime) {
  EntryPtr entry = new_entry(path, AE_IFREG, mode, mtime);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(content.size()));
  write_header(entry.get());
  write_data(content.data(), content.size());
}

void TarStreamWriter::write_directory(const std::string& path, unsigned mode, std::int64_t mtime) {
  write_header(new_entry(path, AE_IFDIR, mode, mtime).get());
}

void TarStreamWriter::write_data(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    la_ssize_t n = archive_write_data(archive_, p, size);
    if (n <= 0) fail("data");
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void TarStreamWriter::close() {
  if (archive_write_close(archive_) != ARCHIVE_OK) fail("end");
  closed_ = true;
}

}  // namespace hl::import
