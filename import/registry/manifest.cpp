#include "import/registry/manifest.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "import/registry/digest.hpp"

namespace hl::import {
namespace {

using nlohmann::json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "application/x; charset=utf-8" -> "application/x"
std::string_view bare_media_type(std::string_view content_type) {
  return trim(content_type.substr(0, content_type.find(';')));
}

std::string string_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Descriptor parse_descriptor(const json& j, std::string_view what) {
  if (!j.is_object()) throw Error(fmt::format("{}: a descriptor is not a JSON object", what));
  Descriptor d;
  d.media_type = string_field(j, "mediaType");
  d.digest = string_field(j, "digest");
  require_sha256_digest(d.digest, what);
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_unsigned()) {
    throw Error(fmt::format("{}: descriptor {} has no valid size", what, d.digest));
  }
  d.size = size->get<std::uint64_t>();
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    d.has_platform = true;
    d.platform.os = string_field(*p, "os");
    d.platform.architecture = string_field(*p, "architecture");
    d.platform.variant = string_field(*p, "variant");
  }
  return d;
}

ImageIndex parse_index(const json& body, std::string_view what) {
  auto manifests = body.find("manifests");
  if (manifests == body.end() || !manifests->is_array()) {
    throw Error(fmt::format("{}: the image index has no `manifests` list", what));
  }
  ImageIndex index;
  for (const auto& entry : *manifests) index.manifests.push_back(parse_descriptor(entry, what));
  return index;
}

ImageManifest parse_image_manifest(const json& body, std::string_view what) {
  auto config = body.find("config");
  auto layers = body.find("layers");
  if (config == body.end() || layers == body.end() || !layers->is_array()) {
    throw Error(fmt::format("{}: the manifest has no `config` or `layers`", what));
  }
  ImageManifest manifest;
  manifest.config = parse_descriptor(*config, what);
  const auto& type = manifest.config.media_type;
  if (type != media_type::kOciConfig && type != media_type::kDockerConfig) {
    throw Error(fmt::format("{} is not a container image: its config has media type `{}`", what, type));
  }
  for (const auto& entry : *layers) {
    Descriptor layer = parse_descriptor(entry, what);
    layer_compression(layer.media_type,
                      fmt::format("layer {} ({}) of {}", manifest.layers.size() + 1, short_digest(layer.digest), what));
    manifest.layers.push_back(std::move(layer));
  }
  return manifest;
}

// The body's own mediaType is authoritative; Content-Type is a fallback, and
// OCI allows neither (then the shape decides).
std::string manifest_type(const json& body, std::string_view content_type) {
  std::string type = string_field(body, "mediaType");
  if (!type.empty()) return type;
  type = std::string(bare_media_type(content_type));
  if (!type.empty() && type != "application/json" && type != "application/octet-stream") return type;
  return std::string(body.contains("manifests") ? media_type::kOciIndex : media_type::kOciManifest);
}

std::string default_variant(std::string_view architecture) {
  if (architecture == "arm64") return "v8";
  if (architecture == "arm") return "v7";
  return "";
}

std::string normalized_variant(const Platform& p) {
  return p.variant.empty() ? default_variant(p.architecture) : p.variant;
}

