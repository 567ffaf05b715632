#pragma once
// Helpers for the layer tests: layer tarballs made with libarchive, and the
// resulting squashfs read back with unsquashfs / rdsquashfs.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/files.hpp"
#include "common/strings.hpp"
#include "import/layers/squashfs_builder.hpp"

namespace hl::import::layer_testing {

inline const std::string kTarType = "application/vnd.oci.image.layer.v1.tar";
inline const std::string kGzipType = "application/vnd.oci.image.layer.v1.tar+gzip";
inline const std::string kZstdType = "application/vnd.oci.image.layer.v1.tar+zstd";
inline const std::string kDockerGzipType = "application/vnd.docker.image.rootfs.diff.tar.gzip";

struct TarEntry {
  std::string name;
  char type = 'f';   // f file, d dir, l symlink, h hardlink, c char device, p fifo
  std::string data;  // file content, or the symlink / hardlink target
  unsigned mode = 0644;
  unsigned uid = 0;
  unsigned gid = 0;
  std::int64_t mtime = 1700000000;
  std::map<std::string, std::string> xattrs;
};

inline TarEntry entry(std::string name, char type, std::string data, unsigned mode, unsigned uid = 0,
                      unsigned gid = 0) {
  TarEntry e;
  e.name = std::move(name);
  e.type = type;
  e.data = std::move(data);
  e.mode = mode;
  e.uid = uid;
  e.gid = gid;
  return e;
}
inline TarEntry file(std::string name, std::string data, unsigned mode = 0644, unsigned uid = 0, unsigned gid = 0) {
  return entry(std::move(name), 'f', std::move(data), mode, uid, gid);
}
inline TarEntry dir(std::string name, unsigned mode = 0755, unsigned uid = 0, unsigned gid = 0) {
  return entry(std::move(name), 'd', {}, mode, uid, gid);
}
inline TarEntry symlink(std::string name, std::string target) {
  return entry(std::move(name), 'l', std::move(target), 0777);
}
inline TarEntry special(std::string name, char type) { return entry(std::move(name), type, {}, 0644); }
inline TarEntry hardlink(std::string name, std::string target) {
  return entry(std::move(name), 'h', std::move(target), 0644);
}

class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/hl-layers-test-XXXXXX";
    if (::mkdtemp(templ) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = templ;
  }
  ~TempDir() { remove_tree(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path_.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
      }
      ::closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::string path_;
};

inline void add_entry(archive* a, const TarEntry& e) {
  archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, e.name.c_str());
  archive_entry_set_perm(entry, e.mode);
  archive_entry_set_uid(entry, e.uid);
  archive_entry_set_gid(entry, e.gid);
  archive_entry_set_mtime(entry, e.mtime, 0);
  switch (e.type) {
    case 'd':
      archive_entry_set_filetype(entry, AE_IFDIR);
      break;
    case 'l':
      archive_entry_set_filetype(entry, AE_IFLNK);
      archive_entry_set_symlink(entry, e.data.c_str());
      break;
    case 'h':
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_hardlink(entry, e.data.c_str());
      break;
    case 'c':
      archive_entry_set_filetype(entry, AE_IFCHR);
      archive_entry_set_rdev(entry, makedev(1, 3));
      break;
    case 'p':
      archive_entry_set_filetype(entry, AE_IFIFO);
      break;
    default:
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
  }
  for (const auto& [name, value] : e.xattrs)
    archive_entry_xattr_add_entry(entry, name.c_str(), value.data(), value.size());
  if (archive_write_header(a, entry) < ARCHIVE_WARN) throw std::runtime_error(archive_error_string(a));
  if (e.type == 'f' && !e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
  archive_entry_free(entry);
}

// Writes a layer tarball; the compression follows the media type.
inline LayerBlob make_layer(const std::string& path, const std::vector<TarEntry>& entries,
                            const std::string& media_type = kGzipType) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (media_type.ends_with("gzip")) archive_write_add_filter_gzip(a);
  if (media_type.ends_with("zstd")) archive_write_add_filter_zstd(a);
  if (archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a));
  for (const auto& e : entries) add_entry(a, e);
  archive_write_close(a);
  archive_write_free(a);
  std::string name = path.substr(path.rfind('/') + 1);
  return {path, media_type, "sha256:" + name, 0};
}

