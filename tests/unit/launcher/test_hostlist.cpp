#include <gtest/gtest.h>

#include "common/error.hpp"
#include "launcher/hostlist.hpp"

using namespace hl::launcher;
using V = std::vector<std::string>;

TEST(Hostlist, ExpandsSlurmNodeLists) {
  EXPECT_EQ(expand_hostlist("node[1-4]"), (V{"node1", "node2", "node3", "node4"}));
  EXPECT_EQ(expand_hostlist("node[1-2,7],login"), (V{"node1", "node2", "node7", "login"}));
  EXPECT_EQ(expand_hostlist("gpu[08-10]"), (V{"gpu08", "gpu09", "gpu10"})) << "zero padding kept";
  EXPECT_EQ(expand_hostlist("r[1-2]-n[1-2]"), (V{"r1-n1", "r1-n2", "r2-n1", "r2-n2"}));
  EXPECT_EQ(expand_hostlist("vm"), (V{"vm"}));
}

TEST(Hostlist, RejectsGarbage) {
  for (const char* bad : {"node[1-", "node[a-b]", "node[3-1]", "n]1[", "node[[1]]", "n[1-99999999]"}) {
    EXPECT_THROW(expand_hostlist(bad), hl::Error) << bad;
  }
}
