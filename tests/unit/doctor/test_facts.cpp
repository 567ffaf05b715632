// The report hpclaunch-node's doctor-probe sends hpclaunch: what goes in comes out.
#include <gtest/gtest.h>

#include "common/json.hpp"
#include "doctor/facts.hpp"

using namespace hl;
using namespace hl::doctor;

TEST(DoctorFacts, NodeProbesRoundTrip) {
  NodeProbes p;
  p.user_namespace = success("unshare");
  p.fuse_device = failure(Error("cannot open `/dev/fuse`: Permission denied", "chmod 666 /dev/fuse"));
  p.pmix_version = "OpenPMIx 4.2.2";
  auto back = decode_json<NodeProbes>(nlohmann::json(p).dump(), "report");
  EXPECT_TRUE(back.user_namespace.ok);
  EXPECT_EQ(back.user_namespace.detail, "unshare");
  EXPECT_FALSE(back.fuse_device.ok);
  EXPECT_EQ(back.fuse_device.detail, "cannot open `/dev/fuse`: Permission denied");
  EXPECT_EQ(back.fuse_device.hint, "chmod 666 /dev/fuse");
  EXPECT_EQ(back.pmix_version, "OpenPMIx 4.2.2");
  EXPECT_FALSE(back.image_mount.has_value());
  p.image_mount = success("mounted");
  back = decode_json<NodeProbes>(nlohmann::json(p).dump(), "report");
  ASSERT_TRUE(back.image_mount.has_value());
  EXPECT_EQ(back.image_mount->detail, "mounted");
}

TEST(DoctorFacts, MalformedReportIsOneLine) {
  try {
    decode_json<NodeProbes>(R"({"user_namespace": {"ok": true}})", "hpclaunch-node doctor-probe report");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("malformed hpclaunch-node doctor-probe report: ")) << e.what();
  }
}
