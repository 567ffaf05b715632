#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "image/sif.hpp"
#include "tests/unit/error_text.hpp"

using namespace hl;
using namespace hl::image;

namespace {

template <typename T>
void put(std::vector<std::uint8_t>& bytes, std::size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

std::vector<std::uint8_t> header(std::int64_t total, std::int64_t offset) {
  std::vector<std::uint8_t> h(kSifHeaderSize);
  std::memcpy(h.data(), "#!/usr/bin/env run-singularity\n", 31);
  std::memcpy(h.data() + 32, "SIF_MAGIC", 10);
  put(h, 88, total);
  put(h, 96, offset);
  return h;
}

void add(std::vector<std::uint8_t>& table, std::int32_t type, bool used, std::int64_t offset, std::int64_t size,
         std::int32_t fs = 1, std::int32_t part = 2) {
  std::size_t at = table.size();
  table.resize(at + kSifDescriptorSize);
  put(table, at, type);
  table[at + 4] = used ? 1 : 0;
  put(table, at + 17, offset);
  put(table, at + 25, size);
  put(table, at + 201, fs);
  put(table, at + 205, part);
}

}  // namespace

TEST(Sif, RecognizesTheMagic) {
  EXPECT_TRUE(is_sif(header(1, 128)));
  std::vector<std::uint8_t> squashfs(128);
  std::memcpy(squashfs.data(), "hsqs", 4);
  EXPECT_FALSE(is_sif(squashfs));
  EXPECT_FALSE(is_sif(std::vector<std::uint8_t>(10)));
}

TEST(Sif, FindsThePrimarySystemPartition) {
  std::vector<std::uint8_t> table;
  add(table, 0x4001, true, 4096, 20);           // a definition file
  add(table, 0x4004, false, 0, 0);              // unused
  add(table, 0x4004, true, 8192, 100, 1, 3);    // a data partition
  add(table, 0x4004, true, 12288, 5000, 1, 2);  // the primary system partition
  SifPartition p = find_sif_squashfs(table, 20000, "/i.sif");
  EXPECT_EQ(p.offset, 12288u);
  EXPECT_EQ(p.size, 5000u);
  SifHeader h = parse_sif_header(header(4, 128), 20000, "/i.sif");
  EXPECT_EQ(h.descriptors_offset, 128u);
  EXPECT_EQ(h.descriptors_total, 4u);
}

TEST(Sif, RefusesWhatItCannotRunWithOneLine) {
  std::vector<std::uint8_t> none;
  add(none, 0x4001, true, 4096, 20);
  EXPECT_EQ(hl::testing::error_text([&] { find_sif_squashfs(none, 9000, "/i.sif"); }),
            "image `/i.sif` (SIF): it has no squashfs partition");
  std::vector<std::uint8_t> encrypted;
  add(encrypted, 0x4004, true, 4096, 100, 5, 2);
  EXPECT_EQ(hl::testing::error_text([&] { find_sif_squashfs(encrypted, 9000, "/i.sif"); }),
            "image `/i.sif` (SIF): its system partition is encrypted squashfs, which hpclaunch cannot read");
  std::vector<std::uint8_t> ext3;
  add(ext3, 0x4004, true, 4096, 100, 2, 2);
  EXPECT_EQ(hl::testing::error_text([&] { find_sif_squashfs(ext3, 9000, "/i.sif"); }),
            "image `/i.sif` (SIF): its system partition is ext3, not squashfs");
  std::vector<std::uint8_t> beyond;
  add(beyond, 0x4004, true, 4096, 100000);
  EXPECT_EQ(hl::testing::error_text([&] { find_sif_squashfs(beyond, 9000, "/i.sif"); }),
            "image `/i.sif` (SIF): its squashfs partition lies beyond the end of the file");
  std::vector<std::uint8_t> negative;
  add(negative, 0x4004, true, -1, 100);
  EXPECT_THROW(find_sif_squashfs(negative, 9000, "/i.sif"), Error);
  EXPECT_THROW(parse_sif_header(header(1, 128), 200, "/i.sif"), Error) << "the table does not fit";
  EXPECT_THROW(parse_sif_header(header(1 << 20, 128), 1ull << 40, "/i.sif"), Error) << "too many descriptors";
  EXPECT_THROW(parse_sif_header(header(-1, 128), 9000, "/i.sif"), Error);
  EXPECT_THROW(parse_sif_header(std::vector<std::uint8_t>(64), 9000, "/i.sif"), Error);
}
