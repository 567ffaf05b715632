#include <gtest/gtest.h>

#include "image/etc_files.hpp"

using namespace hl::image;

TEST(EtcFiles, ParsesEnvironmentFile) {
  auto env = parse_environment_file(
      "# comment\nPATH=/usr/local/bin:/usr/bin\nexport LANG=\"C.UTF-8\"\n\nQUOTED='a b'\nnovalue\n=x\nEMPTY=\n");
  ASSERT_EQ(env.size(), 4u);
  EXPECT_EQ(env[0], (std::pair<std::string, std::string>{"PATH", "/usr/local/bin:/usr/bin"}));
  EXPECT_EQ(env[1].second, "C.UTF-8");
  EXPECT_EQ(env[2].second, "a b");
  EXPECT_EQ(env[3], (std::pair<std::string, std::string>{"EMPTY", ""}));
}

TEST(EtcFiles, AddsMissingUserOnce) {
  UserEntry u{"alice", 1000, 1000, "alice", "Alice", "/home/alice", "/bin/sh"};
  std::string passwd = passwd_with_user("root:x:0:0:root:/root:/bin/sh", u);
  EXPECT_EQ(passwd, "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n");
  EXPECT_EQ(passwd_with_user(passwd, u), passwd) << "uid already present: unchanged";
  EXPECT_EQ(group_with_user("root:x:0:\n", u), "root:x:0:\nalice:x:1000:\n");
  EXPECT_EQ(group_with_user("", u), "alice:x:1000:\n");
}

TEST(EtcFiles, RootIsAlreadyThere) {
  UserEntry root{"root", 0, 0, "root", "", "/root", "/bin/sh"};
  EXPECT_EQ(passwd_with_user("root:x:0:0:root:/root:/bin/bash\n", root), "root:x:0:0:root:/root:/bin/bash\n");
}
