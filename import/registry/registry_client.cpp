#include "import/registry/registry_client.hpp"

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "import/registry/digest.hpp"
#include "import/registry/transfer_limits.hpp"
#include "import/interrupt.hpp"

namespace hl::import {
namespace {

constexpr std::size_t kMaxManifestBytes = 4u << 20;  // the distribution spec's limit
constexpr std::size_t kMaxTokenBytes = 1u << 20;
constexpr std::uint64_t kMaxSmallBlobBytes = 64u << 20;

// "MANIFEST_UNKNOWN: manifest unknown" from a registry's error body, if any.
std::string registry_error_text(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array() || j["errors"].empty()) {
    return {};
  }
  const auto& first = j["errors"][0];
  std::string code = first.value("code", "");
  std::string message = first.value("message", "");
  if (code.empty()) return message;
  return message.empty() ? code : code + ": " + message;
}

std::string status_text(const HttpResponse& r) {
  std::string detail = registry_error_text(r.body);
  return detail.empty() ? std::to_string(r.status()) : fmt::format("{} {}", r.status(), detail);
}

}  // namespace

RegistryClient::RegistryClient(ImageReference ref, RegistryOptions options)
    : ref_(std::move(ref)), options_(std::move(options)) {
  global_curl_init();
  base_url_ =
      fmt::format("{}://{}/v2/{}", options_.http.allow_plain_http ? "http" : "https", ref_.api_host(), ref_.repository);
  credential_ = find_credential(options_.credentials, ref_.registry, ref_.user);
  if (!ref_.user.empty() && !credential_) {
    throw Error(fmt::format("no password for {}@{} in the credentials file `{}`", ref_.user, ref_.registry,
                            options_.credentials_path),
                fmt::format("add `machine {} login {} password PASS` to it (mode 0600)", ref_.registry, ref_.user));
  }
}

std::string RegistryClient::blob_url(std::string_view digest) const {
  return fmt::format("{}/blobs/{}", base_url_, digest);
}

std::vector<std::string> RegistryClient::auth_headers() const {
  if (authorization_.empty()) return {};
  return {authorization_};
}

// Bounded like a blob (transfer_limits.hpp), its size being `max_body`.
HttpResponse RegistryClient::get_with_retries(const std::string& url, const std::vector<std::string>& headers,
                                              std::size_t max_body, std::string_view what) {
  using Clock = std::chrono::steady_clock;
  long timeout_s = options_.http.stall_timeout_s;
  TransferBudget budget(max_body, timeout_s);
  StallCounter stalls;
  HttpResponse response;
  for (int attempt = 1;; ++attempt) {
    if (budget.spent()) throw transfer_deadline_error(ref_.registry, what, max_body, timeout_s);
    HttpOutcome outcome = http_get(url, headers, options_.http, max_body, budget.start(Clock::now()), response);
    budget.stop(Clock::now());
    throw_if_interrupted();
    if (outcome.cut == CutShort::PastDeadline) throw transfer_deadline_error(ref_.registry, what, max_body, timeout_s);
    if (stalls.give_up(response.body.size(), outcome.cut == CutShort::Stalled, timeout_s)) {
      throw stalled_transfer_error(ref_.registry, what, outcome.stalled_rate, timeout_s);
    }
    CURLcode code = outcome.code;
    bool last = attempt >= kMaxAttempts;
    if (code != CURLE_OK && (last || !is_retryable(code))) {
      throw Error(
          fmt::format("cannot fetch {} from {}: {}", what, ref_.registry, describe_curl_error(code, outcome.error)));
    }
    if (code == CURLE_OK && (last || !is_retryable_status(response.status()))) return response;
    std::this_thread::sleep_for(retry_delay(attempt));
  }
}

HttpResponse RegistryClient::get(const std::string& url, const std::vector<std::string>& headers, std::size_t max_body,
                                 std::string_view what) {
  auto with_auth = [&] {
    std::vector<std::string> all = headers;
    for (auto& h : auth_headers()) all.push_back(h);
    return all;
  };
  HttpResponse response = get_with_retries(url, with_auth(), max_body, what);
  // The first 401 starts the challenge; a later one means the token expired
  // or the scope changed: negotiate again, a bounded number of times.
  if (response.status() == 401 && authentications_ < 3) {
    authenticate(response.headers, what);
    response = get_with_retries(url, with_auth(), max_body, what);
  }
  return response;
}

void RegistryClient::authenticate(const ResponseHeaders& unauthorized, std::string_view what) {
  ++authentications_;
  auto challenges = parse_www_authenticate(unauthorized.get("www-authenticate"));
  for (const auto& c : challenges) {
    if (c.scheme == "bearer" && !c.param("realm").empty()) return fetch_token(c, what);
  }
  for (const auto& c : challenges) {
    if (c.scheme != "basic") continue;
    if (!credential_) {
      throw Error(fmt::format("{} requires credentials for {} (401, basic auth)", ref_.registry, what),
                  fmt::format("add `machine {} login USER password PASS` to {} (mode 0600)", ref_.registry,
                              options_.credentials_path));
    }
    authorization_ = "Authorization: Basic " + base64_encode(credential_->login + ":" + credential_->password);
    return;
  }
  throw Error(fmt::format("{} answered 401 for {} without a usable WWW-Authenticate challenge", ref_.registry, what));
}

