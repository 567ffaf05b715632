#include "doctor/facts.hpp"

namespace hl::doctor {

Outcome success(std::string detail) { return Outcome{true, std::move(detail), {}}; }

Outcome failure(const Error& e) { return Outcome{false, e.what(), e.hint()}; }

void to_json(nlohmann::json& j, const NodeProbes& p) {
  j = {{"user_namespace", p.user_namespace},
       {"openat2", p.openat2},
       {"mount_setattr", p.mount_setattr},
       {"pidfd", p.pidfd},
       {"overlay", p.overlay},
       {"fuse_device", p.fuse_device},
       {"fuse_mount", p.fuse_mount},
       {"pmix_version", p.pmix_version}};
  if (p.image_mount) j["image_mount"] = *p.image_mount;
}

void from_json(const nlohmann::json& j, NodeProbes& p) {
  j.at("user_namespace").get_to(p.user_namespace);
  j.at("openat2").get_to(p.openat2);
  j.at("mount_setattr").get_to(p.mount_setattr);
  j.at("pidfd").get_to(p.pidfd);
  j.at("overlay").get_to(p.overlay);
  j.at("fuse_device").get_to(p.fuse_device);
  j.at("fuse_mount").get_to(p.fuse_mount);
  j.at("pmix_version").get_to(p.pmix_version);
  if (j.contains("image_mount")) p.image_mount = j.at("image_mount").get<Outcome>();
}

}  // namespace hl::doctor
