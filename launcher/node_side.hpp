#pragma once
// What builds and holds the containers while the app step runs: the node
// step (one task per node, through srun or mpirun), or — when the job's only
// node is this machine — a holder the front end starts itself, with no
// second launcher at all. The front end's loop (frontend.cpp) drives either.
#include <poll.h>

#include <memory>
#include <optional>
#include <vector>

#include "common/child_process.hpp"
#include "common/env.hpp"
#include "launcher/plan.hpp"
#include "launcher/step_output.hpp"

namespace hl::launcher {

class NodeSide {
 public:
  virtual ~NodeSide() = default;
  virtual void start() = 0;
  // Its fds for the front end's poll (added at the end of `fds`).
  virtual void add_pollfds(std::vector<pollfd>& fds) const = 0;
  // After a poll (`mine` = its entries): nullopt to go on, or the launch's
  // exit code when the containers cannot come (the caller stops the app step).
  virtual std::optional<int> on_events(const pollfd* mine, const ChildProcess& app, int signals) = 0;
  // The app step ended with `app_code`: wait for or release the holders,
  // report what the user needs to know; returns the launch's exit code.
  virtual int finish(int app_code) = 0;
  // SIGTERM to everything of it, then reap (the job is being stopped).
  virtual void stop(int grace_ms) = 0;
};

// "HPCLAUNCH_INTERNAL_IMAGE=<json>": the image's identity as the front end
// read it (the job's one stat, before any node step starts) for the node
// step's environment. The node steps open the image and compare; they need
// no fence to learn what it is.
std::string image_identity_assignment(const image::ImageMetadata& identity);

std::unique_ptr<NodeSide> make_node_step_side(const LaunchPlan& plan, const SpawnOptions& options, bool verbose);
std::unique_ptr<NodeSide> make_local_holder_side(const LaunchPlan& plan, const SpawnOptions& options, bool verbose);

// Shared by both: our own "hpclaunch:" lines of a step's output, each once.
void print_hpclaunch_lines(const std::string& output, bool (*wanted)(const std::string&));
bool is_warning_line(const std::string& line);
bool is_problem_line(const std::string& line);

}  // namespace hl::launcher
