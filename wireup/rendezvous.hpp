#pragma once
// A node's rendezvous for one launch: a Unix socket in the user's private
// runtime dir, <runtime>/<group>/<host>/rendezvous. Nobody else can see the
// name, connect to it, or bind it first (the directories are 0700 and
// verified), unlike an abstract socket, whose name is world-visible and
// free for anyone to take. The host component keeps nodes apart where they
// share /tmp (the test cluster's fake nodes).
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/env.hpp"
#include "common/private_dir.hpp"
#include "common/unique_fd.hpp"

namespace hl::wireup {

// "l-<job>.<launch id>" (or "l-<launch id>" outside Slurm): one front-end
// launch. The job id lets an admin or a test tell whose it is.
std::string launch_group(std::string_view job, std::string_view launch_id);
// "x-<job>.<step>" (or the PMIx namespace under mpirun, or this pid):
// every task of one companion-mode step on a node.
std::string companion_group(const EnvList& env);

// "n-<job>.<name>" inside a Slurm job, "n-local.<name>" outside one: a
// named container (--name), kept across launches.
std::string named_group(const EnvList& env, const std::string& name);

// This node's directory of `group` below `runtime` (created, private).
PrivateDir node_directory(const PrivateDir& runtime, const std::string& group);

// Listens in `node_dir`: bound under a fresh name, then renamed over
// `rendezvous`, so the socket of a crashed earlier attempt (a restarted
// node step) is replaced instead of refusing the new one.
UniqueFd listen_rendezvous(const PrivateDir& node_dir);
// Listens on `rendezvous` only if nobody serves it (companion mode's first
// task; the caller holds the node dir's lock). nullopt: a holder answers.
std::optional<UniqueFd> listen_rendezvous_if_free(const PrivateDir& node_dir);

// Connects to this node's holder of `group`, retrying (with short pauses)
// until it listens or `timeout` passes.
UniqueFd connect_rendezvous(const std::string& group, std::chrono::milliseconds timeout);

// One attempt at the holder whose directory is `node_dir` (`hpclaunch ps`
// and `stop` look at every node directory they can see): empty when none listens.
UniqueFd connect_rendezvous_in(const PrivateDir& node_dir);

struct PeerCredentials {
  pid_t pid;
  uid_t uid;
  gid_t gid;
};
PeerCredentials peer_credentials(int sock);

}  // namespace hl::wireup
