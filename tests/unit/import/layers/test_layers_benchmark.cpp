// Timing, not a check (disabled; run it by hand, as root to drop caches):
//   build/tests/unit_tests --gtest_also_run_disabled_tests --gtest_filter='*LayersBenchmark*'
// A synthetic 5-layer image (~20k small files + 10 big ones, ~330 MB) built
// three ways from cold caches: build_squashfs_from_layers from the gzip
// layers; mksquashfs on the same tree already unpacked (the baseline); and
// unpack-then-mksquashfs (the alternative design: tar -x every layer, then
// mksquashfs).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "tests/unit/import/layers/test_layers_util.hpp"

namespace hl::import {
namespace {

using namespace layer_testing;

constexpr int kLayers = 5;
constexpr int kSmallFiles = 4000;  // per layer
constexpr std::size_t kBigFile = 25 << 20;
constexpr int kRounds = 3;

// Real binaries compress like image content does; noise where there are none.
std::string data_pool() {
  std::string pool;
  if (DIR* d = ::opendir("/usr/lib/x86_64-linux-gnu")) {
    while (dirent* e = ::readdir(d)) {
      std::string path = std::string("/usr/lib/x86_64-linux-gnu/") + e->d_name;
      struct stat st {};
      if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 100000) pool += read_file(path);
      if (pool.size() > (64u << 20)) break;
    }
    ::closedir(d);
  }
  if (pool.size() < (32u << 20)) pool += noise(64 << 20);
  return pool;
}

void drop_caches() {
  ::sync();
  int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (fd < 0) {
    std::cout << "(cannot drop caches: not root; timings are warm)\n";
    return;
  }
  if (::write(fd, "3\n", 2) != 2) std::cout << "(drop_caches failed)\n";
  ::close(fd);
}

template <typename F>
double seconds(F f) {
  drop_caches();
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::size_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

TEST(LayersBenchmark, DISABLED_LayersToSquashfsVersusMksquashfs) {
  TempDir tmp;
  std::string pool = data_pool();
  std::mt19937 random(7);
  std::vector<LayerBlob> layers;
  std::size_t unpacked = 0;
  for (int l = 0; l < kLayers; ++l) {
    std::vector<TarEntry> entries;
    std::string top = fmt::format("layer{}", l);
    entries.push_back(dir(top));
    for (int d = 0; d < 200; ++d) entries.push_back(dir(fmt::format("{}/d{}", top, d)));
    for (int i = 0; i < kSmallFiles; ++i) {
      std::size_t size = 100 + random() % 7900, at = random() % (pool.size() - size);
      entries.push_back(file(fmt::format("{}/d{}/f{}.txt", top, i % 200, i), pool.substr(at, size)));
    }
    for (int j = 0; j < 2; ++j) {
      std::size_t at = random() % (pool.size() - kBigFile);
      entries.push_back(file(fmt::format("{}/big{}.bin", top, j), pool.substr(at, kBigFile)));
    }
    for (const auto& e : entries) unpacked += e.data.size();
    layers.push_back(make_layer(tmp / fmt::format("layer{}.tar.gz", l), entries));
  }
  ::mkdir((tmp / "tree").c_str(), 0755);
  for (const auto& layer : layers) {
    ASSERT_EQ(run(fmt::format("tar -xzf {} -C {}", layer.path, tmp / "tree")).status, 0);
  }
  std::size_t compressed = 0;
  for (const auto& layer : layers) compressed += file_size(layer.path);
  std::cout << fmt::format("{} layers, {} files, {:.0f} MB unpacked, {:.0f} MB of gzip layers\n", kLayers,
                           kLayers * (kSmallFiles + 2), unpacked / 1e6, compressed / 1e6);

  // Rounds alternate the three, so load from elsewhere hits them alike.
  std::string mksquashfs = "mksquashfs {} {} -comp zstd -Xcompression-level 3 -quiet -no-progress -noappend";
  std::vector<double> ours, baseline, alternative;
  for (int round = 0; round < kRounds; ++round) {
    ours.push_back(seconds([&] { build_squashfs_from_layers(layers, {}, tmp / "ours.sqsh", {}); }));
    baseline.push_back(seconds(
        [&] { ASSERT_EQ(run(fmt::format(fmt::runtime(mksquashfs), tmp / "tree", tmp / "baseline.sqsh")).status, 0); }));
    remove_tree(tmp / "alt");
    alternative.push_back(seconds([&] {
      ::mkdir((tmp / "alt").c_str(), 0755);
      for (const auto& layer : layers) run(fmt::format("tar -xzf {} -C {}", layer.path, tmp / "alt"));
      ASSERT_EQ(run(fmt::format(fmt::runtime(mksquashfs), tmp / "alt", tmp / "alt.sqsh")).status, 0);
    }));
  }
  auto report = [](std::string_view what, std::vector<double> times, std::size_t bytes) {
    std::sort(times.begin(), times.end());
    std::cout << fmt::format("{}: min {:.2f} s, median {:.2f} s ({:.2f}), {:.0f} MB\n", what, times.front(),
                             times[times.size() / 2], fmt::join(times, ", "), bytes / 1e6);
  };
  report("build_squashfs_from_layers (gzip layers -> tar2sqfs)", ours, file_size(tmp / "ours.sqsh"));
  report("mksquashfs -comp zstd -Xcompression-level 3 (unpacked tree)", baseline, file_size(tmp / "baseline.sqsh"));
  report("tar -xzf each layer + the same mksquashfs", alternative, file_size(tmp / "alt.sqsh"));
  EXPECT_EQ(list_image(tmp / "ours.sqsh").size(), list_image(tmp / "baseline.sqsh").size() + 4)
      << "the same tree, plus /etc, /etc/environment, /.hpclaunch and /.hpclaunch/config.json";
}

}  // namespace
}  // namespace hl::import
