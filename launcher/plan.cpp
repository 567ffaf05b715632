#include "launcher/plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "image/mount_plan.hpp"
#include "wireup/join_protocol.hpp"
#include "launcher/hostlist.hpp"
#include "launcher/named.hpp"
#include "launcher/plan_serving.hpp"
#include "wireup/rendezvous.hpp"

namespace hl::launcher {
namespace {

constexpr int kMaxTasks = 1 << 24;

// The front end's own directory of this launch (Open MPI session dirs).
std::string front_end_dir(const LaunchContext& c, const LaunchPlan& p) {
  return fmt::format("{}/{}/{}", c.runtime_dir, p.spec.join.rendezvous_group, front_end_dir_name(c.host));
}

Launcher choose_launcher(const RunOptions& o, const EnvList& env) {
  bool in_allocation = !env_value(env, "SLURM_JOB_ID").empty();
  if (o.launcher == Launcher::automatic) return in_allocation ? Launcher::srun : Launcher::mpirun;
  if (o.launcher == Launcher::srun && !in_allocation) {
    throw Error("--launcher srun needs a Slurm allocation", "run inside sbatch or salloc, or use --launcher mpirun");
  }
  return o.launcher;
}

// A Slurm count variable as a number: it comes from the environment, which
// anyone running hpclaunch may have set to anything.
int slurm_count(const EnvList& env, const char* key) {
  return static_cast<int>(parse_integer(env_value(env, key), key, 1, kMaxTasks));
}

int choose_ntasks(const RunOptions& o, const EnvList& env) {
  if (o.ntasks) {
    if (*o.ntasks < 1) throw Error(fmt::format("-n must be at least 1 (got {})", *o.ntasks), "give -n 1 or more");
    return *o.ntasks;
  }
  if (env_value(env, "SLURM_JOB_ID").empty()) {
    throw Error("-n is required outside a Slurm allocation", "give the number of ranks, e.g. -n 4");
  }
  // Inside an allocation, like srun: the allocation's task count.
  for (auto key : {"SLURM_NTASKS", "SLURM_NPROCS", "SLURM_JOB_NUM_NODES"}) {
    if (!env_value(env, key).empty()) return slurm_count(env, key);
  }
  return 1;
}

std::vector<std::string> mpirun_prefix(const RunOptions& o, const LaunchContext& c) {
  std::vector<std::string> cmd = {"mpirun", "--bind-to", "none"};
  if (c.uid == 0) cmd.push_back("--allow-run-as-root");
  if (!o.hostfile.empty()) {
    cmd.push_back("--hostfile");
    cmd.push_back(absolute_path(o.hostfile, c.cwd));
  }
  return cmd;
}

// What each rank runs: its join spec travels in the app step's environment.
std::vector<std::string> join_command(const RunOptions& o, const LaunchContext& c) {
  std::vector<std::string> cmd = {dirname_of(c.self) + "/hpclaunch-join", "--"};
  cmd.insert(cmd.end(), o.command.begin(), o.command.end());
  return cmd;
}

void plan_mpirun(const RunOptions& o, const LaunchContext& c, LaunchPlan& p, const std::vector<std::string>& node_cmd) {
  // Open MPI passes a variable to remote nodes only when named with -x.
  p.node_step = mpirun_prefix(o, c);
  p.node_step.insert(p.node_step.end(), {"--map-by", "ppr:1:node", "--stdin", "none", "-x", wireup::kLaunchSpecVariable,
                                         "-x", wireup::kImageIdentityVariable});
  p.node_step.insert(p.node_step.end(), node_cmd.begin(), node_cmd.end());
  // Two mpiruns starting at once race to mkdir the same session dir
  // (/tmp/ompi.HOST.UID: "File exists"), and a signalled mpirun leaves its
  // session dir behind: each step gets its own, in the front end's private
  // directory of this launch (which the containers bind), removed with it.
  for (auto [step, env] : {std::pair{"node", &p.node_env}, std::pair{"app", &p.app_env}}) {
    env->emplace_back("OMPI_MCA_orte_top_session_dir", fmt::format("{}/ompi-{}", front_end_dir(c, p), step));
  }
  // mpirun waits 1 s between SIGCONT, SIGTERM and SIGKILL even for ranks
  // that already exited; the node step handles SIGTERM at once.
  p.node_env.emplace_back("OMPI_MCA_odls_base_sigkill_timeout", "0");
  p.app_step = mpirun_prefix(o, c);
  p.app_step.insert(p.app_step.end(),
                    {"-n", std::to_string(p.ntasks), "--oversubscribe", "-x", wireup::kJoinSpecVariable});
  // Its "Primary job terminated normally ..." banners repeat what our exit code says.
  if (!o.verbose) p.app_step.insert(p.app_step.end(), {"--mca", "orte_execute_quiet", "1"});
  auto join = join_command(o, c);
  p.app_step.insert(p.app_step.end(), join.begin(), join.end());
  // Open MPI busy-polls; with more ranks than cores one step costs 250x more.
  if (o.hostfile.empty() && p.ntasks > c.local_cpus) p.step_env.emplace_back("OMPI_MCA_mpi_yield_when_idle", "1");
  if (!env_value(c.env, "SLURM_JOB_ID").empty()) {
    // Open MPI 4.1 starts its daemons with srun without --overlap: two
    // mpiruns in one allocation would wait for each other forever.
    p.step_env.emplace_back("OMPI_MCA_plm_slurm_args", "--overlap");
  }
}

// Nodes the app step will use: -N, else the allocation's, but never more
// than ranks (srun shrinks the step; a holder without ranks would wait).
int srun_node_count(const RunOptions& o, const LaunchContext& c, int ntasks) {
  if (o.nodes) {
    if (*o.nodes < 1) throw Error(fmt::format("-N must be at least 1 (got {})", *o.nodes));
    return *o.nodes;
  }
  int count = 1;
  for (auto key : {"SLURM_JOB_NUM_NODES", "SLURM_NNODES"}) {
    if (!env_value(c.env, key).empty()) {
      count = slurm_count(c.env, key);
      break;
    }
  }
  if (o.ntasks_per_node && *o.ntasks_per_node > 0)
    count = std::min(count, (ntasks + *o.ntasks_per_node - 1) / *o.ntasks_per_node);
  return std::max(1, std::min(count, ntasks));
}

void plan_srun(const RunOptions& o, const LaunchContext& c, LaunchPlan& p, const std::vector<std::string>& node_cmd) {
  std::string nodes = std::to_string(srun_node_count(o, c, p.ntasks));
  // Explicit -n with -N: srun otherwise inherits the batch script's task count.
  p.node_step = {
      "srun",        "--overlap", "-N", nodes, "-n", nodes, "--ntasks-per-node=1", "--mpi=pmix", "--kill-on-bad-exit=1",
      "--input=all",  // the serve gate (node_step_side.cpp)
      "--quiet"};
  if (c.slurm_binds_tasks) p.node_step.push_back("--cpu-bind=none");
  // Fewer nodes than the allocation: srun picks them per step, so the
  // holders and the ranks could land on different nodes. --relative=0 makes
  // both steps start at the allocation's first node.
  bool subset =
      !env_value(c.env, "SLURM_JOB_NUM_NODES").empty() && std::stoi(nodes) < slurm_count(c.env, "SLURM_JOB_NUM_NODES");
  if (subset) p.node_step.insert(p.node_step.begin() + 1, "--relative=0");
  p.node_step.insert(p.node_step.end(), node_cmd.begin(), node_cmd.end());
  p.app_step = {"srun", "--overlap", "-N", nodes, "-n", std::to_string(p.ntasks), "--mpi=pmix", "--kill-on-bad-exit=1"};
  if (subset) p.app_step.push_back("--relative=0");
  if (!o.cpu_bind.empty()) {
    p.app_step.push_back("--cpu-bind=" + o.cpu_bind);
  } else if (c.slurm_binds_tasks) {
    p.app_step.push_back("--cpu-bind=none");  // we bind each rank ourselves
  }
  if (o.ntasks_per_node) p.app_step.push_back(fmt::format("--ntasks-per-node={}", *o.ntasks_per_node));
  if (o.cpus_per_task) p.app_step.push_back(fmt::format("--cpus-per-task={}", *o.cpus_per_task));
  if (!o.distribution.empty()) p.app_step.push_back("--distribution=" + o.distribution);
  // srun's notes ("cluster configuration lacks support for cpu binding") are not the app's output.
  if (!o.verbose) p.app_step.push_back("--quiet");
  auto join = join_command(o, c);
  p.app_step.insert(p.app_step.end(), join.begin(), join.end());
}

// HPCLAUNCH_NODE_STEP_WRAPPER (tests only): words put before the node step's
// command on every node, e.g. "strace -ff -o /tmp/t/trace" to count its stats.
std::vector<std::string> node_command(const LaunchContext& c) {
  std::vector<std::string> cmd;
  for (auto& word : split(env_value(c.env, "HPCLAUNCH_NODE_STEP_WRAPPER"), ' ')) {
    if (!word.empty()) cmd.push_back(word);
  }
  cmd.insert(cmd.end(), {dirname_of(c.self) + "/hpclaunch-node", "step"});
  return cmd;
}

// The job's only node is this machine: mpirun without a hostfile outside
// Slurm, or a one-node allocation whose node runs us (the batch script).
// HPCLAUNCH_NODE_STEP=always (tests, benchmarks) keeps the node step.
bool only_node_is_here(const RunOptions& o, const LaunchContext& c, Launcher launcher, int ntasks) {
  if (env_value(c.env, "HPCLAUNCH_NODE_STEP") == "always") return false;
  bool in_allocation = !env_value(c.env, "SLURM_JOB_ID").empty();
  if (launcher == Launcher::mpirun) return o.hostfile.empty() && !in_allocation;
  return env_value(c.env, "SLURM_JOB_NUM_NODES") == "1" && env_value(c.env, "SLURMD_NODENAME") == c.host &&
         srun_node_count(o, c, ntasks) == 1;
}

// Where a named container must exist for this launch: this machine, or
// the first nodes of the allocation (both steps use --relative=0 there).
void plan_named(const RunOptions& o, const LaunchContext& c, LaunchPlan& p) {
  if (!o.hostfile.empty()) {
    throw Error("--name with --hostfile: named containers live in a Slurm job or on one machine",
                "drop --hostfile, or launch inside sbatch/salloc");
  }
  if (p.launcher == Launcher::mpirun) {
    if (!p.local_holder) throw Error("--name with --launcher mpirun inside an allocation", "use --launcher srun");
    p.app_nodes = {c.host};
    return;
  }
  // In a job even the only node gets a node step: Slurm ends it with the
  // job, which is what keeps a named container's holders from leaking.
  p.local_holder = false;
  auto all = expand_hostlist(env_value(c.env, "SLURM_JOB_NODELIST"));
  std::size_t count = static_cast<std::size_t>(srun_node_count(o, c, p.ntasks));
  if (all.size() < count)
    throw Error(fmt::format("SLURM_JOB_NODELIST names {} nodes, the launch needs {}", all.size(), count));
  p.app_nodes.assign(all.begin(), all.begin() + static_cast<long>(count));
}

// `--image docker://...`: a registry reference, not a file; say so instead
// of "does not exist" (importing belongs to `hpclaunch import`).
void check_image_reference(const std::string& image) {
  auto scheme = image.find("://");
  if (scheme == std::string::npos) return;
  std::string kind = image.substr(0, scheme);
  if (kind == "docker") {
    // `hpclaunch run` imports it before planning; companion tasks cannot
    // (one import per task would be one per node and more).
    throw Error(fmt::format("--image `{}` is a registry image, not a file", image),
                fmt::format("import it once: hpclaunch import -o IMAGE.sqsh {}, then --image IMAGE.sqsh (hpclaunch "
                            "run does this itself)",
                            image));
  }
  throw Error(fmt::format("--image `{}`: `{}://` images are not supported", image, kind),
              "give a squashfs file, or import docker:// images with hpclaunch import");
}

image::CommandOptions command_options(const RunOptions& o) {
  if (!o.entrypoint.empty() && o.no_entrypoint) {
    throw Error("--entrypoint and --no-entrypoint together", "give one of them");
  }
  if (o.entrypoint_wrap && o.no_entrypoint) {
    throw Error("--entrypoint-wrap and --no-entrypoint together", "give one of them");
  }
  image::CommandOptions command;
  command.command = o.command;
  if (!o.entrypoint.empty()) {
    command.entrypoint = image::EntrypointMode::replace;
    command.entrypoint_program = o.entrypoint;
  } else if (o.no_entrypoint) {
    command.entrypoint = image::EntrypointMode::none;
  }
  command.wrap = o.entrypoint_wrap;
  return command;
}

// A --mount at a target the site fixed (mounts.d with x-fixed).
void check_fixed_mounts(const RunOptions& o, const LaunchContext& c) {
  for (const auto& text : o.mounts) {
    image::MountSpec m = image::parse_mount_option(text, c.cwd, c.env);
    for (const auto& [target, origin] : o.site.fixed_mounts) {
      if (m.target == target) {
        throw Error(fmt::format("--mount `{}`: the mount at `{}` is fixed by the site configuration ({})", text, target,
                                origin),
                    "choose another target");
      }
    }
  }
}

}  // namespace

std::vector<std::string> node_step_on(const LaunchPlan& plan, const std::vector<std::string>& nodes) {
  std::vector<std::string> cmd;
  std::string count = std::to_string(nodes.size());
  for (std::size_t i = 0; i < plan.node_step.size(); ++i) {
    const std::string& word = plan.node_step[i];
    if (word == "--relative=0") continue;
    cmd.push_back(word);
    if ((word == "-N" || word == "-n") && i + 1 < plan.node_step.size()) {
      cmd.push_back(count);
      ++i;
    }
    if (word == "--overlap") cmd.insert(cmd.end(), {"-w", fmt::format("{}", fmt::join(nodes, ","))});
  }
  return cmd;
}

std::pair<std::string, std::string> parse_env_option(const std::string& text) {
  auto kv = split_assignment(text);
  if (!kv) throw Error(fmt::format("--env `{}`: expected KEY=VALUE", text), "e.g. --env OMP_NUM_THREADS=2");
  return *kv;
}

std::string front_end_dir_name(const std::string& host) { return "front-" + host; }

std::string_view to_string(Launcher launcher) {
  switch (launcher) {
    case Launcher::automatic:
      return "auto";
    case Launcher::mpirun:
      return "mpirun";
    case Launcher::srun:
      return "srun";
  }
  return "auto";
}

Launcher parse_launcher(std::string_view text) {
  for (auto l : {Launcher::automatic, Launcher::mpirun, Launcher::srun}) {
    if (text == to_string(l)) return l;
  }
  throw Error(fmt::format("--launcher `{}` is not known", text), "use auto, mpirun or srun");
}

wireup::LaunchSpec make_launch_spec(const RunOptions& o, const LaunchContext& c) {
  // A launch into an existing named container needs no image: its record has it.
  if (o.image.empty() && o.name.empty()) {
    throw Error("--image is required", "give the squashfs image: --image app.sqsh");
  }
  check_image_reference(o.image);
  if (o.join_timeout_s < 1) throw Error("--join-timeout must be at least 1 second");
  wireup::LaunchSpec spec;
  image::ContainerSpec& container = spec.container;
  if (!o.image.empty()) container.image = absolute_path(o.image, c.cwd);  // lexical only: one node stats it
  container.workdir = o.workdir.empty() ? c.cwd : absolute_path(o.workdir, c.cwd);
  container.workdir_given = !o.workdir.empty();
  container.command = command_options(o);
  image::MountInputs mounts;
  mounts.user_mounts = o.mounts;
  mounts.cwd = c.cwd;
  mounts.home = env_value(c.env, "HOME");
  mounts.workdir = container.workdir;
  mounts.tmpdir = env_value(c.env, "TMPDIR");
  mounts.env = c.env;
  mounts.no_home = o.no_home;
  mounts.contain = o.contain;
  mounts.config_mounts = o.site.mounts;
  container.mounts = image::plan_mounts(mounts);
  check_fixed_mounts(o, c);
  container.hooks = o.site.hooks;
  wireup::JoinSpec& join = spec.join;
  std::string job = env_value(c.env, "SLURM_JOB_ID");
  join.rendezvous_group = wireup::launch_group(job, c.nonce);
  if (!o.name.empty()) {
    validate_container_name(o.name);
    spec.named = wireup::NamedSpec{o.name, !job.empty(), o.idle_timeout_s};
    join.rendezvous_group = wireup::named_group(c.env, o.name);
  }
  join.timeout_s = o.join_timeout_s;
  join.workdir = container.workdir;
  join.workdir_given = container.workdir_given;
  for (const auto& e : o.env) {
    auto kv = parse_env_option(e);
    for (const auto& [key, origin] : o.site.fixed_env) {
      if (key == kv.first) {
        throw Error(fmt::format("--env `{}`: `{}` is fixed by the site configuration ({})", e, key, origin),
                    fmt::format("leave --env {}=... out", key));
      }
    }
    join.user_env.push_back(std::move(kv));
  }
  container.hook_env = join.user_env;
  join.site_env = o.site.env;
  join.cleanenv = o.cleanenv;
  for (const auto& pattern : o.unset_env) wireup::check_unset_pattern(pattern);
  join.unset_env = o.unset_env;
  join.command = container.command;
  join.command.command.clear();  // each rank's hpclaunch-join has it
  join.report_bindings = o.report_bindings;
  join.binding = devices::BindingOptions{o.bind, o.gpus, o.cpus_per_task.value_or(0)};
  join.root = container.root = o.root;
  container.writable = o.writable;
  spec.serving = plan_serving(o, c);
  spec.verbose = o.verbose;
  if (auto text = env_value(c.env, "HPCLAUNCH_FENCE_TIMEOUT"); !text.empty()) {
    spec.fence_timeout_s = static_cast<int>(parse_integer(text, "HPCLAUNCH_FENCE_TIMEOUT (seconds)", 1, 3600));
  }
  return spec;
}

LaunchPlan make_plan(const RunOptions& o, const LaunchContext& c) {
  LaunchPlan p;
  p.spec = make_launch_spec(o, c);
  p.launcher = choose_launcher(o, c.env);
  p.ntasks = choose_ntasks(o, c.env);
  p.local_holder = only_node_is_here(o, c, p.launcher, p.ntasks);
  if (!o.name.empty()) plan_named(o, c, p);
  // For the default count of serving threads (the node's own ranks decide where known).
  int nodes = p.launcher == Launcher::srun ? srun_node_count(o, c, p.ntasks) : (o.hostfile.empty() ? 1 : 0);
  p.spec.serving.ranks_per_node = ranks_per_node(o, p.ntasks, nodes);
  auto node_cmd = node_command(c);
  if (p.launcher == Launcher::mpirun) {
    plan_mpirun(o, c, p, node_cmd);
  } else {
    plan_srun(o, c, p, node_cmd);
  }
  p.stage = plan_stage_target(o, c, p.launcher, p.local_holder, nodes, p.spec.join.rendezvous_group);
  if (p.local_holder) {
    p.node_step.clear();
    p.node_env.clear();
  } else {
    p.node_env.emplace_back(wireup::kLaunchSpecVariable, wireup::encode(p.spec));
  }
  p.app_env.emplace_back(wireup::kJoinSpecVariable, wireup::encode(p.spec.join));
  if (c.uid == 0) {
    p.step_env.emplace_back("OMPI_ALLOW_RUN_AS_ROOT", "1");
    p.step_env.emplace_back("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
  }
  return p;
}

void set_staged_path(LaunchPlan& p, const std::string& path) {
  p.spec.serving.staged_path = path;
  for (auto& [key, value] : p.node_env) {
    if (key == wireup::kLaunchSpecVariable) value = wireup::encode(p.spec);
  }
}

nlohmann::json plan_to_json(const LaunchPlan& p) {
  return {{"launcher", to_string(p.launcher)},
          {"ntasks", p.ntasks},
          {"node_step", p.node_step},
          {"app_step", p.app_step},
          {"step_env", p.step_env},
          {"node_env", p.node_env},
          {"app_env", p.app_env},
          {"image", p.spec.container.image},
          {"mounts", p.spec.container.mounts},
          {"rendezvous", p.spec.join.rendezvous_group},
          {"launch_spec", p.spec}};
}

std::string plan_to_text(const LaunchPlan& p) {
  std::string out =
      fmt::format("launcher: {} ({} tasks)\nimage: {}\n", to_string(p.launcher), p.ntasks, p.spec.container.image);
  out += p.local_holder ? "node step: none (the only node is this one: hpclaunch starts its holder itself)\n"
                        : fmt::format("node step: {}\n", fmt::join(p.node_step, " "));
  out += fmt::format("app step:  {}\n", fmt::join(p.app_step, " "));
  out += "environment of both steps:\n";
  // The specs are long JSON (--json shows them whole).
  auto shown = [](const std::string& key, const std::string& value) {
    return key.starts_with("HPCLAUNCH_INTERNAL_") ? fmt::format("<{} bytes of JSON>", value.size()) : value;
  };
  for (const auto& [k, v] : p.step_env) out += fmt::format("  {}={}\n", k, shown(k, v));
  for (const auto& [k, v] : p.node_env) out += fmt::format("  {}={}  (node step only)\n", k, shown(k, v));
  for (const auto& [k, v] : p.app_env) out += fmt::format("  {}={}  (app step only)\n", k, shown(k, v));
  out +=
      "container mounts (plus /dev: null zero full random urandom tty pts shm; plus PMIx session dirs found on each "
      "node):\n";
  for (const auto& m : p.spec.container.mounts) {
    out += fmt::format("  {} -> {}{}{}  [{}]\n", m.source, m.target, m.read_only ? " ro" : "",
                       m.optional ? " (if present)" : "", m.origin);
  }
  const auto& command = p.spec.container.command;
  out += command.command.empty() ? "command: the image's Entrypoint and Cmd\n"
                                 : fmt::format("command: {}\n", fmt::join(command.command, " "));
  for (const auto& [k, v] : p.spec.join.site_env) out += fmt::format("environ.d: {}={}\n", k, v);
  for (const auto& h : p.spec.container.hooks) out += fmt::format("hook: {}  [{}]\n", h.name, h.origin);
  out += fmt::format("rendezvous: <runtime dir>/{}/<node>/rendezvous\n", p.spec.join.rendezvous_group);
  out += fmt::format("stage: {} ({})\n", image::describe_stage(p.spec.serving), describe_stage_target(p.stage));
  out += fmt::format("fuse threads per node: {}\n", p.spec.serving.fuse_threads > 0
                                                        ? std::to_string(p.spec.serving.fuse_threads)
                                                        : "one per local rank, at most its cpus and 4");
  return out;
}

}  // namespace hl::launcher
