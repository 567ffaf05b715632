#include <gtest/gtest.h>

#include "common/error.hpp"
#include "launcher/named.hpp"

using namespace hl;
using namespace hl::launcher;

namespace {
NamedRecord record(std::string image, bool writable = false, bool root = false) {
  NamedRecord r;
  r.name = "dev";
  r.image = std::move(image);
  r.writable = writable;
  r.root = root;
  return r;
}
}  // namespace

TEST(Named, LaterLaunchesJoinUnlessTheyAskForSomethingElse) {
  NamedRecord made = record("/a.sqsh", true, true);
  made.mounts = {image::bind_mount("/data", "/data", true, true, false, "--mount")};
  EXPECT_FALSE(record_mismatch(made, record("")).has_value()) << "no --image: join what is there";
  EXPECT_FALSE(record_mismatch(made, record("/a.sqsh", true)).has_value());
  EXPECT_EQ(*record_mismatch(made, record("/b.sqsh")),
            "named container `dev` was made with --image /a.sqsh; this launch asks for --image /b.sqsh");
  NamedRecord other_mount = record("/a.sqsh");
  other_mount.mounts = {image::bind_mount("/scratch", "/data", false, true, false, "--mount")};
  EXPECT_EQ(*record_mismatch(made, other_mount),
            "named container `dev` was made with --mount /data:/data:ro; this launch asks for --mount /scratch:/data");
  EXPECT_EQ(*record_mismatch(record("/a.sqsh"), record("/a.sqsh", true)),
            "named container `dev` was made with a read-only root; this launch asks for --writable");
  EXPECT_EQ(*record_mismatch(record("/a.sqsh"), record("/a.sqsh", false, true)),
            "named container `dev` was made with no --root; this launch asks for --root");
}

TEST(Named, RecordKeepsOnlyTheUsersMounts) {
  image::ContainerSpec spec;
  spec.image = "/a.sqsh";
  spec.mounts = {image::bind_mount("/home/u", "/home/u", false, true, true, "$HOME"),
                 image::bind_mount("/d", "/d", false, true, false, "--mount")};
  auto r = record_of("dev", spec);
  ASSERT_EQ(r.mounts.size(), 1u) << "the workdir and $HOME of one launch are not the container's identity";
  EXPECT_EQ(r.mounts[0].source, "/d");
}
