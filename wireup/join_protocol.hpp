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
#include "image/image_config.hpp"

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
  bool root_view = false;           // --root: the container's root view, not the user view
  devices::BindingOptions binding;  // how this launch's ranks are bound
  int rank = -1;
  int local_rank = -1;
  int local_size = 0;                // ranks expected on this node; 0 = unknown
  std::string allowed_cpus;          // the rank's affinity ("0-3,8"): bindings stay inside it
  std::string cuda_visible_devices;  // as Slurm set it, "" if unset
  image::CommandOptions command;     // the rank's PROGRAM ARGS and entrypoint options: the holder knows the image's
};

struct JoinReply {
  bool ok = false;
  std::string error;
  std::string hint;
  EnvList image_env;                  // from the image's /etc/environment
  EnvList hook_env;                   // what the node's hooks added (HPCLAUNCH_HOOK_ENVIRON)
  std::vector<std::string> argv;      // what the rank runs (image::rank_command)
  std::string image_workdir;          // the image's WorkingDir, "" for none
  std::vector<std::string> warnings;  // printed once, by rank 0
  int exit_code = 0;                  // with !ok: the status the rank exits with
  std::string binding;                // devices::RankBinding as JSON, "" for none
  std::vector<std::string> library_dirs;
  std::vector<std::string> bin_dirs;
  nlohmann::json status;  // the answer to a status request
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(JoinRequest, kind, root_view, binding, rank, local_rank, local_size, allowed_cpus,
                                   cuda_visible_devices, command)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(JoinReply, ok, error, hint, image_env, hook_env, argv, image_workdir, warnings,
                                   exit_code, binding, library_dirs, bin_dirs, status)

std::string encode(const JoinRequest& r);
std::string encode(const JoinReply& r);
// Throw hl::Error on malformed input (a peer that is not hpclaunch).
JoinRequest decode_request(std::string_view text);
JoinReply decode_reply(std::string_view text);

// Rank identity from the launcher's environment (Open MPI or Slurm).
JoinRequest request_from_environment(const EnvList& env);

// The layers of a rank's environment, lowest first (README: "Environment").
struct EnvLayers {
  EnvList own;                     // the rank's own (host) variables
  EnvList image;                   // the image's /etc/environment (PATH, LD_LIBRARY_PATH ... come from it)
  EnvList site;                    // environ.d, then the hooks' (values may hold ${VAR}: the environment so far)
  EnvList device;                  // CUDA_VISIBLE_DEVICES, UCX_NET_DEVICES ... of the binding plan
  EnvList user;                    // --env
  bool cleanenv = false;           // of `own`, only the keep-list and the launcher's variables
  std::vector<std::string> unset;  // --unset-env NAME or PREFIX*: taken out of own, image and site
};

// The rank's environment. The rank's own launcher variables (SLURM_*,
// PMIX_*, OMPI_*, PMI_*, PRTE_*) are always its own: the holder's belong to
// the node step (the wrong PMIx server and step), so no layer replaces them
// and --unset-env does not remove them; the image may set none of them,
// environ.d, the devices and --env may add those the rank does not have
// (OMPI_MCA_btl_tcp_if_include=...). HPCLAUNCH_INTERNAL_* never reach the app.
std::vector<std::string> compose_environment(const EnvLayers& layers);

// The variables of its own a rank keeps with --cleanenv, besides the launcher's.
bool kept_by_cleanenv(std::string_view key);
// Whether --unset-env `pattern` (NAME or PREFIX*) names `key`.
bool unset_pattern_matches(std::string_view pattern, std::string_view key);
// Checks one --unset-env value; throws naming it.
void check_unset_pattern(std::string_view pattern);

}  // namespace hl::wireup
