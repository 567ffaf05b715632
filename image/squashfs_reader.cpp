#include "image/squashfs_reader.hpp"

#include <cerrno>

#include <fmt/format.h>

#include "image/squashfs_directory.hpp"
#include "image/squashfs_file.hpp"
#include "image/squashfs_image.hpp"
#include "image/squashfs_inode.hpp"
#include "image/squashfs_xattr.hpp"

namespace hl::image {

using squashfs::CorruptImage;
using squashfs::DirectoryEntry;
using squashfs::DirectoryListing;
using squashfs::Inode;
using squashfs::read_inode;

SquashfsReader::SquashfsReader(int image_fd, std::string image_path, std::uint64_t image_size,
                               std::uint64_t image_offset)
    : image_(std::make_unique<squashfs::Image>(image_fd, std::move(image_path), image_size, image_offset)),
      files_(std::make_unique<squashfs::FileReader>()) {
  // Met now, a broken root is an error at launch rather than an EIO later.
  Inode root = read_inode(*image_, image_->superblock().root_inode);
  if (!root.is_directory()) image_->corrupt("its root inode is not a directory");
  squashfs::inode_stat(*image_, root);
}

SquashfsReader::SquashfsReader(std::unique_ptr<squashfs::Image> image)
    : image_(std::move(image)), files_(std::make_unique<squashfs::FileReader>()) {}

std::unique_ptr<SquashfsReader> SquashfsReader::another() const {
  return std::unique_ptr<SquashfsReader>(new SquashfsReader(squashfs::Image::another_handle(*image_)));
}

SquashfsReader::~SquashfsReader() = default;
SquashfsReader::SquashfsReader(SquashfsReader&&) noexcept = default;
SquashfsReader& SquashfsReader::operator=(SquashfsReader&&) noexcept = default;

bool SquashfsReader::has_xattrs() const { return image_->has_xattrs(); }

struct statvfs SquashfsReader::statfs() const {
  const Superblock& sb = image_->superblock();
  struct statvfs st {};
  st.f_bsize = st.f_frsize = sb.block_size;
  st.f_blocks = ((sb.bytes_used - 1) >> sb.block_log) + 1;
  st.f_files = sb.inode_count;
  st.f_namemax = 256;
  return st;
}

template <typename Operation>
int SquashfsReader::guarded(Operation operation) {
  try {
    return operation();
  } catch (const CorruptImage& e) {
    if (first_corruption_.empty()) first_corruption_ = e.describe();
    return EIO;
  }
}

std::uint64_t SquashfsReader::ref_of(Node node) const {
  if (node == kRootNode) return image_->superblock().root_inode;
  return node == 2 ? 0 : node;
}

SquashfsReader::Node SquashfsReader::node_of(std::uint64_t ref) const {
  if (ref == image_->superblock().root_inode) return kRootNode;
  return ref == 0 ? 2 : ref;
}

int SquashfsReader::lookup(Node parent, std::string_view name, Node& child, struct stat& attr) {
  return guarded([&] {
    Inode dir = read_inode(*image_, ref_of(parent));
    if (!dir.is_directory()) return ENOTDIR;
    DirectoryListing listing(*image_, dir);
    DirectoryEntry entry;
    if (!listing.find(name, entry)) return ENOENT;
    Inode inode = read_inode(*image_, entry.inode_ref);
    attr = squashfs::inode_stat(*image_, inode);
    child = node_of(entry.inode_ref);
    attr.st_ino = child;
    return 0;
  });
}

int SquashfsReader::getattr(Node node, struct stat& attr) {
  return guarded([&] {
    attr = squashfs::inode_stat(*image_, read_inode(*image_, ref_of(node)));
    attr.st_ino = node;
    return 0;
  });
}

int SquashfsReader::readlink(Node node, std::string& target) {
  return guarded([&] {
    Inode inode = read_inode(*image_, ref_of(node));
    if (!inode.is_symlink()) return EINVAL;
    target.resize(inode.target_size);  // at most kMaxSymlinkSize
    squashfs::MetadataCursor cursor = inode.target;
    image_->read_metadata(cursor, squashfs::Region::kInodes, target.data(), target.size());
    // A NUL would cut the target short in the FUSE reply (a C string).
    if (target.find('\0') != std::string::npos) {
      image_->corrupt(fmt::format("symlink inode {:#x} has a NUL in its target", inode.ref));
    }
    return 0;
  });
}

int SquashfsReader::readdir(Node dir, std::uint64_t offset, const DirectoryVisitor& add) {
  return guarded([&] {
    Inode inode = read_inode(*image_, ref_of(dir));
    if (!inode.is_directory()) return ENOTDIR;
    DirectoryListing listing(*image_, inode);
    listing.seek(offset);
    DirectoryEntry entry;
    while (listing.next(entry)) {
      if (!add(entry.name, node_of(entry.inode_ref), squashfs::mode_of_type(entry.type), entry.next_offset)) break;
    }
    return 0;
  });
}

int SquashfsReader::read(Node file, std::uint64_t offset, std::span<char> out, std::size_t& got) {
  got = 0;
  return guarded([&] {
    Inode inode = read_inode(*image_, ref_of(file));
    if (inode.is_directory()) return EISDIR;
    if (!inode.is_regular()) return EINVAL;
    got = files_->read(*image_, inode, offset, std::span(reinterpret_cast<std::uint8_t*>(out.data()), out.size()));
    return 0;
  });
}

int SquashfsReader::listxattr(Node node, std::string& names) {
  return guarded([&] {
    names = squashfs::list_xattrs(*image_, read_inode(*image_, ref_of(node)));
    return 0;
  });
}

int SquashfsReader::getxattr(Node node, std::string_view name, std::string& value) {
  return guarded([&] {
    auto found = squashfs::get_xattr(*image_, read_inode(*image_, ref_of(node)), name);
    if (!found) return ENODATA;
    value = std::move(*found);
    return 0;
  });
}

}  // namespace hl::image
