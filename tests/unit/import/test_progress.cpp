#include <gtest/gtest.h>

#include "import/progress.hpp"

using hl::human_bytes;
using namespace hl::import;

TEST(Progress, HumanBytes) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(999), "999 B");
  EXPECT_EQ(human_bytes(1500), "1.5 KB");
  EXPECT_EQ(human_bytes(70200000), "70.2 MB");
  EXPECT_EQ(human_bytes(1300000000), "1.3 GB");
}

TEST(Progress, BarLine) {
  EXPECT_EQ(progress_bar_line("sha256:0123", 5000000, 10000000, 2500000, "downloading", 10),
            "sha256:0123  [#####-----]  5.0 MB / 10.0 MB     2.5 MB/s  downloading");
  EXPECT_EQ(progress_bar_line("x", 0, 0, 0, "cached", 4), "x  [####]  0 B / 0 B  " + std::string(11, ' ') + "  cached");
  EXPECT_EQ(progress_bar_line("x", 20, 10, 0, "?", 4).substr(0, 9), "x  [####]");  // clamped
}
