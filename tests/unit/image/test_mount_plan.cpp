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
  for (const char* bad : {"/a", "/a:b", "/a:/b:rx", "/a:/", "/a:/proc/x", ":/b", "/a:/dev/x", "/a:/b:ro:x",
                          "/a:/b:x-create=pipe", "/a /", "/a /b nfs"}) {
    EXPECT_THROW(parse_mount_option(bad, "/"), Error) << bad;
  }
  try {
    parse_mount_option("/a:b", "/");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--mount `/a:b`: the target must be an absolute path");
    EXPECT_EQ(e.hint(), "use --mount SRC:DST[:OPTIONS], DST absolute");
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

TEST(MountPlan, MountOptionsAndFstabLines) {
  MountSpec m = parse_mount_option("/a:/b:ro,nofail,bind,x-create=file", "/");
  EXPECT_TRUE(m.read_only);
  EXPECT_TRUE(m.optional);
  EXPECT_FALSE(m.recursive);
  EXPECT_EQ(m.create, CreateKind::file);
  MountSpec f = parse_mount_option("${DATA}/in /in none rbind,ro", "/home/u", {{"DATA", "/data"}});
  EXPECT_EQ(f.source, "/data/in");
  EXPECT_EQ(f.target, "/in");
  EXPECT_TRUE(f.read_only);
  EXPECT_TRUE(f.recursive);
  EXPECT_EQ(f.origin, "--mount");
  MountSpec t = parse_mount_option("tmpfs /scratch tmpfs size=64m", "/");
  EXPECT_EQ(t.kind, MountKind::tmpfs);
  EXPECT_EQ(t.data, "size=64m");
}

TEST(MountPlan, ContainNoHomeAndConfigMounts) {
  MountInputs in;
  in.home = "/home/u";
  in.workdir = "/home/u/run";
  in.tmpdir = "/tmp/job.1";
  in.contain = true;
  in.no_home = true;
  MountSpec site = bind_mount("/site", "/opt/site", true, true, false, "mounts.d/10-site.fstab:1");
  MountSpec replaced = bind_mount("/old", "/data", false, true, false, "mounts.d/20.fstab:1");
  in.config_mounts = {site, replaced};
  in.user_mounts = {"/new:/data"};
  auto plan = plan_mounts(in);
  const MountSpec* tmp = find_target(plan, "/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ(tmp->kind, MountKind::tmpfs);
  EXPECT_EQ(tmp->origin, "--contain");
  ASSERT_NE(find_target(plan, "/var/tmp"), nullptr);
  EXPECT_EQ(find_target(plan, "/var/tmp")->kind, MountKind::tmpfs);
  EXPECT_EQ(find_target(plan, "/tmp/job.1"), nullptr) << "a $TMPDIR below /tmp is inside the private one";
  EXPECT_EQ(find_target(plan, "/home/u"), nullptr) << "--no-home";
  ASSERT_NE(find_target(plan, "/home/u/run"), nullptr) << "the workdir is still bound";
  ASSERT_NE(find_target(plan, "/opt/site"), nullptr);
  EXPECT_EQ(find_target(plan, "/data")->source, "/new") << "--mount wins over the configuration";
  // A session dir below the private /tmp is still bound (the holder adds it).
  auto node = add_node_mounts(plan, {identity_mount("/tmp/hpclaunch-1/l-x", "runtime dir")});
  ASSERT_NE(find_target(node, "/tmp/hpclaunch-1/l-x"), nullptr);
}