// Compresses raw bytes (e.g. a tar cut short) with gzip, as one blob.
inline void write_gzip(const std::string& path, const std::string& bytes) {
  archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  archive_write_add_filter_gzip(a);
  archive_write_open_filename(a, path.c_str());
  archive_entry* entry = archive_entry_new();
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_write_header(a, entry);
  archive_write_data(a, bytes.data(), bytes.size());
  archive_entry_free(entry);
  archive_write_close(a);
  archive_write_free(a);
}

// Data that does not compress: a cut in the compressed file falls inside it.
inline std::string noise(std::size_t size) {
  std::mt19937 random(42);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(random());
  return out;
}

struct Command {
  int status = -1;
  std::string output;
};

inline Command run(const std::string& command) {
  Command result;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return result;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0) result.output.append(buffer, n);
  result.status = ::pclose(p);
  return result;
}

// One line of `unsquashfs -lln`: "drwxr-xr-x 1000/1000 42 2023-11-14 22:13 squashfs-root/a -> b".
struct Listed {
  std::string mode;
  std::string owner;  // "uid/gid"
  std::string link;   // symlink target
};

inline std::map<std::string, Listed> list_image(const std::string& image) {
  Command c = run(fmt::format("unsquashfs -lln '{}'", image));
  if (c.status != 0) throw std::runtime_error("unsquashfs -lln: " + c.output);
  std::map<std::string, Listed> out;
  for (const auto& line : split(c.output, '\n')) {
    auto fields = split(line, ' ');
    std::vector<std::string> words;
    for (auto& f : fields) {
      if (!f.empty()) words.push_back(f);
    }
    if (words.size() < 6 || words[5].rfind("squashfs-root", 0) != 0) continue;
    std::string path = words[5] == "squashfs-root" ? "/" : words[5].substr(std::string("squashfs-root").size());
    Listed l{words[0], words[1], {}};
    if (words.size() >= 8 && words[6] == "->") l.link = words[7];
    out[path] = l;
  }
  return out;
}

inline std::string cat_file(const std::string& image, const std::string& path) {
  Command c = run(fmt::format("rdsquashfs -c '{}' '{}'", path, image));
  if (c.status != 0) throw std::runtime_error("rdsquashfs -c: " + c.output);
  return c.output;
}

// A field of `rdsquashfs -s` ("Inode number", "Last modified", ...).
inline std::string stat_field(const std::string& image, const std::string& path, const std::string& field) {
  Command c = run(fmt::format("rdsquashfs -s '{}' '{}'", path, image));
  for (const auto& line : split(c.output, '\n')) {
    if (line.rfind(field + ": ", 0) == 0) return line.substr(field.size() + 2);
  }
  return {};
}

// The xattrs of `path` in the image, read back through sqfs2tar.
inline std::map<std::string, std::string> xattrs_of(const std::string& image, const std::string& path) {
  std::string tar = image + ".xattrs.tar";
  if (run(fmt::format("sqfs2tar '{}' > '{}'", image, tar)).status != 0) throw std::runtime_error("sqfs2tar");
  std::map<std::string, std::string> out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_open_filename(a, tar.c_str(), 1 << 16);
  archive_entry* entry;
  for (int r; (r = archive_read_next_header(a, &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN;) {
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr || name != path) continue;
    const char* key;
    const void* value;
    std::size_t size;
    archive_entry_xattr_reset(entry);
    while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK) {
      out[key] = std::string(static_cast<const char*>(value), size);
    }
  }
  archive_read_free(a);
  ::unlink(tar.c_str());
  return out;
}

}  // namespace hl::import::layer_testing
