#include <gtest/gtest.h>

#include "image/fstab.hpp"
#include "tests/unit/error_text.hpp"

using namespace hl;
using namespace hl::image;
using hl::testing::error_text;

namespace {

FstabContext context(EnvList env = {}) { return FstabContext{std::move(env), "", "test.fstab:1", true}; }

MountSpec line(std::string_view text, EnvList env = {}) {
  auto entry = parse_fstab_line(text, context(std::move(env)));
  EXPECT_TRUE(entry.has_value()) << text;
  return entry ? entry->mount : MountSpec{};
}

}  // namespace

TEST(Fstab, EnrootForms) {
  MountSpec rbind = line("/sys /sys rbind");
  EXPECT_EQ(rbind.kind, MountKind::bind);
  EXPECT_TRUE(rbind.recursive);
  MountSpec tmp = line("tmpfs /tmp");
  EXPECT_EQ(tmp.kind, MountKind::tmpfs);
  EXPECT_EQ(tmp.target, "/tmp");
  MountSpec plain = line("/data /mnt/data none x-create=dir,bind,ro 0 0");
  EXPECT_FALSE(plain.recursive);
  EXPECT_TRUE(plain.read_only);
  EXPECT_EQ(plain.create, CreateKind::dir);
  EXPECT_EQ(plain.origin, "test.fstab:1");
  EXPECT_EQ(line("/a relative/target").target, "/relative/target") << "targets count from the container's /";
  EXPECT_EQ(line("/my\\040dir /b").source, "/my dir") << "fstab's octal escapes";
}

TEST(Fstab, VariablesAndNofail) {
  EXPECT_EQ(line("${HOME}/x /x", {{"HOME", "/home/u"}}).source, "/home/u/x");
  EXPECT_FALSE(parse_fstab_line("${SCRATCH} /scratch none bind,nofail", context()).has_value())
      << "an unset variable skips a nofail line";
  EXPECT_EQ(error_text([] { parse_fstab_line("${SCRATCH} /scratch", context()); }),
            "test.fstab:1: ${SCRATCH} is not set");
  EXPECT_EQ(expand_variables("$HOME and ${A}", {{"A", "1"}}, nullptr), "$HOME and 1");
}

TEST(Fstab, CommentsFixedAndErrors) {
  EXPECT_FALSE(parse_fstab_line("  # a comment", context()).has_value());
  EXPECT_FALSE(parse_fstab_line("   ", context()).has_value());
  auto fixed = parse_fstab_line("/site /opt/site none rbind,ro,x-fixed", context());
  ASSERT_TRUE(fixed);
  EXPECT_TRUE(fixed->fixed);
  auto text = [](std::string_view l) { return error_text([&] { parse_fstab_line(l, context()); }); };
  EXPECT_EQ(text("/a"), "test.fstab:1: expected at least SRC and DST");
  EXPECT_EQ(text("server:/x /x nfs defaults"), "test.fstab:1: file system type `nfs`: only binds and tmpfs");
  EXPECT_EQ(text("/a /b none bind,suid"), "test.fstab:1: unknown mount option `suid`");
  EXPECT_EQ(text("tmpfs /t tmpfs size=lots"), "test.fstab:1: unknown mount option `size=lots`");
  EXPECT_EQ(text("relative /b"), "test.fstab:1: the source `relative` must be an absolute path");
  EXPECT_EQ(text("/a /proc/x"), "test.fstab:1: cannot mount over /, /proc or /dev");
  FstabContext user = context();
  user.allow_fixed = false;
  EXPECT_EQ(error_text([&] { parse_fstab_line("/a /b none x-fixed", user); }),
            "test.fstab:1: unknown mount option `x-fixed`");
}

TEST(Fstab, WholeFileNamesTheLine) {
  auto entries =
      parse_fstab("# site mounts\n/a /a\n\ntmpfs /scratch tmpfs size=1g,mode=1777\n", "10-site.fstab", context());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].mount.origin, "10-site.fstab:2");
  EXPECT_EQ(entries[1].mount.origin, "10-site.fstab:4");
  EXPECT_EQ(entries[1].mount.data, "size=1g,mode=1777");
  EXPECT_EQ(error_text([&] { parse_fstab("/a /a\n/b\n", "/etc/hpclaunch/mounts.d/x.fstab", context()); }),
            "`/etc/hpclaunch/mounts.d/x.fstab` line 2: expected at least SRC and DST");
}
