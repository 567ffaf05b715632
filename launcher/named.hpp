#pragma once
// Named containers (--name) as the front end keeps them: which container a
// name stands for and on which nodes it exists, recorded beside it in the
// runtime dir of the host that runs the job's front ends (the batch
// script's node, or this machine). The holders themselves live in
// <runtime>/<group>/<node>/ like any launch's.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.hpp"
#include "common/private_dir.hpp"
#include "common/unique_fd.hpp"
#include "image/container_spec.hpp"

namespace hl::launcher {

struct NamedRecord {
  std::string name;
  std::string image;
  std::vector<image::MountSpec> mounts;  // the user's --mount values, as planned
  bool writable = false;
  bool root = false;
  std::int64_t created = 0;  // unix seconds
  std::vector<std::string> nodes;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(NamedRecord, name, image, mounts, writable, root, created, nodes)

// Letters, digits, '.', '_', '-'; at most 64. Throws naming the fix.
void validate_container_name(const std::string& name);

// What a new launch asks for, as a record (nodes and time left empty).
NamedRecord record_of(const std::string& name, const image::ContainerSpec& spec);
// One line saying how `asked` differs from the container `existing`, or
// nullopt when it may join it. Only what the launch gave counts: a launch
// without --image, --mount or --writable joins whatever the container has.
std::optional<std::string> record_mismatch(const NamedRecord& existing, const NamedRecord& asked);

// The record of a group, locked (flock) while this object lives: two front
// ends that start the same name at once do not both create it.
class LockedRecord {
 public:
  LockedRecord(const PrivateDir& runtime, const std::string& group);
  const PrivateDir& group_dir() const { return group_; }
  std::optional<NamedRecord> load() const;
  void save(const NamedRecord& record) const;
  void remove() const;

 private:
  PrivateDir group_;
  UniqueFd lock_;
};

}  // namespace hl::launcher
