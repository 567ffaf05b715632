#pragma once
// The image's own run configuration and what a rank runs. The holder reads
// it inside the image root (never the front end, which does not open images
// on the shared file system): `/.hpclaunch/config.json` written by
// `hpclaunch import` (the OCI config's Entrypoint, Cmd, WorkingDir, User;
// its Env is in /etc/environment), or an enroot image's `/etc/rc` (enroot's
// entrypoint script: it changes to the working directory and runs the
// entrypoint with the command). Pure: unit-tested and fuzzed.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hl::image {

enum class ImageKind { plain, hpclaunch, enroot };
NLOHMANN_JSON_SERIALIZE_ENUM(ImageKind, {{ImageKind::plain, "plain"},
                                         {ImageKind::hpclaunch, "hpclaunch"},
                                         {ImageKind::enroot, "enroot"}})

struct ImageConfig {
  ImageKind kind = ImageKind::plain;
  std::vector<std::string> entrypoint;  // enroot: /bin/sh /etc/rc
  std::vector<std::string> cmd;
  std::string workdir;  // "" for none
  std::string user;     // "" for none
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ImageConfig, kind, entrypoint, cmd, workdir, user)

// How a rank's command is made (like docker run, and pyxis'
// --container-entrypoint for wrapping a given program):
//
//   options              no PROGRAM          PROGRAM ARGS
//   (default)            Entrypoint + Cmd    PROGRAM ARGS
//   --entrypoint-wrap    Entrypoint + Cmd    Entrypoint + PROGRAM ARGS
//   --entrypoint E       E                   E PROGRAM ARGS
//   --no-entrypoint      Cmd                 PROGRAM ARGS
enum class EntrypointMode { image, replace, none };
NLOHMANN_JSON_SERIALIZE_ENUM(EntrypointMode, {{EntrypointMode::image, "image"},
                                              {EntrypointMode::replace, "replace"},
                                              {EntrypointMode::none, "none"}})

struct CommandOptions {
  std::vector<std::string> command;  // PROGRAM ARGS as given, may be empty
  EntrypointMode entrypoint = EntrypointMode::image;
  std::string entrypoint_program;  // with EntrypointMode::replace
  bool wrap = false;               // --entrypoint-wrap
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CommandOptions, command, entrypoint, entrypoint_program, wrap)

// The image's files as read (nullopt: absent) into its configuration.
// Throws hl::Error naming `image` when config.json is not what import writes.
ImageConfig image_config_from_files(const std::optional<std::string>& config_json,
                                    const std::optional<std::string>& etc_rc, const std::string& image);

// The rank's argv. Throws hl::Error when it comes out empty (no PROGRAM and
// an image without Entrypoint or Cmd), naming the image and the fix.
std::vector<std::string> rank_command(const ImageConfig& config, const CommandOptions& options,
                                      const std::string& image);

// One line when the image's User cannot be honoured ("" when it can: none,
// or root with --root): an unprivileged container maps one uid, yours.
std::string user_warning(const ImageConfig& config, bool root, unsigned uid, const std::string& image);

}  // namespace hl::image
