#pragma once
// Messages between a joining rank (`hpclaunch-join`) and its node's holder,
// and the rules for the rank's final environment. Pure: unit-tested.
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.hpp"
#include "devices/binding_options.hpp"

namespace hl::wireup {

// What a connection to a holder asks for: a rank joining; or, for a named
// container, its status (`hpclaunch ps`), that it stop (`hpclaunch stop`),
// or the root view alone (`hpclaunch save`, which counts as no rank).
enum class RequestKind { join, status, stop, root_view };
NLOHMANN_JSON_SERIALIZE_ENUM(RequestKind, {{RequestKind::join, "join"},
                                           {RequestKind::status, "status"},
                                           {RequestKind::stop, "stop"},
                                           {RequestKind::root_view, "root-view"}})

struct JoinRequest {
  RequestKind kind = RequestKind::join;
  bool root_view = false;            // --root: the container's root view, not the user view
  devices::BindingOptions binding;   // how this launch's ranks are bound
  int rank = -1;
  int local_rank = -1;
  int local_size = 0;                // ranks expected on this node; 0 = unknown
  std::string allowed_cpus;          // the rank's affinity ("0-3,8"): bindings stay inside it
  std::string cuda_visible_devices;  // as Slurm set it, "" if unset
};

struct JoinReply {
  bool ok = false;
  std::string error;
  std::string hint;
  EnvList image_env;  // from the image's /etc/environment
  int exit_code = 0;         // with !ok: the status the rank exits with
  std::string binding;       // devices::RankBinding as JSON, "" for none
  std::vector<std::string> library_dirs;
  std::vector<std::string> bin_dirs;
  nlohmann::json status;  // the answer to a status request
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(JoinRequest, kind, root_view, binding, rank, local_rank, local_size, allowed_cpus,
                                   cuda_visible_devices)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(JoinReply, ok, error, hint, image_env, exit_code, binding, library_dirs, bin_dirs,
                                   status)

std::string encode(const JoinRequest& r);
std::string encode(const JoinReply& r);
// Throw hl::Error on malformed input (a peer that is not hpclaunch).
JoinRequest decode_request(std::string_view text);
JoinReply decode_reply(std::string_view text);

// Rank identity from the launcher's environment (Open MPI or Slurm).
JoinRequest request_from_environment(const EnvList& env);

// The rank's environment: its own (host) variables, overridden by the image's
// /etc/environment (PATH, LD_LIBRARY_PATH ... must come from the image),
// except the launcher's SLURM_*/PMIX_*/OMPI_* which always stay the rank's
// own (the holder's belong to the node step: wrong PMIx server and step);
// finally the user's --env values win over everything.
// `device` (CUDA_VISIBLE_DEVICES, UCX_NET_DEVICES ... of the binding plan)
// comes after the image's and may set launcher-prefixed variables.
std::vector<std::string> compose_environment(const EnvList& own, const EnvList& image,
                                             const EnvList& device, const EnvList& user);


}  // namespace hl::wireup
