#include "import/registry/transfer_limits.hpp"

#include <fmt/format.h>

namespace hl::import {
namespace {

constexpr std::chrono::milliseconds kSampleSpacing{250};
constexpr const char* kHint = "check the network or raise --timeout";

}  // namespace

LowSpeedCheck::LowSpeedCheck(long timeout_s, Clock::time_point request_start)
    : window_(timeout_s), samples_{{request_start, 0}} {}

bool LowSpeedCheck::stalled(Clock::time_point now, std::uint64_t bytes) {
  if (now - samples_.back().time >= kSampleSpacing) samples_.push_back({now, bytes});
  // The window's start: the newest sample at least one window old.
  Clock::time_point window_start = now - window_;
  while (samples_.size() > 1 && samples_[1].time <= window_start) samples_.pop_front();
  const Sample& reference = samples_.front();
  if (reference.time > window_start) return false;  // not one window yet since the request started
  std::uint64_t received = bytes - std::min(bytes, reference.bytes);
  std::chrono::duration<double> elapsed = now - reference.time;
  if (received >= kMinBytesPerSecond * static_cast<std::uint64_t>(window_.count())) return false;
  rate_ = static_cast<double>(received) / elapsed.count();
  return true;
}

bool StallCounter::give_up(std::uint64_t received, bool stalled, long timeout_s) {
  if (received >= kMinBytesPerSecond * static_cast<std::uint64_t>(timeout_s)) stalls_ = 0;
  if (stalled) ++stalls_;
  return stalls_ >= kMaxStalls;
}

std::chrono::seconds transfer_deadline(std::uint64_t size, long timeout_s) {
  auto at_low_speed = static_cast<long>((size + kMinBytesPerSecond - 1) / kMinBytesPerSecond);
  return std::chrono::seconds(kMaxAttempts * timeout_s + at_low_speed);
}

TransferBudget::Clock::time_point TransferBudget::start(Clock::time_point now) {
  started_ = now;
  running_ = true;
  return now + left_;
}

void TransferBudget::stop(Clock::time_point now) {
  if (!running_) return;
  left_ -= now - started_;
  running_ = false;
}

std::string format_rate(double bytes_per_second) {
  if (bytes_per_second >= 1024) return fmt::format("{:.1f} KiB/s", bytes_per_second / 1024);
  if (bytes_per_second >= 10 || bytes_per_second == 0) return fmt::format("{:.0f} B/s", bytes_per_second);
  return fmt::format("{:.1f} B/s", bytes_per_second);
}

Error stalled_transfer_error(std::string_view registry, std::string_view what, double rate, long timeout_s) {
  return Error(fmt::format("registry {}: {} arrived at {}, under 1 KiB/s for {} s (stalled transfer)", registry, what,
                           format_rate(rate), timeout_s),
               kHint);
}

Error transfer_deadline_error(std::string_view registry, std::string_view what, std::uint64_t size, long timeout_s) {
  return Error(fmt::format("registry {}: {} did not arrive within {} s ({} × --timeout {} s, plus {} bytes at 1 KiB/s)",
                           registry, what, transfer_deadline(size, timeout_s).count(), kMaxAttempts, timeout_s, size),
               kHint);
}

}  // namespace hl::import
