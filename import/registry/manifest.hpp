#pragma once
// OCI / Docker manifests: media types, the Accept header, parsing of image
// manifests and indexes (manifest lists), and the platform pick. Pure.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace hl::import {

namespace media_type {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
}  // namespace media_type

// The Accept header value sent with every manifest request. Registries pick
// the manifest type from it, and Debian's registry 2.8.2 answers 404 to a
// request without it (DESIGN.md §4).
std::string manifest_accept_header();

// The layer compressions hpclaunch can unpack.
enum class LayerCompression { None, Gzip, Zstd };
// nullopt-like: throws for types it cannot import (foreign layers, unknown types).
LayerCompression layer_compression(std::string_view media_type, std::string_view what);

struct Platform {
  std::string os = "linux";
  std::string architecture;     // GOARCH names: amd64, arm64, ppc64le, s390x, arm, riscv64
  std::string variant;          // v7, v8 … ; empty: any
  std::string display() const;  // "linux/arm64/v8"
};

// "arm64", "arm64/v8", "linux/arm/v7", "x86_64", "aarch64" -> Platform. Throws on empty.
Platform parse_platform(std::string_view text);
// This machine's architecture in GOARCH names (uname -m: x86_64 -> amd64).
std::string host_architecture();

struct Descriptor {
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
  Platform platform;  // only in an index
  bool has_platform = false;
};

struct ImageIndex {
  std::vector<Descriptor> manifests;
};

struct ImageManifest {
  Descriptor config;
  std::vector<Descriptor> layers;
};

using ParsedManifest = std::variant<ImageIndex, ImageManifest>;

// `content_type` is the response's Content-Type (may be empty; parameters are
// ignored); the body's own mediaType wins when present. `what` names the image
// in errors: unknown media types, schema 1, malformed JSON or descriptors,
// unknown layer types all throw hl::Error.
ParsedManifest parse_manifest(std::string_view body, std::string_view content_type, std::string_view what);

// The index entry for `want` (os and architecture equal; the variant too when
// `want` names one, else the preferred one for the architecture). Throws
// "`what` has no linux/s390x image; it has linux/amd64, linux/arm64/v8" otherwise.
const Descriptor& pick_platform(const ImageIndex& index, const Platform& want, std::string_view what);

// For an image without an index: its config's os/architecture must match.
void check_config_platform(const nlohmann::json& config, const Platform& want, std::string_view what);

}  // namespace hl::import
