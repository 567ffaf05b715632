#include "image/squashfs_inode.hpp"

#include <sys/sysmacros.h>

#include <fmt/format.h>

namespace hl::image::squashfs {
namespace {

enum Type : std::uint16_t {
  kDir = 1,
  kReg,
  kSymlink,
  kBlockDev,
  kCharDev,
  kFifo,
  kSocket,
  kLongDir,
  kLongReg,
  kLongSymlink,
  kLongBlockDev,
  kLongCharDev,
  kLongFifo,
  kLongSocket,
};

// Squashfs allows files up to 2^62 bytes; st_size must stay positive.
constexpr std::uint64_t kMaxFileSize = std::uint64_t{1} << 62;

void read_directory(Image& image, Inode& inode, MetadataCursor& cursor) {
  if (inode.type == kDir) {
    auto b = image.read_metadata<16>(cursor, Region::kInodes);
    inode.listing_block = field<std::uint32_t>(b, 0);
    inode.nlink = field<std::uint32_t>(b, 4);
    inode.listing_size = field<std::uint16_t>(b, 8);
    inode.listing_offset = field<std::uint16_t>(b, 10);
  } else {
    auto b = image.read_metadata<24>(cursor, Region::kInodes);
    inode.nlink = field<std::uint32_t>(b, 0);
    inode.listing_size = field<std::uint32_t>(b, 4);
    inode.listing_block = field<std::uint32_t>(b, 8);
    inode.index_count = field<std::uint16_t>(b, 16);
    inode.listing_offset = field<std::uint16_t>(b, 18);
    inode.xattr = field<std::uint32_t>(b, 20);
  }
  inode.index = cursor;
  if (inode.listing_offset >= kMetadataBlockSize) {
    image.corrupt(fmt::format("directory inode {:#x} starts its listing at offset {} of a metadata block", inode.ref,
                              inode.listing_offset));
  }
}

void read_regular(Image& image, Inode& inode, MetadataCursor& cursor) {
  if (inode.type == kReg) {
    auto b = image.read_metadata<16>(cursor, Region::kInodes);
    inode.blocks_start = field<std::uint32_t>(b, 0);
    inode.fragment = field<std::uint32_t>(b, 4);
    inode.fragment_offset = field<std::uint32_t>(b, 8);
    inode.file_size = field<std::uint32_t>(b, 12);
  } else {
    auto b = image.read_metadata<40>(cursor, Region::kInodes);
    inode.blocks_start = field<std::uint64_t>(b, 0);
    inode.file_size = field<std::uint64_t>(b, 8);
    inode.nlink = field<std::uint32_t>(b, 24);
    inode.fragment = field<std::uint32_t>(b, 28);
    inode.fragment_offset = field<std::uint32_t>(b, 32);
    inode.xattr = field<std::uint32_t>(b, 36);
  }
  inode.block_list = cursor;
  const Superblock& sb = image.superblock();
  if (inode.file_size > kMaxFileSize) {
    image.corrupt(fmt::format("file inode {:#x} has {} bytes", inode.ref, inode.file_size));
  }
  if (inode.fragment != kNoFragment) {
    std::uint64_t tail = inode.file_size % sb.block_size;
    if (inode.fragment >= sb.fragment_count || inode.fragment_offset > sb.block_size ||
        tail > sb.block_size - inode.fragment_offset) {
      image.corrupt(fmt::format("file inode {:#x} has its last {} bytes at offset {} of fragment {} (of {})", inode.ref,
                                tail, inode.fragment_offset, inode.fragment, sb.fragment_count));
    }
  }
}

void read_symlink(Image& image, Inode& inode, MetadataCursor& cursor) {
  auto b = image.read_metadata<8>(cursor, Region::kInodes);
  inode.nlink = field<std::uint32_t>(b, 0);
  inode.target_size = field<std::uint32_t>(b, 4);
  inode.target = cursor;
  if (inode.target_size == 0 || inode.target_size > kMaxSymlinkSize) {
    image.corrupt(fmt::format("symlink inode {:#x} has a target of {} bytes", inode.ref, inode.target_size));
  }
  if (inode.type == kLongSymlink) {
    image.read_metadata(cursor, Region::kInodes, nullptr, inode.target_size);
    inode.xattr = field<std::uint32_t>(image.read_metadata<4>(cursor, Region::kInodes), 0);
  }
}

}  // namespace

mode_t mode_of_type(std::uint16_t type) {
  switch (type) {
    case kDir:
    case kLongDir:
      return S_IFDIR;
    case kReg:
    case kLongReg:
      return S_IFREG;
    case kSymlink:
    case kLongSymlink:
      return S_IFLNK;
    case kBlockDev:
    case kLongBlockDev:
      return S_IFBLK;
    case kCharDev:
    case kLongCharDev:
      return S_IFCHR;
    case kFifo:
    case kLongFifo:
      return S_IFIFO;
    case kSocket:
    case kLongSocket:
      return S_IFSOCK;
    default:
      return 0;
  }
}

Inode read_inode(Image& image, std::uint64_t ref) {
  const Superblock& sb = image.superblock();
  Inode inode;
  inode.ref = ref;
  if ((ref >> 48) != 0 || (ref & 0xffff) >= kMetadataBlockSize ||
      (ref >> 16) >= sb.directory_table_start - sb.inode_table_start) {
    image.corrupt(fmt::format("inode reference {:#x} lies outside the inode table", ref));
  }
  MetadataCursor cursor{sb.inode_table_start + (ref >> 16), static_cast<std::uint32_t>(ref & 0xffff)};
  auto base = image.read_metadata<16>(cursor, Region::kInodes);
  inode.type = field<std::uint16_t>(base, 0);
  mode_t kind = mode_of_type(inode.type);
  if (kind == 0) image.corrupt(fmt::format("inode {:#x} has unknown type {}", ref, inode.type));
  inode.mode = kind | (field<std::uint16_t>(base, 2) & 07777);
  inode.uid_index = field<std::uint16_t>(base, 4);
  inode.gid_index = field<std::uint16_t>(base, 6);
  inode.mtime = field<std::uint32_t>(base, 8);
  switch (inode.type) {
    case kDir:
    case kLongDir:
      read_directory(image, inode, cursor);
      break;
    case kReg:
    case kLongReg:
      read_regular(image, inode, cursor);
      break;
    case kSymlink:
    case kLongSymlink:
      read_symlink(image, inode, cursor);
      break;
    case kBlockDev:
    case kCharDev:
    case kLongBlockDev:
    case kLongCharDev: {
      auto b = image.read_metadata<8>(cursor, Region::kInodes);
      inode.nlink = field<std::uint32_t>(b, 0);
      inode.rdev = field<std::uint32_t>(b, 4);
      if (inode.type >= kLongBlockDev)
        inode.xattr = field<std::uint32_t>(image.read_metadata<4>(cursor, Region::kInodes), 0);
      break;
    }
    default: {  // fifos and sockets
      auto b = image.read_metadata<4>(cursor, Region::kInodes);
      inode.nlink = field<std::uint32_t>(b, 0);
      if (inode.type >= kLongFifo)
        inode.xattr = field<std::uint32_t>(image.read_metadata<4>(cursor, Region::kInodes), 0);
      break;
    }
  }
  return inode;
}

struct stat inode_stat(const Image& image, const Inode& inode) {
  struct stat st {};
  st.st_mode = inode.mode;
  st.st_nlink = inode.nlink;
  st.st_mtime = st.st_ctime = st.st_atime = inode.mtime;
  if (inode.is_regular()) {
    st.st_size = static_cast<off_t>(inode.file_size);
    st.st_blocks = st.st_size / 512;
  } else if (inode.is_symlink()) {
    st.st_size = inode.target_size;
  } else if (S_ISBLK(inode.mode) || S_ISCHR(inode.mode)) {
    // The kernel's encoding: 12-bit major around a 20-bit minor.
    st.st_rdev = makedev((inode.rdev >> 8) & 0xfff, (inode.rdev & 0xff) | ((inode.rdev >> 12) & 0xfff00));
  }
  st.st_blksize = image.superblock().block_size;
  st.st_uid = image.id(inode.uid_index);
  st.st_gid = image.id(inode.gid_index);
  return st;
}

}  // namespace hl::image::squashfs
