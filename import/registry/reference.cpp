#include "import/registry/reference.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "import/registry/digest.hpp"

namespace hl::import {
namespace {

constexpr std::string_view kScheme = "docker://";
constexpr std::string_view kForms =
    "use docker://[USER@][REGISTRY#]IMAGE[:TAG|@sha256:DIGEST] or docker://REGISTRY[:PORT]/IMAGE[:TAG]";

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*  (distribution spec).
bool valid_component(std::string_view part) {
  std::size_t i = 0;
  auto alnum_run = [&] {
    std::size_t start = i;
    while (i < part.size() && is_lower_alnum(part[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < part.size()) {
    if (part[i] == '.') {
      ++i;
    } else if (part[i] == '_') {
      i += part.substr(i, 2) == "__" ? 2 : 1;
    } else if (part[i] == '-') {
      while (i < part.size() && part[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnum_run()) return false;
  }
  return true;
}

bool valid_repository(std::string_view repo) {
  if (repo.empty() || repo.size() > 255) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = repo.find('/', start);
    if (!valid_component(repo.substr(start, slash - start))) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// [A-Za-z0-9_][A-Za-z0-9._-]{0,127}
bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(tag.front())) return false;
  for (char c : tag) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

// host or IPv4 ([A-Za-z0-9.-]), or [IPv6], then an optional :port.
bool valid_registry(std::string_view registry) {
  std::string_view host = registry;
  std::string_view port;
  if (registry.starts_with('[')) {
    auto close = registry.find(']');
    if (close == std::string_view::npos) return false;
    host = registry.substr(0, close + 1);
    if (close + 1 < registry.size()) {
      if (registry[close + 1] != ':') return false;
      port = registry.substr(close + 2);
      if (port.empty()) return false;
    }
  } else if (auto colon = registry.find(':'); colon != std::string_view::npos) {
    host = registry.substr(0, colon);
    port = registry.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (host.empty()) return false;
  if (!host.starts_with('[')) {
    for (char c : host) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return false;
    }
  }
  if (port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return port.empty() || (std::stoi(std::string(port)) > 0 && std::stoi(std::string(port)) < 65536);
}

// In the usual form the first component names a registry when it looks like a
// host (a dot, a port, or localhost), as docker does.
bool looks_like_registry(std::string_view component) {
  return component.find('.') != std::string_view::npos || component.find(':') != std::string_view::npos ||
         component == "localhost" || component.starts_with('[');
}

[[noreturn]] void bad(std::string_view uri, std::string_view why) {
  throw Error(fmt::format("bad image reference `{}`: {}", uri, why), std::string(kForms));
}

// Splits "IMAGE[:TAG][@DIGEST]" (no registry left in it) into the reference.
void split_name(std::string_view uri, std::string_view name, ImageReference& ref) {
  if (auto at = name.rfind('@'); at != std::string_view::npos) {
    ref.digest = std::string(name.substr(at + 1));
    name = name.substr(0, at);
    if (!is_sha256_digest(ref.digest))
      bad(uri, fmt::format("`{}` is not a sha256 digest (sha256:<64 hex>)", ref.digest));
  }
  auto slash = name.rfind('/');
  auto colon = name.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(name.substr(colon + 1));
    name = name.substr(0, colon);
    if (!valid_tag(ref.tag))
      bad(uri, fmt::format("tag `{}` is not valid (letters, digits, _ . -; at most 128)", ref.tag));
  }
  ref.repository = std::string(name);
}

}  // namespace

bool ImageReference::is_docker_hub() const {
  return registry == kDockerHub || registry == "index.docker.io" || registry == "registry-1.docker.io";
}

std::string ImageReference::api_host() const { return is_docker_hub() ? "registry-1.docker.io" : registry; }

std::string ImageReference::manifest_reference() const { return digest.empty() ? tag : digest; }

std::string ImageReference::display() const {
  std::string name = registry + "/" + repository;
  return digest.empty() ? name + ":" + tag : name + "@" + digest;
}

ImageReference parse_image_reference(std::string_view uri) {
  if (!uri.starts_with(kScheme)) bad(uri, "only docker:// references can be imported");
  std::string_view rest = uri.substr(kScheme.size());
  ImageReference ref;
  // USER@ comes first; an '@' that starts a digest ("@sha256:") is not a user.
  if (auto at = rest.find('@'); at != std::string_view::npos && !rest.substr(at + 1).starts_with("sha256:") &&
                                rest.substr(0, at).find_first_of("/#:") == std::string_view::npos) {
    ref.user = std::string(rest.substr(0, at));
    rest = rest.substr(at + 1);
    if (ref.user.empty()) bad(uri, "the user before `@` is empty");
  }
  if (auto hash = rest.find('#'); hash != std::string_view::npos) {
    ref.registry = std::string(rest.substr(0, hash));
    rest = rest.substr(hash + 1);
  } else if (auto slash = rest.find('/');
             slash != std::string_view::npos && looks_like_registry(rest.substr(0, slash))) {
    ref.registry = std::string(rest.substr(0, slash));
    rest = rest.substr(slash + 1);
  } else {
    ref.registry = std::string(kDockerHub);
  }
  if (!valid_registry(ref.registry)) bad(uri, fmt::format("registry `{}` is not a host[:port]", ref.registry));
  if (rest.empty()) bad(uri, "no image name");
  split_name(uri, rest, ref);
  if (ref.is_docker_hub() && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  if (!valid_repository(ref.repository)) {
    bad(uri, fmt::format("image name `{}` is not valid (lowercase letters, digits, separators . _ __ - and /)",
                         ref.repository));
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::string default_output_name(const ImageReference& ref) {
  std::string name = ref.is_docker_hub() ? "" : ref.registry + "/";
  name += ref.repository;
  name += ref.digest.empty() ? ":" + ref.tag : "@" + ref.digest;
  for (char& c : name) {
    if (c == '/' || c == ':' || c == '@' || c == '[' || c == ']') c = '+';
  }
  return name + ".sqsh";
}

}  // namespace hl::import
