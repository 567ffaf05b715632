#include "import/importer.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/strings.hpp"
#include "import/registry/blob_fetcher.hpp"
#include "import/registry/digest.hpp"
#include "import/interrupt.hpp"

namespace hl::import {
namespace {

struct ResolvedImage {
  ImageManifest manifest;
  std::string digest;  // of the platform's image manifest: the image cache key
  bool from_index = false;
};

std::string image_name(const ImageReference& ref) {
  return ref.digest.empty() ? ref.repository + ":" + ref.tag : ref.repository + "@" + ref.digest;
}

ResolvedImage resolve(RegistryClient& client, const Platform& platform, const std::string& what) {
  const ImageReference& ref = client.reference();
  FetchedManifest top = client.fetch_manifest(ref.manifest_reference(), std::nullopt);
  ParsedManifest parsed = parse_manifest(top.body, top.content_type, what);
  if (auto* manifest = std::get_if<ImageManifest>(&parsed)) return {std::move(*manifest), top.digest, false};
  const Descriptor& entry = pick_platform(std::get<ImageIndex>(parsed), platform, what);
  FetchedManifest chosen = client.fetch_manifest(entry.digest, entry);
  ParsedManifest inner = parse_manifest(chosen.body, chosen.content_type, what);
  if (!std::holds_alternative<ImageManifest>(inner)) {
    throw Error(fmt::format("{}: the {} entry of its index is another index, which is not supported", what,
                            platform.display()));
  }
  return {std::get<ImageManifest>(std::move(inner)), chosen.digest, true};
}

// The config blob, from the blob cache when an earlier import fetched it (so
// a repeated import needs no request beyond the manifest).
nlohmann::json load_config(RegistryClient& client, const BlobCache& cache, const Descriptor& d,
                           const std::string& what) {
  std::string label = fmt::format("the config ({}) of {}", short_digest(d.digest), what);
  std::string body;
  if (cache.has_blob(d.digest, d.size)) {
    body = read_file(cache.blob_path(d.digest));
  } else {
    body = client.fetch_small_blob(d, label);
    cache.create_directories();
    write_file_atomic(cache.blob_path(d.digest), body);
  }
  auto config = nlohmann::json::parse(body, nullptr, false);
  if (config.is_discarded() || !config.is_object()) throw Error(fmt::format("{} is not valid JSON", label));
  return config;
}

std::vector<LayerBlob> fetch_layers(RegistryClient& client, const BlobCache& cache, const ImageManifest& manifest,
                                    const std::string& what, int parallel, ImportProgress& progress) {
  std::vector<BlobRequest> requests;
  for (std::size_t i = 0; i < manifest.layers.size(); ++i) {
    const Descriptor& d = manifest.layers[i];
    requests.push_back({d, fmt::format("layer {} ({}) of {}", i + 1, short_digest(d.digest), what)});
  }
  BlobCallbacks callbacks{[&](std::size_t i, BlobEvent e, std::uint64_t bytes) { progress.layer_event(i, e, bytes); },
                          [&](std::size_t i, std::uint64_t done) { progress.layer_bytes(i, done); }};
  fetch_blobs(client, cache, requests, callbacks, parallel);
  std::vector<LayerBlob> blobs;
  for (const auto& d : manifest.layers) blobs.push_back({cache.blob_path(d.digest), d.media_type, d.digest, d.size});
  return blobs;
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

}  // namespace

ImportResult import_image(const ImportRequest& request, ImportProgress& progress) {
  RegistryClient client(request.ref, request.registry);
  BlobCache cache(request.cache_dir);
  std::string what = "image " + image_name(request.ref);
  ResolvedImage image = resolve(client, request.platform, what);
  nlohmann::json config = load_config(client, cache, image.manifest.config, what);
  if (!image.from_index) check_config_platform(config, request.platform, what);
  progress.resolved(request.ref.display(), request.platform.display(), image.digest, image.manifest.layers);

  ImportResult result;
  result.manifest_digest = image.digest;
  std::string cached_image = cache.image_path(image.digest);
  result.from_image_cache = cache.has_image(image.digest);
  if (result.from_image_cache) {
    progress.image_cache_hit(cached_image);
  } else {
    auto layers = fetch_layers(client, cache, image.manifest, what, request.parallel, progress);
    progress.building(request.build.compressor, request.build.level);
    build_squashfs_from_layers(layers, config, cached_image, request.build,
                               [&](std::uint64_t done, std::uint64_t total) {
                                 throw_if_interrupted();  // the builder's guards remove its temp file, kill the packer
                                 progress.build_bytes(done, total);
                               });
  }
  result.install = install_file(cached_image, request.output);
  result.output_bytes = file_size(request.output);
  return result;
}

}  // namespace hl::import
