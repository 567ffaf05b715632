#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "import/registry/transfer_limits.hpp"

using namespace hl;
using namespace hl::import;
using namespace std::chrono_literals;

namespace {

using Clock = LowSpeedCheck::Clock;
const Clock::time_point t0{};

}  // namespace

TEST(TransferLimits, NotJudgedBeforeOneWindow) {
  LowSpeedCheck check(5, t0);
  EXPECT_FALSE(check.stalled(t0 + 1s, 0));
  EXPECT_FALSE(check.stalled(t0 + 4900ms, 0));
  EXPECT_TRUE(check.stalled(t0 + 5s, 0));  // nothing at all for 5 s
  EXPECT_EQ(check.rate(), 0);
}

TEST(TransferLimits, TrickleIsAStallThoughBytesKeepComing) {
  // One byte every 3 s (the old watch, "no byte for --timeout", never fired).
  LowSpeedCheck check(5, t0);
  EXPECT_FALSE(check.stalled(t0 + 10ms, 1));
  EXPECT_FALSE(check.stalled(t0 + 3s, 2));
  EXPECT_TRUE(check.stalled(t0 + 5s, 2));
  EXPECT_NEAR(check.rate(), 0.4, 1e-9);
}

TEST(TransferLimits, SteadyTransfersAtOrAboveTheLimitGoOn) {
  LowSpeedCheck at_limit(5, t0);
  LowSpeedCheck fast(5, t0);
  for (int tenth = 1; tenth <= 600; ++tenth) {  // a minute, sampled every 100 ms
    auto now = t0 + tenth * 100ms;
    ASSERT_FALSE(at_limit.stalled(now, static_cast<std::uint64_t>(tenth) * 103)) << tenth;  // 1030 B/s
    ASSERT_FALSE(fast.stalled(now, static_cast<std::uint64_t>(tenth) * 1000000)) << tenth;
  }
}

TEST(TransferLimits, SlowerThanTheLimitStallsAfterOneWindow) {
  LowSpeedCheck check(5, t0);
  bool stalled = false;
  int tenth = 0;
  while (!stalled && tenth < 600) {
    ++tenth;
    stalled = check.stalled(t0 + tenth * 100ms, static_cast<std::uint64_t>(tenth) * 90);  // 900 B/s
  }
  EXPECT_TRUE(stalled);
  EXPECT_EQ(tenth, 50);
  EXPECT_NEAR(check.rate(), 900, 1);
}

TEST(TransferLimits, SilenceAfterABurstStallsOneWindowLater) {
  // The window slides: bytes from before it do not count (curl's own check
  // averages them in and reacts far later).
  LowSpeedCheck check(1, t0);
  EXPECT_FALSE(check.stalled(t0 + 100ms, 150000));
  EXPECT_FALSE(check.stalled(t0 + 600ms, 150000));
  EXPECT_FALSE(check.stalled(t0 + 1000ms, 150000));
  EXPECT_TRUE(check.stalled(t0 + 1700ms, 150000));  // the window since the burst brought nothing
}

TEST(TransferLimits, WindowReachesBackOnlyOneTimeout) {
  LowSpeedCheck check(2, t0);
  EXPECT_FALSE(check.stalled(t0 + 500ms, 5000));
  EXPECT_FALSE(check.stalled(t0 + 2s, 5000));
  EXPECT_FALSE(check.stalled(t0 + 2400ms, 5000));  // from 0 s (the newest sample 2 s old): 5000 bytes
  EXPECT_TRUE(check.stalled(t0 + 2600ms, 5100));   // [0.5, 2.6] brought 100
  EXPECT_NEAR(check.rate(), 100 / 2.1, 1e-6);
}

TEST(TransferLimits, SecondStallEndsUnlessAGoodRequestCameBetween) {
  StallCounter trickle;
  EXPECT_FALSE(trickle.give_up(2, true, 5));  // first stall: retried
  EXPECT_TRUE(trickle.give_up(2, true, 5));   // the retry stalled too

  StallCounter stuck;
  EXPECT_FALSE(stuck.give_up(150000, true, 5));  // a working link that stuck: retried
  EXPECT_FALSE(stuck.give_up(150000, true, 5));  // and again: it brought a window's worth
  EXPECT_TRUE(stuck.give_up(10, true, 5));       // the retry of that one was a trickle

  StallCounter between;
  EXPECT_FALSE(between.give_up(0, true, 5));
  EXPECT_FALSE(between.give_up(0, false, 5));  // a 503: no stall, no progress
  EXPECT_TRUE(between.give_up(3, true, 5));
  StallCounter reset;
  EXPECT_FALSE(reset.give_up(0, true, 5));
  EXPECT_FALSE(reset.give_up(5 * 1024, false, 5));  // a cut connection that brought 5 KiB
  EXPECT_FALSE(reset.give_up(0, true, 5));
}

TEST(TransferLimits, DeadlineIsTheSizeAtTheLimitPlusTheAttempts) {
  EXPECT_EQ(transfer_deadline(0, 30), 150s);
  EXPECT_EQ(transfer_deadline(1, 30), 151s);
  EXPECT_EQ(transfer_deadline(300 * 1024, 5), 325s);
  EXPECT_EQ(transfer_deadline(1024 * 1024 * 1024, 30), std::chrono::seconds(150 + 1024 * 1024));
  EXPECT_EQ(transfer_deadline(4u << 20, 30), std::chrono::seconds(150 + 4096));  // a manifest, its size limit
}

TEST(TransferLimits, BudgetCountsOnlyTimeInFlight) {
  TransferBudget budget(0, 2);  // 10 s
  EXPECT_FALSE(budget.spent());
  EXPECT_EQ(budget.start(t0), t0 + 10s);
  budget.stop(t0 + 4s);
  // 100 s waiting for a download slot (--parallel) or a backoff: not counted.
  EXPECT_EQ(budget.start(t0 + 104s), t0 + 110s);
  budget.stop(t0 + 109s);
  EXPECT_FALSE(budget.spent());
  budget.stop(t0 + 200s);  // no request running: nothing spent
  EXPECT_EQ(budget.start(t0 + 300s), t0 + 301s);
  budget.stop(t0 + 301s);
  EXPECT_TRUE(budget.spent());
}

TEST(TransferLimits, ErrorsNameRegistryAndBlob) {
  EXPECT_EQ(format_rate(0), "0 B/s");
  EXPECT_EQ(format_rate(0.4), "0.4 B/s");
  EXPECT_EQ(format_rate(12.3), "12 B/s");
  EXPECT_EQ(format_rate(1023), "1023 B/s");
  EXPECT_EQ(format_rate(3584), "3.5 KiB/s");
  Error stall = stalled_transfer_error("127.0.0.1:5000", "layer 1 (sha256:abcdef012345) of image t/a:v1", 12, 5);
  EXPECT_EQ(stall.describe(),
            "registry 127.0.0.1:5000: layer 1 (sha256:abcdef012345) of image t/a:v1 arrived at 12 B/s, under 1 KiB/s "
            "for 5 s (stalled transfer); check the network or raise --timeout");
  Error late = transfer_deadline_error("127.0.0.1:5000", "layer 2 (sha256:abcdef012345) of image t/a:v1", 2048, 5);
  EXPECT_EQ(late.describe(),
            "registry 127.0.0.1:5000: layer 2 (sha256:abcdef012345) of image t/a:v1 did not arrive within 27 s "
            "(5 × --timeout 5 s, plus 2048 bytes at 1 KiB/s); check the network or raise --timeout");
}
