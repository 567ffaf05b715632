#pragma once
// libarchive behind two small classes: reading one layer blob (gzip, zstd or
// plain tar) entry by entry, and writing one tar stream to a socket.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "import/layers/layer_blob.hpp"

struct archive;
struct archive_entry;

namespace hl::import {

enum class LayerCompression { kNone, kGzip, kZstd };

// The compression a layer's media type names (OCI and Docker names, also the
// non-distributable ones). Throws hl::Error naming the layer for any other
// type: a config blob, a Helm chart or a new format must not be unpacked.
LayerCompression compression_of(const LayerBlob& blob);

class LayerReader {
 public:
  // `on_read` gets the number of compressed bytes each read from the blob.
  LayerReader(const LayerBlob& blob, std::function<void(std::size_t)> on_read = {});
  LayerReader(const LayerReader&) = delete;
  LayerReader& operator=(const LayerReader&) = delete;
  ~LayerReader();

  // The next entry (owned by the reader, valid until the next call), or
  // nullptr at the end of the layer.
  archive_entry* next();
  // The current entry's data, in order; holes of sparse files come as zeros.
  // `sink` empty: the data is read and dropped.
  using Sink = std::function<void(const void* data, std::size_t size)>;
  void read_data(const Sink& sink);
  // Reads the current entry's data into a string; throws when it is over `limit`.
  std::string read_text(std::size_t limit);

 private:
  [[noreturn]] void fail(std::string_view what) const;
  static ssize_t read_callback(archive* a, void* self, const void** buffer);

  const LayerBlob& blob_;
  std::function<void(std::size_t)> on_read_;
  UniqueFd fd_;
  std::vector<char> buffer_;
  archive* archive_ = nullptr;
  std::string entry_name_;       // for messages
  std::int64_t entry_size_ = 0;  // data bytes of the current entry (holes included)
  bool source_eof_ = false;      // the blob is read to its end
  bool ended_ = false;           // a Go-written end: the last entry's data, then nothing
};

// A tar stream (pax where needed, ustar otherwise) written to a socket.
class TarStreamWriter {
 public:
  explicit TarStreamWriter(int socket_fd);
  TarStreamWriter(const TarStreamWriter&) = delete;
  TarStreamWriter& operator=(const TarStreamWriter&) = delete;
  ~TarStreamWriter();

  // Writes `entry` (from a LayerReader) under `path`; for hardlinks `link_to`
  // names the target. Only what squashfs keeps is written: type, mode,
  // numeric uid/gid, mtime in seconds, symlink target, xattrs.
  void write_entry(archive_entry* entry, const std::string& path, const std::string& link_to = {});
  void write_link(const std::string& path, const std::string& target);
  void write_file(const std::string& path, std::string_view content, unsigned mode, std::int64_t mtime);
  void write_directory(const std::string& path, unsigned mode, std::int64_t mtime);
  void write_data(const void* data, std::size_t size);
  // Ends the archive (its end blocks) and flushes it.
  void close();
  // The reader went away (EPIPE): its own failure is the one to report.
  bool peer_closed() const { return peer_closed_; }

 private:
  void write_header(archive_entry* entry);
  [[noreturn]] void fail(std::string_view what) const;
  static ssize_t write_callback(archive* a, void* self, const void* buffer, std::size_t size);

  int fd_;
  archive* archive_ = nullptr;
  bool peer_closed_ = false;
  bool closed_ = false;
};

}  // namespace hl::import