std::string available_platforms(const ImageIndex& index) {
  std::vector<std::string> seen;
  for (const auto& d : index.manifests) {
    if (!d.has_platform || d.platform.os == "unknown") continue;  // attestations, not images
    std::string name = d.platform.display();
    if (std::find(seen.begin(), seen.end(), name) == seen.end()) seen.push_back(name);
  }
  if (seen.empty()) return "no platform entries";
  std::string text;
  for (const auto& name : seen) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace

std::string manifest_accept_header() {
  return fmt::format("{}, {}, {}, {}", media_type::kOciIndex, media_type::kOciManifest, media_type::kDockerList,
                     media_type::kDockerManifest);
}

LayerCompression layer_compression(std::string_view type, std::string_view what) {
  static const std::map<std::string_view, LayerCompression> known = {
      {"application/vnd.oci.image.layer.v1.tar", LayerCompression::None},
      {"application/vnd.oci.image.layer.v1.tar+gzip", LayerCompression::Gzip},
      {"application/vnd.oci.image.layer.v1.tar+zstd", LayerCompression::Zstd},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", LayerCompression::None},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", LayerCompression::Gzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", LayerCompression::Zstd},
      {"application/vnd.docker.image.rootfs.diff.tar", LayerCompression::None},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", LayerCompression::Gzip},
  };
  if (auto it = known.find(type); it != known.end()) return it->second;
  if (type == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") {
    throw Error(fmt::format("{} is a foreign (Windows) layer, which cannot be imported", what));
  }
  throw Error(fmt::format("{} has unknown media type `{}`", what, type),
              "hpclaunch imports OCI and Docker tar, tar+gzip and tar+zstd layers");
}

std::string Platform::display() const {
  std::string text = os + "/" + architecture;
  return variant.empty() ? text : text + "/" + variant;
}

Platform parse_platform(std::string_view text) {
  auto parts = split(text, '/');
  if (text.empty() || parts.size() > 3 || std::any_of(parts.begin(), parts.end(), [](auto& p) { return p.empty(); })) {
    throw Error(fmt::format("bad --arch `{}`", text),
                "use an architecture like amd64, arm64, arm64/v8 or linux/arm/v7");
  }
  if (parts.size() == 3 || (parts.size() == 2 && parts[0] == "linux")) parts.erase(parts.begin());
  Platform p;
  p.architecture = parts[0];
  if (parts.size() > 1) p.variant = parts[1];
  // uname and distribution names for the same thing.
  if (p.architecture == "x86_64" || p.architecture == "x86-64") p.architecture = "amd64";
  if (p.architecture == "aarch64") p.architecture = "arm64";
  if (p.architecture == "armhf" || p.architecture == "armv7l") {
    p.architecture = "arm";
    p.variant = "v7";
  }
  return p;
}

std::string host_architecture() {
  struct utsname u {};
  if (::uname(&u) != 0) return "amd64";
  return parse_platform(u.machine).architecture;
}

ParsedManifest parse_manifest(std::string_view body, std::string_view content_type, std::string_view what) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(fmt::format("the manifest of {} is not valid JSON", what));
  auto schema = j.find("schemaVersion");
  if (schema != j.end() && *schema == 1) {
    throw Error(fmt::format("{} has a Docker schema 1 manifest, which is not supported", what),
                "push the image again with a current docker, podman or skopeo");
  }
  std::string type = manifest_type(j, content_type);
  if (type == media_type::kOciIndex || type == media_type::kDockerList) return parse_index(j, what);
  if (type == media_type::kOciManifest || type == media_type::kDockerManifest) return parse_image_manifest(j, what);
  throw Error(fmt::format("{} has a manifest of unknown media type `{}`", what, type),
              "hpclaunch imports OCI and Docker v2 images and indexes");
}

const Descriptor& pick_platform(const ImageIndex& index, const Platform& want, std::string_view what) {
  const Descriptor* fallback = nullptr;
  for (const auto& d : index.manifests) {
    if (!d.has_platform || d.platform.os != want.os || d.platform.architecture != want.architecture) continue;
    if (!want.variant.empty()) {
      if (normalized_variant(d.platform) == want.variant) return d;
      continue;
    }
    if (normalized_variant(d.platform) == default_variant(want.architecture)) return d;
    if (fallback == nullptr) fallback = &d;
  }
  if (fallback != nullptr) return *fallback;
  throw Error(fmt::format("{} has no {} image; it has {}", what, want.display(), available_platforms(index)),
              "pick one with --arch");
}

void check_config_platform(const nlohmann::json& config, const Platform& want, std::string_view what) {
  Platform got;
  got.os = string_field(config, "os");
  got.architecture = string_field(config, "architecture");
  got.variant = string_field(config, "variant");
  if (got.architecture.empty()) return;  // old images without it: nothing to check
  if (got.os.empty()) got.os = "linux";
  bool variant_ok = want.variant.empty() || normalized_variant(got) == want.variant;
  if (got.os == want.os && got.architecture == want.architecture && variant_ok) return;
  throw Error(fmt::format("{} has no {} image; it has {}", what, want.display(), got.display()),
              "pick one with --arch");
}

}  // namespace hl::import
