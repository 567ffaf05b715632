// SquashfsReader on corrupt images: each edit below crashed, overflowed or
// over-read in libsquashfuse 0.1.105 (or would have), and must give EIO for
// the request (with first_corruption() saying what is wrong) or an hl::Error
// at open, naming unsquashfs. The inputs the fuzzer found are in
// tests/fuzz/corpus/squashfs_reader (replayed by the fuzz ctest).
#include <gtest/gtest.h>

#include <cerrno>

#include "tests/unit/error_text.hpp"
#include "tests/unit/image/squashfs_test_image.hpp"

using namespace hl::image;
using namespace hl::image::testing;

namespace {

// Field offsets in the inodes of mini-raw.
enum : std::size_t {
  kMode = 2,
  kUid = 4,
  kLongRegBlocksStart = 16,
  kLongRegFragment = 44,
  kLongRegFragmentOffset = 48,
  kLongRegXattr = 52,
  kLongRegBlockList = 56,
  kSymlinkSize = 20,
  kDirListingSize = 24,
};

struct Served {
  explicit Served(const RawImage& image) : file(image.bytes), reader(file.reader()) {}
  ImageFile file;
  SquashfsReader reader;
};

// The errno of `call`, and that the reader then names the corruption.
void expect_eio(Served& served, int err, const std::string& detail) {
  EXPECT_EQ(err, EIO);
  const std::string& said = served.reader.first_corruption();
  EXPECT_EQ(said.rfind("image `test.sqsh` is corrupt: ", 0), 0u) << said;
  EXPECT_NE(said.find(detail), std::string::npos) << said;
  EXPECT_NE(said.find("; check it with `unsquashfs -l test.sqsh`"), std::string::npos) << said;
}

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xffffffff;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320 & (0u - (crc & 1)));
  }
  return ~crc;
}

std::string open_error(const RawImage& image) {
  ImageFile file(image.bytes);
  return hl::testing::error_text([&] { file.reader(); }, true);
}

}  // namespace

TEST(CorruptSquashfs, NameSizeFromTheImage) {
  // The reproduced stack smash: a 16-bit name size of 0x2000 copied into
  // libsquashfuse's 257-byte name buffer (readdir and lookup alike).
  RawImage image;
  image.set(image.entry("a.txt") + 6, 2, 0x1fff);
  Served served(image);
  int err = 0;
  list(served.reader, SquashfsReader::kRootNode, &err);
  expect_eio(served, err, "an entry of directory inode 0x16b has a name of 8192 bytes");
  resolve(served.reader, "hard", &err);
  EXPECT_EQ(err, EIO);
}

TEST(CorruptSquashfs, IndexNameSizeFromTheImage) {
  // libsquashfuse's lookup copies directory index names with a 32-bit size.
  RawImage image("bigdir-raw");
  std::size_t d = image.at(image.inode_table(), image.get(image.entry("d"), 2));  // LDIR
  ASSERT_EQ(image.get(d, 2), 8u);
  ASSERT_GT(image.get(d + 32, 2), 0u);  // index entries follow the inode
  image.set(d + 40 + 8, 4, 0x7fffffff);
  Served served(image);
  int err = 0;
  resolve(served.reader, "d/entry_100_" + std::string(50, 'n'), &err);
  expect_eio(served, err, "an index entry of directory inode");
  EXPECT_NE(served.reader.first_corruption().find("has a name of 2147483648 bytes"), std::string::npos);
}

TEST(CorruptSquashfs, InodeReferencePastItsMetadataBlock) {
  // The inode table is one block of ~400 bytes: libsquashfuse read from
  // offset 7936 of it (heap over-read, or SIGSEGV for larger offsets).
  RawImage image;
  image.set(image.entry("a.txt"), 2, 0x1f00);
  Served served(image);
  int err = 0;
  resolve(served.reader, "a.txt", &err);
  expect_eio(served, err, "does not hold offset 7936");
}

TEST(CorruptSquashfs, UidIndexOutsideTheIdTable) {
  RawImage image;
  image.set(image.inode("a.txt") + kUid, 2, 7);
  Served served(image);
  struct stat st {};
  expect_eio(served, served.reader.getattr(resolve(served.reader, "hard"), st),
             "uid/gid table entry 7 of 1 does not exist");
}

