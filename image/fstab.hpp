#pragma once
// fstab-style mount lines in enroot's dialect (its doc/image-format.md): the
// site's and the user's mounts.d/*.fstab and --mount values that hold a
// blank (an enroot image's own /etc/fstab is not applied: it would let an
// image choose host paths to bind). Pure: unit-tested and fuzzed.
//
//   SRC DST [TYPE [OPTIONS [FREQ [PASSNO]]]]
//
// DST is a path inside the container (a relative one counts from its /).
// TYPE is `none`, `bind` or `rbind` (a bind of the host path SRC) or `tmpfs`;
// fields may be left out where that is unambiguous, as enroot allows:
// `/proc /proc rbind` (a third field that is no type holds the options) and
// `tmpfs /tmp`. ${VAR} is the host's variable; an unset one is an error, or
// skips the line when it says `nofail`. FREQ and PASSNO are ignored (the
// plan mounts parents first).
//
// OPTIONS (comma separated, also after --mount SRC:DST:): ro, rw, bind
// (not recursive), rbind (the default), nofail (skip a missing source),
// x-create=dir|file|auto (what a missing target becomes), defaults; tmpfs
// also size=, mode=, nr_inodes=; site configuration also x-fixed (a user's
// configuration cannot replace the mount).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.hpp"
#include "image/mount_plan.hpp"

namespace hl::image {

struct FstabEntry {
  MountSpec mount;
  bool fixed = false;  // x-fixed
};

struct FstabContext {
  EnvList env;               // ${VAR} values
  std::string cwd;           // a relative SRC counts from here; "" refuses relative sources
  std::string origin;        // names the line in errors and in MountSpec::origin ("FILE:LINE")
  bool allow_fixed = false;  // x-fixed is meaningful (site configuration)
};

// nullopt for a blank or comment line, or a nofail line whose variable is
// unset. Throws hl::Error naming context.origin and the fix.
std::optional<FstabEntry> parse_fstab_line(std::string_view line, const FstabContext& context);

// Every line of `text`, each named "`file` line N" in errors and
// "file:N" as its origin.
std::vector<FstabEntry> parse_fstab(std::string_view text, const std::string& file, FstabContext context);

// Comma-separated options into `m` (kind and source already set); `fixed`
// null refuses x-fixed. `what` names the value in errors.
void apply_mount_options(std::string_view options, MountSpec& m, bool* fixed, std::string_view what);

// ${VAR} replaced by its value in `env`; nullopt (and the name in `missing`)
// when a variable is unset. A `$` not followed by `{` stays as it is.
std::optional<std::string> expand_variables(std::string_view text, const EnvList& env, std::string* missing);

}  // namespace hl::image
