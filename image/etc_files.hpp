#pragma once
// Files hpclaunch writes into the container's /etc and reads from the image:
// pure text transformations, unit-tested.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/env.hpp"

namespace hl::image {

// /etc/environment as pam_env and enroot read it: KEY=VALUE lines, `export`
// prefix allowed, matching quotes stripped, comments and blank lines skipped.
EnvList parse_environment_file(std::string_view text);

struct UserEntry {
  std::string name;
  unsigned uid = 0;
  unsigned gid = 0;
  std::string group_name;
  std::string gecos;
  std::string home;
  std::string shell = "/bin/sh";
};

// The image's passwd/group plus an entry for the user when its uid/gid is
// missing, so `id`, `whoami` and libraries calling getpwuid() work inside.
std::string passwd_with_user(std::string_view image_passwd, const UserEntry& user);
std::string group_with_user(std::string_view image_group, const UserEntry& user);

}  // namespace hl::image
