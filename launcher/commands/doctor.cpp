// hpclaunch doctor: whether launches can work on this node, and if not what
// to fix. The checks, their verdicts and the report are doctor/ (pure, unit
// tested); the probes run here (doctor/host_probes) and in hpclaunch-node
// (doctor/node_probes: what unshares and mounts, in forked children).
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/cli_parse.hpp"
#include "common/strings.hpp"
#include "doctor/checks.hpp"
#include "doctor/host_probes.hpp"
#include "doctor/report.hpp"
#include "launcher/commands/commands.hpp"
#include "launcher/plan.hpp"

#ifndef HPCLAUNCH_VERSION
#define HPCLAUNCH_VERSION "unknown"
#endif

namespace hl::launcher {
namespace {

constexpr const char* kDoctorFooter = R"(
Each check is required (req: launches cannot work until it passes) or
informational (info: versions, and restrictions that may matter). Exit status:
0 when every required check passes (ok, WARN or skip), 1 otherwise. The probes
that create user namespaces or mount run in short-lived child processes of
hpclaunch-node, the binary that does so in a launch: nothing is left behind.

With --image, the image is opened (superblock, size) and its container is built
once as a launch would build it (mounts included), then torn down.

Examples:
  hpclaunch doctor
  hpclaunch doctor --image app.sqsh
  hpclaunch doctor --json | jq '.checks[] | select(.result == "fail")')";

// The launch a `hpclaunch run --image IMG` would plan here; its program is
// not looked up (the container is only built).
void plan_image_launch(const std::string& image, doctor::HostProbeRequest& request) {
  RunOptions options;
  options.image = image;
  options.command = {"true"};
  try {
    wireup::LaunchSpec spec = make_launch_spec(options, this_context());
    spec.container.skip_program_check = true;
    request.launch_spec = wireup::encode(spec);
  } catch (const Error& e) {
    request.plan_failure = doctor::failure(e);
  }
}

}  // namespace

int doctor_command(int argc, char** argv) {
  CLI::App app{"hpclaunch doctor: check that this node can run hpclaunch, and say how to fix what is missing",
               "hpclaunch doctor"};
  bool json = false;
  std::string image;
  app.add_flag("--json", json, "print one JSON object with every check");
  app.add_option("--image", image, "also check that this squashfs image opens and mounts")->type_name("IMAGE");
  app.footer(kDoctorFooter);
  if (!parse_command_line(app, argc, argv, "hpclaunch doctor")) return 0;

  doctor::HostProbeRequest request;
  request.env = environment_of_this_process();
  request.cwd = current_directory();
  request.image = image;
  if (!image.empty()) plan_image_launch(image, request);
  auto checks = doctor::evaluate(doctor::probe_host(request));
  doctor::ReportHeader header{HPCLAUNCH_VERSION, host_name()};
  if (json) {
    fmt::print("{}\n", doctor::render_json(header, checks).dump(2));
  } else {
    fmt::print("{}", doctor::render_table(header, checks));
  }
  return doctor::launches_can_work(checks) ? 0 : 1;
}

}  // namespace hl::launcher