TEST(CorruptSquashfs, FragmentIndexOutsideTheTable) {
  RawImage image;
  image.set(image.inode("b.bin") + kLongRegFragment, 4, 5);
  Served served(image);
  int err = 0;
  resolve(served.reader, "dir/b.bin", &err);
  expect_eio(served, err, "at offset 0 of fragment 5 (of 2)");
}

TEST(CorruptSquashfs, TailPastTheFragmentBlock) {
  // libsquashfuse copied the tail from the fragment at this offset unchecked.
  RawImage image;
  image.set(image.inode("b.bin") + kLongRegFragmentOffset, 4, 4000);
  Served served(image);
  int err = 0;
  resolve(served.reader, "dir/b.bin", &err);
  expect_eio(served, err, "has its last 904 bytes at offset 4000 of fragment 1");
}

TEST(CorruptSquashfs, FragmentBlockShorterThanTheTail) {
  RawImage image;
  std::uint64_t table_block = image.get(image.get(80, 8), 8);  // the fragment table's only block
  std::uint64_t fragment = image.get(image.inode("b.bin") + kLongRegFragment, 4);
  image.set(table_block + 2 + 16 * fragment + 8, 4, (1u << 24) | 100);  // 100 bytes, uncompressed
  Served served(image);
  Node b = resolve(served.reader, "dir/b.bin");
  std::vector<char> buffer(4086);
  std::size_t got = 0;
  ASSERT_EQ(served.reader.read(b, 0, buffer, got), 0);  // the data block is fine
  expect_eio(served, served.reader.read(b, 4090, std::span(buffer).first(2000), got), "block 1 of file inode");
  EXPECT_NE(served.reader.first_corruption().find("holds 100 bytes, not 904"), std::string::npos);
}

TEST(CorruptSquashfs, DataBlocksOutsideTheData) {
  RawImage image;
  std::size_t b = image.inode("b.bin");
  image.set(b + kLongRegBlockList, 4, 0x00ffffff);  // 16 MiB: the library would allocate it
  Served served(image);
  int err = 0;
  read_all(served.reader, resolve(served.reader, "dir/b.bin"), 4096, &err);
  expect_eio(served, err, "a data block of 16777215 bytes at byte");
  // Position 0: libsquashfuse's caches take index 0 for an empty slot and
  // returned a NULL block (SIGSEGV).
  RawImage zero;
  zero.set(zero.inode("b.bin") + kLongRegBlocksStart, 8, 0);
  Served at_zero(zero);
  read_all(at_zero.reader, resolve(at_zero.reader, "dir/b.bin"), 4096, &err);
  expect_eio(at_zero, err, "at byte 0 lies outside the data");
}

TEST(CorruptSquashfs, SymlinkTargetSize) {
  RawImage image;
  image.set(image.inode("abs") + kSymlinkSize, 4, 0x10000);
  Served served(image);
  struct stat st {};
  Node abs = 0;
  expect_eio(served, served.reader.lookup(SquashfsReader::kRootNode, "abs", abs, st), "a target of 65536 bytes");
}

TEST(CorruptSquashfs, ModeTypeBitsDoNotChangeTheKind) {
  // libsquashfuse ORs the type's bits into the stored mode: a regular file
  // stored with S_IFCHR bits became a symlink whose "target size" was its
  // block address (a readlink malloc of that size).
  RawImage image;
  image.set(image.inode("a.txt") + kMode, 2, S_IFCHR | 0644);
  Served served(image);
  struct stat st {};
  Node a = resolve(served.reader, "a.txt");
  ASSERT_EQ(served.reader.getattr(a, st), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0644);
  EXPECT_EQ(read_all(served.reader, a), "hello\n");
  std::string target;
  EXPECT_EQ(served.reader.readlink(a, target), EINVAL);
}

TEST(CorruptSquashfs, UnknownInodeType) {
  RawImage image;
  image.set(image.inode("sub"), 2, 15);
  Served served(image);
  int err = 0;
  resolve(served.reader, "dir/sub", &err);
  expect_eio(served, err, "has unknown type 15");
}

TEST(CorruptSquashfs, DirectoryHeaderCount) {
  RawImage image;
  std::size_t root = image.root_inode();
  std::size_t listing = image.at(image.directory_table(), (image.get(root + 16, 4) << 16) | image.get(root + 26, 2));
  image.set(listing, 4, 5000);
  Served served(image);
  int err = 0;
  list(served.reader, SquashfsReader::kRootNode, &err);
  expect_eio(served, err, "counts 5001 entries");
}

