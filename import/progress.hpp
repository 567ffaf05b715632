#pragma once
// What `hpclaunch import` shows while it works: per-layer bars with bytes and
// rate on a terminal, plain lines otherwise, or one JSON object per line on
// stdout with --json. Thread-safe (the squashfs builder may report from its
// own threads). The formatting helpers are pure and unit-tested.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/strings.hpp"  // human_bytes
#include "import/registry/blob_fetcher.hpp"

namespace hl::import {

enum class ProgressStyle { Bars, Lines, Json };

// "sha256:0123456789ab  [######------]  12.0 MB / 30.0 MB  45.0 MB/s  downloading"
std::string progress_bar_line(std::string_view label, std::uint64_t done, std::uint64_t total, double bytes_per_second,
                              std::string_view state, int bar_width = 24);
std::string_view to_string(BlobEvent event);

class ImportProgress {
 public:
  explicit ImportProgress(ProgressStyle style);

  void resolved(const std::string& image, const std::string& platform, const std::string& manifest_digest,
                const std::vector<Descriptor>& layers);
  void image_cache_hit(const std::string& path);
  void layer_event(std::size_t index, BlobEvent event, std::uint64_t bytes);
  void layer_bytes(std::size_t index, std::uint64_t done);
  void building(const std::string& compressor, int level);
  void build_bytes(std::uint64_t done, std::uint64_t total);
  void finished(const std::string& output, const std::string& manifest_digest, std::uint64_t output_bytes,
                bool from_image_cache, const char* install_method);
  void error(const std::string& message);

 private:
  using Clock = std::chrono::steady_clock;
  struct Layer {
    std::string digest;
    std::uint64_t size = 0;
    std::uint64_t done = 0;
    std::uint64_t start_bytes = 0;  // what was there before this run (cache, partial)
    std::string state = "waiting";
    Clock::time_point started{};
    Clock::time_point last_report{};
    double rate() const;
  };

  void json_line(const nlohmann::json& event);
  void text_line(const std::string& text);
  void redraw_bars(bool force);

  ProgressStyle style_;
  std::mutex mutex_;
  std::vector<Layer> layers_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
  Clock::time_point last_build_report_{};
  int drawn_lines_ = 0;
  std::uint64_t build_done_ = 0;
  std::uint64_t build_total_ = 0;
  bool building_ = false;
  bool finished_ = false;
};

}  // namespace hl::import
