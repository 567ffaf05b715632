#pragma once
// `hpclaunch run --image docker://REF`: the front end imports the image once
// per job (hpclaunch-import, its progress shown as `hpclaunch import` shows
// it) into the run cache and launches the squashfs it wrote; the nodes only
// ever see a file. Re-running re-checks the manifest (the import's image
// cache makes an unchanged image a link, well under a second).
#include <optional>
#include <string>
#include <string_view>

#include "common/env.hpp"

namespace hl::launcher {

// Whether --image names a registry image rather than a file.
bool is_registry_reference(std::string_view image);

// Pure: where the run cache keeps REF's squashfs:
// ${XDG_CACHE_HOME:-$HOME/.cache}/hpclaunch/run/<REF with / : @ as +>.sqsh.
// Throws hl::Error when neither variable is set.
std::string run_cache_path(std::string_view reference, const EnvList& env);

// Runs hpclaunch-import -f -o PATH [--insecure] REF. Returns its exit code
// (0: PATH is the image); a failing import has printed its one-line error.
int import_for_run(const std::string& reference, const std::string& path, bool insecure);

}  // namespace hl::launcher
