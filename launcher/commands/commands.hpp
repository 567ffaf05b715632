#pragma once
// One function per `hpclaunch` subcommand, each in its own file; main.cpp
// holds the table. Each gets argv with the subcommand as argv[0].
namespace hl::launcher {

int run_command(int argc, char** argv);       // run.cpp: hpclaunch [run] ... PROGRAM
int exec_command(int argc, char** argv);      // exec.cpp: companion mode, one per task
int import_command(int argc, char** argv);    // tools.cpp: docker:// import (hpclaunch-import)
int topology_command(int argc, char** argv);  // tools.cpp: this node's topology (hpclaunch-node)
int doctor_command(int argc, char** argv);    // doctor.cpp: can launches work on this node
int config_command(int argc, char** argv);    // config.cpp: the effective site and user configuration
int version_command(int argc, char** argv);   // tools.cpp
int ps_command(int argc, char** argv);        // named_commands.cpp: named containers here
int stop_command(int argc, char** argv);      // named_commands.cpp: stop one
int save_command(int argc, char** argv);      // named_commands.cpp: one node's container as a .sqsh (hpclaunch-import)

}  // namespace hl::launcher
