#include "devices/cpu_list.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

using namespace hl::devices;

TEST(BindingCpuList, FormatsRanges) {
  EXPECT_EQ(format_cpu_list({}), "");
  EXPECT_EQ(format_cpu_list({3}), "3");
  EXPECT_EQ(format_cpu_list({0, 1, 2, 3, 8}), "0-3,8");
  EXPECT_EQ(format_cpu_list({4, 5, 6, 7, 36, 37, 38, 39}), "4-7,36-39");
}

TEST(BindingCpuList, ParsesWhatProcStatusPrints) {
  EXPECT_EQ(parse_cpu_list("0-3,8\n"), (CpuList{0, 1, 2, 3, 8}));
  EXPECT_EQ(parse_cpu_list(" 5 "), (CpuList{5}));
  EXPECT_EQ(parse_cpu_list(""), CpuList{});
  EXPECT_EQ(parse_cpu_list("8,0-1,1"), (CpuList{0, 1, 8}));
  EXPECT_EQ(format_cpu_list(parse_cpu_list("0-63,128-191")), "0-63,128-191");
}

TEST(BindingCpuList, RejectsGarbageWithTheText) {
  try {
    parse_cpu_list("0-3,x");
    FAIL() << "no error";
  } catch (const hl::Error& e) {
    EXPECT_STREQ(e.what(), "invalid cpu list `0-3,x`: `x` is not a cpu number");
    EXPECT_FALSE(e.hint().empty());
  }
  EXPECT_THROW(parse_cpu_list("4-2"), hl::Error);
  EXPECT_THROW(parse_cpu_list("-1"), hl::Error);
  EXPECT_THROW(parse_cpu_list("99999999"), hl::Error);
}

TEST(BindingCpuList, SetOperations) {
  CpuList a{0, 1, 2, 3}, b{2, 3, 4};
  EXPECT_EQ(intersect(a, b), (CpuList{2, 3}));
  EXPECT_EQ(unite(a, b), (CpuList{0, 1, 2, 3, 4}));
  EXPECT_TRUE(contains_all(a, {1, 3}));
  EXPECT_FALSE(contains_all(a, {3, 4}));
  EXPECT_EQ(normalized({3, 1, 3, 2}), (CpuList{1, 2, 3}));
}
