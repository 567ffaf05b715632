#include "import/import_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/cli_parse.hpp"
#include "common/error.hpp"
#include "common/strings.hpp"
#include "import/registry/auth.hpp"
#include "import/registry/blob_cache.hpp"
#include "import/importer.hpp"
#include "import/interrupt.hpp"

namespace hl::import {
namespace {

constexpr const char* kFooter = R"(
IMAGE is docker://[USER@][REGISTRY#]IMAGE[:TAG|@sha256:DIGEST] (enroot's form) or
docker://[REGISTRY[:PORT]/]IMAGE[:TAG|@sha256:DIGEST]. Without a registry: Docker Hub.
USER@ picks the login in the credentials file, a netrc-like file of lines
  machine HOST[:PORT] login USER password PASS
that only you may read (chmod 600).

Layers are cached by digest in CACHE/blobs/sha256/, finished images by manifest
digest in CACHE/images/: importing the same image again only fetches its manifest.

Examples:
  hpclaunch import docker://ubuntu:22.04                     -> library+ubuntu+22.04.sqsh
  hpclaunch import docker://nvcr.io#nvidia/cuda:12.2.0-base-ubuntu22.04 -o cuda.sqsh
  hpclaunch import --insecure docker://127.0.0.1:5000/test/app:v1 --arch arm64
)";

std::string env_or_empty(const char* key) {
  const char* value = std::getenv(key);
  return value != nullptr ? value : "";
}

std::string temp_dir() {
  std::string dir = env_or_empty("TMPDIR");
  return dir.empty() ? "/tmp" : dir;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

ImportRequest make_request(const ImportOptions& o) {
  ImportRequest r;
  r.ref = parse_image_reference(o.uri);
  r.platform = parse_platform(o.arch.empty() ? host_architecture() : o.arch);
  std::string cwd = current_directory();
  r.output = absolute_path(o.output.empty() ? default_output_name(r.ref) : o.output, cwd);
  if (is_directory(r.output)) r.output += "/" + default_output_name(r.ref);  // -o DIR
  r.cache_dir = absolute_path(
      o.cache_dir.empty() ? default_cache_dir(std::getenv("XDG_CACHE_HOME"), std::getenv("HOME")) : o.cache_dir, cwd);
  r.registry.http.allow_plain_http = o.insecure;
  r.registry.http.stall_timeout_s = o.timeout_s;
  r.registry.credentials_path = o.credentials.empty()
                                    ? default_credentials_path(std::getenv("XDG_CONFIG_HOME"), std::getenv("HOME"))
                                    : o.credentials;
  r.registry.credentials = load_credentials(r.registry.credentials_path, !o.credentials.empty());
  r.build.tmp_dir = temp_dir();
  r.parallel = o.parallel;
  return r;
}

ProgressStyle progress_style(bool json) {
  if (json) return ProgressStyle::Json;
  return ::isatty(STDERR_FILENO) ? ProgressStyle::Bars : ProgressStyle::Lines;
}

}  // namespace

std::optional<ImportOptions> parse_import_options(int argc, char** argv) {
  ImportOptions o;
  CLI::App app{"hpclaunch import: a docker:// image into a squashfs file", "hpclaunch import"};
  app.footer(kFooter);
  app.add_option("image", o.uri, "docker://… reference")->required()->type_name("IMAGE");
  app.add_option("-o,--output", o.output,
                 "the .sqsh to write, or a directory for the default name (default: from the image name, here)")
      ->type_name("FILE");
  app.add_option("--arch", o.arch, "platform to pick from a multi-arch image (default: this machine's)")
      ->type_name("ARCH");
  app.add_option("--cache-dir", o.cache_dir,
                 "layer and image cache (default: $XDG_CACHE_HOME/hpclaunch or "
                 "~/.cache/hpclaunch)")
      ->type_name("DIR");
  app.add_option("--credentials", o.credentials, "credentials file (default: ~/.config/hpclaunch/credentials)")
      ->type_name("FILE");
  app.add_flag("--insecure", o.insecure, "talk plain HTTP to the registry (local test registries only)");
  app.add_flag("--json", o.json, "progress as JSON objects on stdout, one per line");
  app.add_flag("-f,--force", o.force, "replace FILE when it exists");
  app.add_option("--parallel", o.parallel, "layers downloaded at the same time (default 4)")
      ->check(CLI::Range(1, 32).description(""))
      ->type_name("N");
  app.add_option("--timeout", o.timeout_s, "seconds under 1 KiB/s before a transfer counts as stalled (default 30)")
      ->check(CLI::Range(1, 3600).description(""))
      ->type_name("S");
  if (!parse_command_line(app, argc, argv, "hpclaunch import", "import: ", 2)) return std::nullopt;
  return o;
}

int run_import_command(int argc, char** argv) {
  auto options = parse_import_options(argc, argv);
  if (!options) return 0;
  ImportProgress progress(progress_style(options->json));
  watch_interrupts();
  try {
    ImportRequest request = make_request(*options);
    if (exists(request.output) && !options->force) {
      throw Error(fmt::format("`{}` already exists", request.output), "remove it, pick another -o, or pass --force");
    }
    // Before any download: the output's directory must take the new file.
    if (::access(dirname_of(request.output).c_str(), W_OK) != 0) {
      throw_errno("cannot write the output into", dirname_of(request.output));
    }
    ImportResult result = import_image(request, progress);
    progress.finished(request.output, result.manifest_digest, result.output_bytes, result.from_image_cache,
                      to_string(result.install));
  } catch (const Error& e) {
    progress.error(e.describe());
    throw;
  }
  return 0;
}

}  // namespace hl::import
