#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.hpp"
#include "image/mount_plan.hpp"

using namespace hl;
using namespace hl::image;

namespace {
const MountSpec* find_target(const std::vector<MountSpec>& plan, const std::string& target) {
  auto it = std::find_if(plan.begin(), plan.end(), [&](const MountSpec& m) { return m.target == target; });
  return it == plan.end() ? nullptr : &*it;
}
}  // namespace

TEST(MountPlan, ParsesMountOption) {
  MountSpec m = parse_mount_option("data:/data:ro", "/home/u");
  EXPECT_EQ(m.source, "/home/u/data");
  EXPECT_EQ(m.target, "/data");
  EXPECT_TRUE(m.read_only);
  EXPECT_FALSE(parse_mount_option("/a:/b", "/").read_only);
  EXPECT_FALSE(parse_mount_option("/a:/b:rw", "/").read_only);
}

TEST(MountPlan, RejectsBadMountOptions) {
  for (const char* bad : {"/a", "/a:b", "/a:/b:rx", "/a:/", "/a:/proc/x", ":/b", "/a:/dev/x", "/a:/b:ro:x"}) {
    EXPECT_THROW(parse_mount_option(bad, "/"), Error) << bad;
  }
  try {
    parse_mount_option("/a:b", "/");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--mount `/a:b`: the target must be an absolute path");
    EXPECT_EQ(e.hint(), "use --mount SRC:DST[:ro|rw], DST absolute");
  }
}

TEST(MountPlan, DefaultsAndSessionDirs) {
  MountInputs in;
  in.home = "/home/u";
  in.workdir = "/home/u/run";  // covered by $HOME
  auto plan = add_node_mounts(plan_mounts(in), {identity_mount("/tmp/ompi.x.1000", "session dir"),
                                                identity_mount("/var/spool/slurmd", "session dir")});
  for (const char* t : {"/proc", "/sys", "/tmp", "/etc/hosts", "/etc/resolv.conf", "/home/u", "/var/spool/slurmd"}) {
    EXPECT_NE(find_target(plan, t), nullptr) << t;
  }
  EXPECT_EQ(find_target(plan, "/home/u/run"), nullptr) << "covered by the $HOME bind";
  EXPECT_EQ(find_target(plan, "/tmp/ompi.x.1000"), nullptr) << "covered by the /tmp bind";
  EXPECT_TRUE(find_target(plan, "/etc/hosts")->read_only);
}

TEST(MountPlan, UserMountsWinAndParentsComeFirst) {
  MountInputs in;
  in.cwd = "/work";
  in.user_mounts = {"/scratch/u:/tmp", "/data/in:/data/in/deep:ro", "/data:/data"};
  auto plan = plan_mounts(in);
  const MountSpec* tmp = find_target(plan, "/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ(tmp->source, "/scratch/u");
  EXPECT_EQ(tmp->origin, "--mount");
  auto pos = [&](const std::string& t) {
    return std::find_if(plan.begin(), plan.end(), [&](const MountSpec& m) { return m.target == t; }) - plan.begin();
  };
  EXPECT_LT(pos("/data"), pos("/data/in/deep"));
}
