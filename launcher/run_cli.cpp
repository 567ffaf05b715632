#include "launcher/run_cli.hpp"

#include <CLI/CLI.hpp>

#include "common/cli_parse.hpp"
#include "launcher/plan.hpp"
#include "launcher/site_config.hpp"

namespace hl::launcher {
namespace {

constexpr const char* kRunFooter = R"(
Other commands (exec, import, topology, ps, stop, save, doctor, version):
  hpclaunch help                                one line each; `hpclaunch help COMMAND` for its options

Examples:
  hpclaunch -n 4 --image build/examples/solver.sqsh solver --steps 200
  hpclaunch -n 2 --image app.sqsh --env OMPI_MCA_btl_vader_single_copy_mechanism=cma pingpong
  hpclaunch -n 8 --image app.sqsh --mount /scratch/$USER:/data --workdir /data ./run.sh
  hpclaunch --dry-run -n 512 --image app.sqsh ./solver     # print the plan, run nothing
  hpclaunch -n 4 --image app.sqsh                         # the image's Entrypoint and Cmd

Defaults for any long option: hpclaunch.conf in $HPCLAUNCH_CONFIG_DIR (or
/etc/hpclaunch) and ~/.config/hpclaunch; `hpclaunch config` shows them.

Inside sbatch/salloc hpclaunch launches with srun (-n defaults to the
allocation's task count); elsewhere with Open MPI's mpirun on this machine
(or --hostfile).)";

constexpr const char* kExecFooter = R"(
Companion mode: srun (or mpirun) starts hpclaunch as every task; the first
task on each node starts the node's container holder and every task joins
it. The task count, layout and binding are the launcher's.

Examples:
  srun -n 64 hpclaunch exec --image app.sqsh ./solver
  mpirun -n 4 hpclaunch exec --image app.sqsh --env OMP_NUM_THREADS=2 ./solver)";

// What the container is and how each rank runs in it: run and exec alike.
void add_container_options(CLI::App& app, RunOptions& o) {
  app.prefix_command();  // everything from PROGRAM on belongs to the program
  app.add_option(
      "--image", o.image,
      "squashfs image to run in, or docker://REF (run: imported once; with --name: only to make the container)");
  app.add_option(
         "--mount", o.mounts,
         "bind SRC (host) at DST (options ro, rw, rbind, nofail, x-create=dir|file), or an fstab line; repeatable")
      ->type_name("SRC:DST[:OPTS]")
      ->allow_extra_args(false);  // one value per --mount: the program follows
  app.add_option("--env", o.env, "set a variable for the ranks; wins over the image's; repeatable")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.add_option("--workdir", o.workdir,
                 "directory the ranks start in (default: the image's WorkingDir, else the current one)");
  app.add_option("--entrypoint", o.entrypoint, "run PROG as the image's entrypoint instead of its own")
      ->type_name("PROG");
  app.add_flag("--no-entrypoint", o.no_entrypoint, "without a program run only the image's Cmd");
  app.add_flag("--entrypoint-wrap", o.entrypoint_wrap, "with a program: run it through the image's entrypoint");
  app.add_flag("--cleanenv", o.cleanenv,
               "the ranks get only the image's variables, the launcher's and TERM, HOME, USER, LANG, LC_*, TZ, TMPDIR");
  app.add_option("--unset-env", o.unset_env, "remove a variable (or every PREFIX*) from the ranks'; repeatable")
      ->type_name("NAME")
      ->allow_extra_args(false);
  app.add_flag("--no-home", o.no_home, "do not bind $HOME into the container");
  app.add_flag("--contain", o.contain, "a private /tmp and /var/tmp per node container instead of the host's");
  app.add_option("-c,--cpus-per-task", o.cpus_per_task, "cpus per rank");
  app.add_option_function<std::string>(
         "--bind", [&o](const std::string& v) { o.bind = devices::parse_bind_policy(v); },
         "where ranks run: auto spreads them over packages and NUMA nodes")
      ->check(CLI::IsMember({"auto", "core", "numa", "socket", "none"}))
      ->default_str("auto");
  app.add_option_function<std::string>(
         "--gpus", [&o](const std::string& v) { o.gpus = devices::parse_gpu_selection(v); },
         "GPUs in the container; per-rank sets CUDA_VISIBLE_DEVICES to the nearest")
      ->check(CLI::IsMember({"all", "none", "per-rank"}))
      ->default_str("all");
  app.add_flag("--report-bindings", o.report_bindings, "print each rank's cores, like mpirun --report-bindings");
  app.add_flag("--root", o.root, "be uid 0 inside, with chown, setuid & co. faked (to install software)");
  app.add_flag("--writable", o.writable, "accept writes anywhere in the container, the image's own files too");
  app.add_option("--name", o.name,
                 "keep the container under this name for later launches (for the job's life in Slurm)");
  app.add_option("--idle-timeout", o.idle_timeout_s, "outside Slurm: stop a named container after this long unused")
      ->default_val(600);
  app.add_option("--join-timeout", o.join_timeout_s, "seconds ranks and holders wait for each other")->default_val(120);
  app.add_option("--fuse-threads", o.fuse_threads,
                 "threads serving the image on each node (1: one, as before; default: from its ranks and cores)")
      ->check(CLI::Range(0, 64));
  app.add_flag("-v,--verbose", o.verbose, "show launcher output and what each node does");
}

// How hpclaunch itself lays the ranks out (run only).
void add_launch_options(CLI::App& app, RunOptions& o) {
  app.add_option("-n,--ntasks", o.ntasks, "number of ranks (default inside Slurm: the allocation's)");
  app.add_option_function<std::string>(
         "--launcher", [&o](const std::string& v) { o.launcher = parse_launcher(v); }, "how to start the steps")
      ->check(CLI::IsMember({"auto", "mpirun", "srun"}))
      ->default_str("auto");
  app.add_option("--hostfile", o.hostfile, "with mpirun: hosts to run on (default: this machine)");
  app.add_option("-N,--nodes", o.nodes, "with srun: number of nodes (default: the allocation's)");
  app.add_option("--ntasks-per-node", o.ntasks_per_node, "with srun: ranks per node");
  app.add_option("--distribution", o.distribution, "with srun: task distribution (block, cyclic, ...)");
  app.add_option("--cpu-bind", o.cpu_bind, "with srun: Slurm's binding instead of none");
  app.add_flag("--insecure", o.insecure,
               "with --image docker://...: talk plain HTTP to the registry (test registries)");
  app.add_option("--stage", o.stage,
                 "copy the image once per job to each node first: memory, a node-local DIR, none, or auto")
      ->type_name("auto|memory|DIR|none")
      ->default_str("auto");
  app.add_flag("--dry-run", o.dry_run, "print the plan (steps, commands, mounts, env) and exit");
  app.add_flag("--json", o.json, "machine-readable output (the plan with --dry-run, a summary otherwise)");
}

void make_run_app(CLI::App& app, RunOptions& o) {
  app.footer(kRunFooter);
  add_launch_options(app, o);
  add_container_options(app, o);
}

// The configuration files are read once the command line parsed (--help
// works whatever they say), then fill in what it did not give.
std::optional<RunOptions> parse(CLI::App& app, RunOptions& o, int argc, char** argv, const char* help_command) {
  if (!parse_command_line(app, argc, argv, help_command)) return std::nullopt;
  // The keys are run's long options, for exec too (a site's `launcher =`
  // must not break companion tasks, which just do not use it).
  RunOptions unused;
  CLI::App run_app;
  make_run_app(run_app, unused);
  config::SiteConfig config = load_site_config(option_table(run_app), environment_of_this_process());
  apply_config_options(app, config);
  o.command = app.remaining();
  if (!o.command.empty() && o.command.front() == "--") o.command.erase(o.command.begin());
  o.site = site_inputs(config);
  return o;
}

}  // namespace

std::optional<RunOptions> parse_run_options(int argc, char** argv) {
  RunOptions o;
  CLI::App app{"hpclaunch: run MPI ranks in one shared unprivileged container per node", "hpclaunch"};
  make_run_app(app, o);
  return parse(app, o, argc, argv, "hpclaunch");
}

std::string describe_effective_config(const EnvList& env) {
  RunOptions o;
  CLI::App app{"hpclaunch", "hpclaunch"};
  make_run_app(app, o);
  return config::describe_config(config::merge_config(config::read_config_sources(env), option_table(app), env));
}

std::optional<RunOptions> parse_exec_options(int argc, char** argv) {
  RunOptions o;
  CLI::App app{"hpclaunch exec: run as one task of srun or mpirun, in the node's shared container", "hpclaunch exec"};
  app.footer(kExecFooter);
  add_container_options(app, o);
  return parse(app, o, argc, argv, "hpclaunch exec");
}

}  // namespace hl::launcher
