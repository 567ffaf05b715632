// Every committed seed and regression input (tests/fuzz/corpus/<target>/)
// through its entry point once: the crashes the fuzzers found stay fixed in
// the normal gcc build, without clang or libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "tests/fuzz/entries.hpp"

namespace {

namespace fs = std::filesystem;

std::size_t replay(const char* target, int (*entry)(const std::uint8_t*, std::size_t)) {
  fs::path dir = fs::path(HL_FUZZ_CORPUS) / target;
  std::size_t inputs = 0;
  for (const auto& file : fs::directory_iterator(dir)) {
    std::ifstream in(file.path(), std::ios::binary);
    std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(file.path().string());
    EXPECT_EQ(entry(data.data(), data.size()), 0);
    ++inputs;
  }
  return inputs;
}

}  // namespace

#define HL_REPLAY(target) \
  TEST(FuzzCorpus, target) { EXPECT_GT(replay(#target, hl::fuzz::target), 0u) << "no seeds for " #target; }

HL_REPLAY(superblock)
HL_REPLAY(squashfs_reader)
HL_REPLAY(join_protocol)
HL_REPLAY(image_reference)
HL_REPLAY(oci_manifest)
HL_REPLAY(oci_config)
HL_REPLAY(registry_auth)
HL_REPLAY(credentials)
HL_REPLAY(layer_paths)
HL_REPLAY(config_files)
HL_REPLAY(image_config)
HL_REPLAY(sif)