TEST(CorruptSquashfs, ListingLongerThanTheDirectory) {
  RawImage image;
  image.set(image.root_inode() + kDirListingSize, 2, 3 + 12 + 8 + 3);  // room for the header and a bit
  Served served(image);
  int err = 0;
  list(served.reader, SquashfsReader::kRootNode, &err);
  expect_eio(served, err, "runs past its 23 bytes");
}

TEST(CorruptSquashfs, EntryNamesTheKernelRefuses) {
  RawImage image;
  image.bytes[image.entry("sub") + 9] = '/';
  Served served(image);
  int err = 0;
  list(served.reader, resolve(served.reader, "dir"), &err);
  expect_eio(served, err, "has an entry named `s/b`");
}

TEST(CorruptSquashfs, XattrNameSize) {
  RawImage image;
  std::size_t color = image.find("color", image.get(image.get(56, 8), 8));  // in the xattr pairs
  image.set(color - 2, 2, 300);
  Served served(image);
  std::string names;
  expect_eio(served, served.reader.listxattr(resolve(served.reader, "a.txt"), names), "and a name of 300 bytes");
}

TEST(CorruptSquashfs, XattrPrefix) {
  RawImage image;
  std::size_t color = image.find("color", image.get(image.get(56, 8), 8));
  image.set(color - 4, 2, 7);
  Served served(image);
  std::string value;
  expect_eio(served, served.reader.getxattr(resolve(served.reader, "a.txt"), "user.color", value), "has type 0x7");
}

TEST(CorruptSquashfs, XattrIndexOutsideTheTable) {
  RawImage image;
  image.set(image.inode("a.txt") + kLongRegXattr, 4, 99);
  Served served(image);
  std::string names;
  expect_eio(served, served.reader.listxattr(resolve(served.reader, "a.txt"), names),
             "xattr id table entry 99 of 3 does not exist");
}

TEST(CorruptSquashfs, XzBlockAskingForAHugeDictionary) {
  // libsquashfuse decodes xz without a memory limit: this header made it
  // malloc 4 GiB for a 4 KiB block.
  RawImage image("mini-xz");
  std::size_t stream = image.find(std::string_view("\xfd"
                                                   "7zXZ\0",
                                                   6),
                                  96);  // the first data block
  std::size_t header = stream + 12;
  std::size_t header_size = (image.bytes[header] + 1) * 4;
  std::size_t filter = image.find(std::string_view("\x21\x01", 2), header);  // LZMA2, 1 byte of properties
  ASSERT_LT(filter, header + header_size);
  image.bytes[filter + 2] = 40;  // dictionary of 4 GiB - 1
  image.set(header + header_size - 4, 4, crc32(&image.bytes[header], header_size - 4));
  Served served(image);
  int err = 0;
  for (const char* path : {"a.txt", "dir/b.bin", "sparse"}) {
    read_all(served.reader, resolve(served.reader, path), 4096, &err);
    if (err != 0) break;
  }
  expect_eio(served, err, "cannot be read or decompressed");
}

TEST(CorruptSquashfs, RootThatIsNotADirectoryFailsAtOpen) {
  RawImage image;
  image.set(32, 8, image.get(image.entry("a.txt"), 2));  // root = a.txt's inode
  EXPECT_EQ(open_error(image),
            "image `test.sqsh` is corrupt: its root inode is not a directory; check it with `unsquashfs -l "
            "test.sqsh`; rebuild or re-copy the image");
}

TEST(CorruptSquashfs, SuperblockAndSizeFailAtOpen) {
  RawImage image;
  image.set(48, 8, image.get(40, 8));  // the id table index at bytes_used
  EXPECT_NE(open_error(image).find("has a corrupt squashfs superblock: the id table (8 bytes at byte"),
            std::string::npos);
  EXPECT_NE(open_error(image).find("check it with `unsquashfs -s test.sqsh`"), std::string::npos);
  RawImage cut;
  cut.bytes.resize(cut.bytes.size() - 100);
  EXPECT_NE(open_error(cut).find("image `test.sqsh` is truncated"), std::string::npos);
  cut.bytes.resize(10);
  EXPECT_EQ(open_error(cut),
            "image `test.sqsh` is not a squashfs image: only 10 bytes, a superblock needs 96; build images with "
            "mksquashfs or `hpclaunch import`");
}
