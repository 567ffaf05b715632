// The table and the JSON object of `hpclaunch doctor`.
#include <gtest/gtest.h>

#include "doctor/report.hpp"

using namespace hl::doctor;

namespace {

std::vector<Check> sample() {
  return {
      Check{"kernel", "kernel", false, Result::ok, "Linux 6.18.44 (hpclaunch needs 5.12 or later)", ""},
      Check{"fuse-device", "/dev/fuse", true, Result::fail, "cannot open `/dev/fuse`: Permission denied",
            "as root: chmod 666 /dev/fuse"},
      Check{"fuse-userns", "FUSE in a user namespace", true, Result::skip, "needs /dev/fuse", ""},
      Check{"slurm", "Slurm", false, Result::warn, "no PMIx plugin", "install it"},
  };
}

}  // namespace

TEST(DoctorReport, TableWithFixesUnderTheirCheck) {
  std::string table = render_table({"0.1.0", "node1"}, sample());
  EXPECT_EQ(table,
            "hpclaunch 0.1.0 doctor on node1\n"
            "CHECK                     NEED  RESULT  DETAIL\n"
            "kernel                    info  ok      Linux 6.18.44 (hpclaunch needs 5.12 or later)\n"
            "/dev/fuse                 req   FAIL    cannot open `/dev/fuse`: Permission denied\n"
            "                                        fix: as root: chmod 666 /dev/fuse\n"
            "FUSE in a user namespace  req   skip    needs /dev/fuse\n"
            "Slurm                     info  WARN    no PMIx plugin\n"
            "                                        fix: install it\n"
            "launches cannot work on this node: 1 required check failed (/dev/fuse)\n");
}

TEST(DoctorReport, VerdictWhenLaunchesCanWork) {
  auto checks = sample();
  checks[1].result = Result::ok;
  checks[1].fix.clear();
  std::string table = render_table({"0.1.0", "node1"}, checks);
  EXPECT_TRUE(table.ends_with("\nlaunches can work on this node (1 warning)\n")) << table;
  checks.pop_back();
  EXPECT_TRUE(render_table({"0.1.0", "node1"}, checks).ends_with("\nlaunches can work on this node\n"));
}

TEST(DoctorReport, JsonHasEveryCheck) {
  auto j = render_json({"0.1.0", "node1"}, sample());
  EXPECT_EQ(j["hpclaunch"], "0.1.0");
  EXPECT_EQ(j["host"], "node1");
  EXPECT_EQ(j["launches_can_work"], false);
  ASSERT_EQ(j["checks"].size(), 4u);
  EXPECT_EQ(j["checks"][1]["id"], "fuse-device");
  EXPECT_EQ(j["checks"][1]["required"], true);
  EXPECT_EQ(j["checks"][1]["result"], "fail");
  EXPECT_EQ(j["checks"][1]["fix"], "as root: chmod 666 /dev/fuse");
  EXPECT_EQ(j["checks"][2]["result"], "skip");
  EXPECT_EQ(j["checks"][3]["result"], "warn");
  // Its first key is the id: readable in `jq .checks[]`.
  EXPECT_EQ(j["checks"][0].begin().key(), "id");
}