void RegistryClient::reauthenticate(const ResponseHeaders& unauthorized, std::string_view what) {
  if (authentications_ >= 3) {
    HttpResponse r;
    r.headers = unauthorized;
    throw response_error(r, what);
  }
  authenticate(unauthorized, what);
}

void RegistryClient::fetch_token(const Challenge& bearer, std::string_view what) {
  std::string url = token_request_url(bearer, "repository:" + ref_.repository + ":pull");
  std::vector<std::string> headers;
  if (credential_) {
    headers.push_back("Authorization: Basic " + base64_encode(credential_->login + ":" + credential_->password));
  }
  std::string realm = bearer.param("realm");
  HttpResponse r = get_with_retries(url, headers, kMaxTokenBytes, "a token from " + realm);
  if (r.status() == 401 || r.status() == 403) {
    if (credential_) {
      throw Error(fmt::format("the token service {} refused the credentials of {} for {} ({})", realm,
                              credential_->login, what, status_text(r)),
                  fmt::format("check the password for {} in {}", ref_.registry, options_.credentials_path));
    }
    throw Error(fmt::format("{} requires credentials for {}: its token service {} refused anonymous access ({})",
                            ref_.registry, what, realm, status_text(r)),
                fmt::format("add `machine {} login USER password PASS` to {} (mode 0600)", ref_.registry,
                            options_.credentials_path));
  }
  auto token = r.status() == 200 ? parse_token_response(r.body) : std::nullopt;
  if (!token) {
    throw Error(fmt::format("the token service {} gave no token for {} ({})", realm, what, status_text(r)));
  }
  authorization_ = "Authorization: Bearer " + *token;
}

Error RegistryClient::response_error(const HttpResponse& r, std::string_view what) const {
  std::string status = status_text(r);
  switch (r.status()) {
    case 401:
      if (credential_) {
        return Error(fmt::format("{} refused the credentials of {} for {} ({})", ref_.registry, credential_->login,
                                 what, status),
                     fmt::format("check the password for {} in {}", ref_.registry, options_.credentials_path));
      }
      return Error(fmt::format("{} refused access to {} ({})", ref_.registry, what, status),
                   fmt::format("the image does not exist or needs credentials: add `machine {} login USER "
                               "password PASS` to {} (mode 0600)",
                               ref_.registry, options_.credentials_path));
    case 403:
      return Error(fmt::format("{} denied access to {} ({})", ref_.registry, what, status));
    case 404:
      return Error(fmt::format("{} not found on {} ({})", what, ref_.registry, status), "check the image name and tag");
    default: {
      std::string detail = registry_error_text(r.body);
      std::string times = is_retryable_status(r.status()) ? fmt::format(" {} times", kMaxAttempts) : "";
      return Error(fmt::format("{} answered {} for {}{}{}", ref_.registry, r.status(), what, times,
                               detail.empty() ? "" : " (" + detail + ")"));
    }
  }
}

FetchedManifest RegistryClient::fetch_manifest(const std::string& reference,
                                               const std::optional<Descriptor>& expected) {
  std::string what =
      fmt::format("image {}{}{}", ref_.repository, reference.starts_with("sha256:") ? "@" : ":", reference);
  HttpResponse r =
      get(base_url_ + "/manifests/" + reference, {"Accept: " + manifest_accept_header()}, kMaxManifestBytes, what);
  if (r.status() != 200) throw response_error(r, what);
  FetchedManifest m{std::move(r.body), r.headers.get("content-type"), {}};
  m.digest = sha256_digest_of(m.body);
  std::string want = expected ? expected->digest : (is_sha256_digest(reference) ? reference : "");
  if (!want.empty() && m.digest != want) throw digest_mismatch("the manifest of " + what, want, m.digest);
  std::string announced = r.headers.get("docker-content-digest");
  if (is_sha256_digest(announced) && announced != m.digest) {
    throw digest_mismatch("the manifest of " + what, announced, m.digest);
  }
  return m;
}

std::string RegistryClient::fetch_small_blob(const Descriptor& d, std::string_view what) {
  if (d.size > kMaxSmallBlobBytes) {
    throw Error(fmt::format("{} is {} bytes, more than the {} allowed", what, d.size, kMaxSmallBlobBytes));
  }
  HttpResponse r = get(blob_url(d.digest), {}, d.size + 1, what);
  if (r.status() != 200) throw response_error(r, what);
  if (r.body.size() < d.size) throw truncated_blob(what, r.body.size(), d.size);
  std::string digest = sha256_digest_of(r.body);
  if (digest != d.digest) throw digest_mismatch(what, d.digest, digest);
  return std::move(r.body);
}

}  // namespace hl::import
