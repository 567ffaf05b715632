// hpclaunch-import: `hpclaunch import ARGS` execs this binary (found next to
// hpclaunch) with argv[0] "import", so that hpclaunch itself never loads curl,
// OpenSSL and libarchive. Run directly, it takes the same arguments.
#include "common/main_guard.hpp"
#include "import/import_command.hpp"

int main(int argc, char** argv) {
  return hl::run_main([&] { return hl::import::run_import_command(argc, argv); });
}
