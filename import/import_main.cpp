// hpclaunch-import: `hpclaunch import ARGS` execs this binary (found next to
// hpclaunch) with argv[0] "import", so that hpclaunch itself never loads curl,
// OpenSSL and libarchive. Run directly, it takes the same arguments.
#include "common/main_guard.hpp"
#include <string_view>

#include "import/import_command.hpp"
#include "import/save/save_command.hpp"

int main(int argc, char** argv) {
  return hl::run_main([&] {
    // `hpclaunch save ...` execs us with argv[0] "save".
    if (argc > 0 && std::string_view(argv[0]) == "save") return hl::import::run_save_command(argc, argv);
    if (argc > 1 && std::string_view(argv[1]) == "save") return hl::import::run_save_command(argc - 1, argv + 1);
    return hl::import::run_import_command(argc, argv);
  });
}
