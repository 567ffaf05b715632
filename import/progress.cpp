#include "import/progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "common/log.hpp"
#include "import/registry/digest.hpp"

namespace hl::import {
namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
constexpr auto kReportEvery = std::chrono::milliseconds(500);

void write_all(int fd, const std::string& text) {
  // One write per update so lines of a redraw are not torn by other output.
  ssize_t ignored = ::write(fd, text.data(), text.size());
  (void)ignored;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

std::string progress_bar_line(std::string_view label, std::uint64_t done, std::uint64_t total, double bytes_per_second,
                              std::string_view state, int bar_width) {
  int filled = total == 0 ? bar_width : static_cast<int>(static_cast<double>(done) / total * bar_width);
  filled = std::clamp(filled, 0, bar_width);
  std::string bar = std::string(filled, '#') + std::string(bar_width - filled, '-');
  std::string rate = bytes_per_second > 0 ? human_bytes(static_cast<std::uint64_t>(bytes_per_second)) + "/s" : "";
  return fmt::format("{}  [{}]  {} / {}  {:>11}  {}", label, bar, human_bytes(done), human_bytes(total), rate, state);
}

std::string_view to_string(BlobEvent event) {
  switch (event) {
    case BlobEvent::Cached:
      return "cached";
    case BlobEvent::Started:
      return "downloading";
    case BlobEvent::Resumed:
      return "resuming";
    case BlobEvent::Retrying:
      return "retrying";
    case BlobEvent::Verified:
      return "verified";
  }
  return "unknown";
}

double ImportProgress::Layer::rate() const {
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return seconds > 0.05 ? static_cast<double>(done - start_bytes) / seconds : 0;
}

ImportProgress::ImportProgress(ProgressStyle style) : style_(style) {}

void ImportProgress::json_line(const nlohmann::json& event) { write_all(STDOUT_FILENO, event.dump() + "\n"); }

void ImportProgress::text_line(const std::string& text) { log::write_line("", text); }

void ImportProgress::resolved(const std::string& image, const std::string& platform, const std::string& manifest_digest,
                              const std::vector<Descriptor>& layers) {
  std::lock_guard lock(mutex_);
  std::uint64_t total = 0;
  for (const auto& d : layers) {
    layers_.push_back(Layer{d.digest, d.size});
    total += d.size;
  }
  if (style_ == ProgressStyle::Json) {
    json_line({{"event", "manifest"},
               {"image", image},
               {"platform", platform},
               {"digest", manifest_digest},
               {"layers", layers.size()},
               {"bytes", total}});
    return;
  }
  text_line(fmt::format("{} ({}, {}): {} layers, {}", image, platform, short_digest(manifest_digest), layers.size(),
                        human_bytes(total)));
}

void ImportProgress::image_cache_hit(const std::string& path) {
  std::lock_guard lock(mutex_);
  if (style_ == ProgressStyle::Json) return json_line({{"event", "image_cached"}, {"path", path}});
  text_line(fmt::format("already imported: {}", path));
}

void ImportProgress::layer_event(std::size_t index, BlobEvent event, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  Layer& layer = layers_.at(index);
  layer.state = std::string(to_string(event));
  layer.done = bytes;
  if (event == BlobEvent::Started || event == BlobEvent::Resumed || event == BlobEvent::Cached) {
    layer.started = Clock::now();
    layer.start_bytes = bytes;
  }
  if (style_ == ProgressStyle::Json) {
    json_line({{"event", "layer"},
               {"index", index + 1},
               {"digest", layer.digest},
               {"size", layer.size},
               {"state", layer.state},
               {"bytes", bytes}});
  } else if (style_ == ProgressStyle::Lines) {
    if (event == BlobEvent::Started) return;  // the Verified line says it all
    double rate = event == BlobEvent::Verified ? layer.rate() : 0;
    std::string rate_text = rate > 0 ? fmt::format(" ({}/s)", human_bytes(static_cast<std::uint64_t>(rate))) : "";
    text_line(fmt::format("layer {}/{} {} {} {}{}", index + 1, layers_.size(), short_digest(layer.digest),
                          human_bytes(layer.size), layer.state, rate_text));
  } else {
    redraw_bars(true);
  }
}

void ImportProgress::layer_bytes(std::size_t index, std::uint64_t done) {
  std::lock_guard lock(mutex_);
  Layer& layer = layers_.at(index);
  layer.done = done;
  if (style_ == ProgressStyle::Bars) return redraw_bars(false);
  if (style_ != ProgressStyle::Json || Clock::now() - layer.last_report < kReportEvery) return;
  layer.last_report = Clock::now();
  json_line({{"event", "progress"},
             {"index", index + 1},
             {"digest", layer.digest},
             {"bytes", done},
             {"size", layer.size},
             {"rate", static_cast<std::uint64_t>(layer.rate())}});
}

void ImportProgress::building(const std::string& compressor, int level) {
  std::lock_guard lock(mutex_);
  building_ = true;
  if (style_ == ProgressStyle::Json)
    return json_line({{"event", "build"}, {"compressor", compressor}, {"level", level}});
  if (style_ == ProgressStyle::Bars) return redraw_bars(true);
  text_line(fmt::format("building the squashfs image ({} level {})", compressor, level));
}

void ImportProgress::build_bytes(std::uint64_t done, std::uint64_t total) {
  std::lock_guard lock(mutex_);
  build_done_ = done;
  build_total_ = total;
  if (style_ == ProgressStyle::Bars) return redraw_bars(false);
  if (style_ != ProgressStyle::Json || Clock::now() - last_build_report_ < kReportEvery) return;
  last_build_report_ = Clock::now();
  json_line({{"event", "build_progress"}, {"bytes", done}, {"total", total}});
}

void ImportProgress::finished(const std::string& output, const std::string& manifest_digest, std::uint64_t output_bytes,
                              bool from_image_cache, const char* install_method) {
  std::lock_guard lock(mutex_);
  double seconds = seconds_since(start_);
  finished_ = true;
  if (style_ == ProgressStyle::Bars) redraw_bars(true);
  if (style_ == ProgressStyle::Json) {
    return json_line({{"event", "done"},
                      {"output", output},
                      {"digest", manifest_digest},
                      {"bytes", output_bytes},
                      {"from_image_cache", from_image_cache},
                      {"install", install_method},
                      {"seconds", seconds}});
  }
  text_line(fmt::format("wrote {} ({}{}) in {:.2f} s", output, human_bytes(output_bytes),
                        from_image_cache ? ", from the image cache" : "", seconds));
}

void ImportProgress::error(const std::string& message) {
  std::lock_guard lock(mutex_);
  if (style_ == ProgressStyle::Json) json_line({{"event", "error"}, {"message", message}});
}

// Rewrites the block of bar lines in place (cursor up, clear line), at most
// every 100 ms unless forced by a state change.
void ImportProgress::redraw_bars(bool force) {
  auto now = Clock::now();
  if (!force && now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  std::string text = drawn_lines_ > 0 ? fmt::format("\x1b[{}A", drawn_lines_) : "";
  int lines = 0;
  for (const auto& layer : layers_) {
    bool moving = layer.state == "downloading" || layer.state == "resuming";
    text +=
        "\r\x1b[2K" +
        progress_bar_line(short_digest(layer.digest), layer.done, layer.size, moving ? layer.rate() : 0, layer.state) +
        "\n";
    ++lines;
  }
  if (building_) {
    text += "\r\x1b[2K" +
            progress_bar_line("squashfs           ", build_done_, build_total_, 0, finished_ ? "done" : "building") +
            "\n";
    ++lines;
  }
  drawn_lines_ = lines;
  write_all(STDERR_FILENO, text);
}

}  // namespace hl::import
