#pragma once
// The control socket between a holder and whoever started it (the node
// step, the front end on one machine, or the first companion task): the
// request (launch spec + the image's identity, with the image fd when the
// starter opened it), "ready" or the build error, then "serve". One module
// owns this wire format.
#include <optional>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "image/image_metadata.hpp"
#include "wireup/launch_spec.hpp"

namespace hl::wireup {

// The holder's end of the control socket in `hpclaunch-node holder`.
inline constexpr int kHolderControlFd = 3;
// The listening rendezvous socket a companion task hands its daemon holder
// (`hpclaunch-node companion-holder`).
inline constexpr int kCompanionListenerFd = 3;

// What rank 0 of the node step prints (after "hpclaunch: NODE: ") once every
// node's holder serves: from then on ranks may be inside containers.
inline constexpr const char* kContainersReadyLine = "containers ready on";
// The serve gate (kServeGateVariable=stdin in launch_spec.hpp, set by the front end):
// after the fence, every node step prints "hpclaunch-node-ready RANK SIZE" and
// lets its holder serve only once the front end, having seen every node's
// line, writes "go" to the step's stdin (srun --input=all; not under mpirun,
// whose --stdin all delivers nothing in Open MPI 4.1.4). A fence whose
// completion only some nodes saw (Slurm's PMIx plugin can lose a node's
// contribution) then leaves no rank inside a container, and a node step
// started again meets none.
inline constexpr const char* kNodeReadyLine = "hpclaunch-node-ready";
inline constexpr const char* kGoLine = "go";

struct HolderRequest {
  LaunchSpec launch;
  image::ImageMetadata image;  // what the first node read: the others compare, never stat
  UniqueFd image_fd;           // set when the starter opened the image itself
};

void send_request(int control, const HolderRequest& request);
// nullopt: the starter went away first (it failed or was stopped; it says why itself).
std::optional<HolderRequest> receive_request(int control);

void send_ready(int control);
void send_failure(int control, const Error& error);
// Returns once the holder is ready; throws its build error, or that it died.
void await_ready(int control);

// Once every node is ready: the holder may let ranks in. `detach`: from now
// on the holder serves its ranks to the end even if the starter dies (the
// node step: a crash there must not take FUSE from running ranks); without
// it the starter is the job (the front end on one machine), and its death
// stops the holder and its ranks.
void send_serve(int control, bool detach);
// nullopt when the starter closed the socket instead (a node failed);
// otherwise the `detach` it sent.
std::optional<bool> await_serve(int control);

}  // namespace hl::wireup
