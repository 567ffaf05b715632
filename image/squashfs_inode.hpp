#pragma once
// Inodes read out of the inode table, every field checked before use.
// libsquashfuse ORs the type's S_IFMT bits into the mode the image stores,
// so a regular file whose stored mode has S_IFCHR bits became a symlink whose
// target size was the file's block address; here the stored mode keeps only
// its permission bits and the type alone decides the kind.
#include <sys/stat.h>

#include <cstdint>

#include "image/squashfs_image.hpp"

namespace hl::image::squashfs {

inline constexpr std::uint32_t kNoFragment = 0xffffffff;
inline constexpr std::uint32_t kNoXattr = 0xffffffff;
// Linux's PATH_MAX, and what the kernel's squashfs accepts as a link target.
inline constexpr std::uint32_t kMaxSymlinkSize = 4095;

// S_IFDIR ... for a squashfs inode type (1-14, basic and extended); 0 for others.
mode_t mode_of_type(std::uint16_t type);

struct Inode {
  std::uint64_t ref = 0;  // (block << 16) | offset in the inode table
  std::uint16_t type = 0;
  mode_t mode = 0;  // S_IFMT from the type | the permission bits stored
  std::uint16_t uid_index = 0;
  std::uint16_t gid_index = 0;
  std::uint32_t mtime = 0;
  std::uint32_t nlink = 1;
  std::uint32_t xattr = kNoXattr;

  // Directories: the listing in the directory table and its index (extended
  // directories only) right after the inode.
  std::uint32_t listing_block = 0;  // relative to the directory table
  std::uint16_t listing_offset = 0;
  std::uint32_t listing_size = 0;  // bytes of headers and entries + 3, as mksquashfs counts
  std::uint16_t index_count = 0;
  MetadataCursor index;

  // Regular files: the block sizes right after the inode, the tail in a fragment.
  std::uint64_t blocks_start = 0;
  std::uint64_t file_size = 0;
  std::uint32_t fragment = kNoFragment;
  std::uint32_t fragment_offset = 0;
  MetadataCursor block_list;

  // Symlinks: the target right after the inode.
  std::uint32_t target_size = 0;
  MetadataCursor target;

  std::uint32_t rdev = 0;

  bool is_directory() const { return S_ISDIR(mode); }
  bool is_regular() const { return S_ISREG(mode); }
  bool is_symlink() const { return S_ISLNK(mode); }
};

// Throws CorruptImage for a reference outside the inode table, an unknown
// type, or fields that contradict the superblock (fragment index, tail past
// the fragment block, an oversized link target or file).
Inode read_inode(Image& image, std::uint64_t ref);

// The attributes libsquashfuse reports (sizes of regular files and symlinks,
// directories 0; st_ino left 0 for the caller). Throws for bad uid/gid indexes.
struct stat inode_stat(const Image& image, const Inode& inode);

}  // namespace hl::image::squashfs
