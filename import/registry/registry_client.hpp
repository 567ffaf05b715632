#pragma once
// A client of one repository on one registry (OCI distribution API v2):
// manifests by tag or digest (digest verified), small blobs in memory, and
// what the blob fetcher needs (URLs, the negotiated Authorization header).
// Authentication follows the registry's 401 challenge: a bearer token from the
// realm it names (with the user's credentials when the file has them), or
// basic credentials.
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "import/registry/auth.hpp"
#include "import/registry/http.hpp"
#include "import/registry/manifest.hpp"
#include "import/registry/reference.hpp"

namespace hl::import {

struct RegistryOptions {
  HttpSettings http;
  std::vector<Credential> credentials;
  std::string credentials_path;  // named in hints
};

struct FetchedManifest {
  std::string body;
  std::string content_type;
  std::string digest;  // sha256 of body, verified against what was asked for
};

class RegistryClient {
 public:
  RegistryClient(ImageReference ref, RegistryOptions options);

  const ImageReference& reference() const { return ref_; }
  const HttpSettings& http_settings() const { return options_.http; }

  // GET /v2/<name>/manifests/<reference>. When `expected` is given (a digest
  // from the reference or an index), the body must hash to it.
  FetchedManifest fetch_manifest(const std::string& reference, const std::optional<Descriptor>& expected);

  // A small blob (the image config) in memory, size and digest verified.
  std::string fetch_small_blob(const Descriptor& descriptor, std::string_view what);

  std::string blob_url(std::string_view digest) const;
  // "Authorization: …" once negotiated, else empty.
  std::vector<std::string> auth_headers() const;
  // After a 401: negotiate again from its challenge (expired token). Throws
  // the 401 error when that is not possible.
  void reauthenticate(const ResponseHeaders& unauthorized, std::string_view what);

  // One line for a failed response: 401/403/404 with the image and registry named.
  Error response_error(const HttpResponse& response, std::string_view what) const;

 private:
  HttpResponse get(const std::string& url, const std::vector<std::string>& headers, std::size_t max_body,
                   std::string_view what);
  HttpResponse get_with_retries(const std::string& url, const std::vector<std::string>& headers, std::size_t max_body,
                                std::string_view what);
  void authenticate(const ResponseHeaders& unauthorized, std::string_view what);
  void fetch_token(const Challenge& bearer, std::string_view what);

  ImageReference ref_;
  RegistryOptions options_;
  std::string base_url_;
  std::optional<Credential> credential_;
  std::string authorization_;
  int authentications_ = 0;
};

}  // namespace hl::import
