#pragma once
// docker:// image references, in enroot's form
//   docker://[USER@][REGISTRY#]IMAGE[:TAG|@sha256:DIGEST]
// and the usual one
//   docker://[REGISTRY[:PORT]/]IMAGE[:TAG|@sha256:DIGEST]
// Pure: parsing, validation (distribution spec grammar), names derived from it.
#include <string>
#include <string_view>

namespace hl::import {

inline constexpr std::string_view kDockerHub = "docker.io";

struct ImageReference {
  std::string user;        // USER@: which credentials entry to use (empty: the first for the registry)
  std::string registry;    // host[:port] as the user wrote it; kDockerHub when none
  std::string repository;  // "library/ubuntu", "test/app"
  std::string tag;         // "latest" when neither tag nor digest was given
  std::string digest;      // "sha256:<hex>" when pinned (wins over the tag)

  bool is_docker_hub() const;
  // The host the API is served from (Docker Hub's differs from its name).
  std::string api_host() const;
  // What goes after /manifests/: the digest when pinned, else the tag.
  std::string manifest_reference() const;
  // "127.0.0.1:5000/test/app:v1" — how messages name the image.
  std::string display() const;
};

// Throws hl::Error naming the reference and what is wrong with it.
ImageReference parse_image_reference(std::string_view uri);

// The output file name when -o is not given: registry (unless Docker Hub),
// repository and tag (or digest) joined by '+', e.g. "library+ubuntu+22.04.sqsh",
// "127.0.0.1+5000+test+app+v1.sqsh", "library+ubuntu+sha256+<hex>.sqsh".
std::string default_output_name(const ImageReference& ref);

}  // namespace hl::import
