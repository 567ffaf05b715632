#pragma once
// How long one transfer from a registry (a blob, a manifest, a token) may take,
// so that an import always ends. Pure, unit-tested; http.cpp applies it from
// curl's progress callback. With T = --timeout:
//   - low-speed limit: a request that brought under kMinBytesPerSecond on
//     average over the last T seconds has stalled (one that ends within T
//     seconds is never judged); it is retried, resuming where it stopped;
//   - the second stall of a transfer ends the import, unless a request in
//     between brought kMinBytesPerSecond × T bytes: a stuck connection is
//     cured by a new one, a link that slow is not;
//   - deadline: a transfer's requests, all together, may take kMaxAttempts × T
//     plus the time its size takes at kMinBytesPerSecond (for a manifest or
//     token, whose size is not known, its size limit). Time spent waiting for
//     a download slot (--parallel) or in a retry's backoff does not count.
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace hl::import {

inline constexpr std::uint64_t kMinBytesPerSecond = 1024;
inline constexpr int kMaxStalls = 2;
// Requests of one transfer that may fail in a row (http.hpp's retry policy).
inline constexpr int kMaxAttempts = 5;

// The low-speed limit over a sliding window of `timeout_s` seconds, fed with
// the bytes one request has brought so far.
class LowSpeedCheck {
 public:
  using Clock = std::chrono::steady_clock;

  LowSpeedCheck(long timeout_s, Clock::time_point request_start);
  // True once the last timeout_s seconds brought under kMinBytesPerSecond ×
  // timeout_s bytes.
  bool stalled(Clock::time_point now, std::uint64_t bytes);
  // Bytes per second over the window that stalled.
  double rate() const { return rate_; }

 private:
  struct Sample {
    Clock::time_point time;
    std::uint64_t bytes;
  };
  std::chrono::seconds window_;
  std::deque<Sample> samples_;  // at least kSampleSpacing apart: a few per second, whatever curl's call rate
  double rate_ = 0;
};

// Stalls of one transfer, per the rule above.
class StallCounter {
 public:
  // After each request: what it brought and whether it stalled. True when the
  // transfer must give up.
  bool give_up(std::uint64_t received, bool stalled, long timeout_s);

 private:
  int stalls_ = 0;
};

// The time in flight a transfer of `size` bytes may take.
std::chrono::seconds transfer_deadline(std::uint64_t size, long timeout_s);

// transfer_deadline() as a budget spent by the transfer's requests.
class TransferBudget {
 public:
  using Clock = std::chrono::steady_clock;

  TransferBudget(std::uint64_t size, long timeout_s) : left_(transfer_deadline(size, timeout_s)) {}
  // A request starts at `now`: when it must end.
  Clock::time_point start(Clock::time_point now);
  // The request that started last ended at `now`.
  void stop(Clock::time_point now);
  bool spent() const { return left_ <= Clock::duration::zero(); }

 private:
  Clock::duration left_;
  Clock::time_point started_{};
  bool running_ = false;
};

// "0 B/s", "0.4 B/s", "12 B/s", "3.5 KiB/s"
std::string format_rate(double bytes_per_second);

// The one-line errors, naming the registry and what was fetched ("layer 2
// (sha256:…) of image test/app:v1"), with the hint to raise --timeout.
Error stalled_transfer_error(std::string_view registry, std::string_view what, double rate, long timeout_s);
Error transfer_deadline_error(std::string_view registry, std::string_view what, std::uint64_t size, long timeout_s);

}  // namespace hl::import
