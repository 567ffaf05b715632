#pragma once
// libcurl plumbing shared by the registry client and the blob fetcher: one
// place sets protocols, redirects, timeouts and captures response headers;
// the retry policy is a pure function.
#include <curl/curl.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hl::import {

struct HttpSettings {
  bool allow_plain_http = false;  // --insecure
  long stall_timeout_s = 30;      // a transfer with no progress for this long is retried
  long connect_timeout_s = 20;
};

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct CurlListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlList = std::unique_ptr<curl_slist, CurlListDeleter>;

CurlList make_header_list(const std::vector<std::string>& headers);

// Notices a transfer that receives nothing for `timeout_s` and aborts it
// (CURLE_ABORTED_BY_CALLBACK, retried like a timeout). curl's own low-speed
// check averages over a window of several seconds, so after a burst it reacts
// far later than asked.
struct StallWatch {
  long timeout_s = 30;
  curl_off_t last_bytes = -1;
  std::chrono::steady_clock::time_point last_change{};
};

// Headers of the last response (a redirect's are dropped when the next starts).
struct ResponseHeaders {
  long status = 0;
  std::map<std::string, std::string> fields;  // lowercase names; repeated ones joined with ", "
  std::string get(const std::string& name) const;
  void add_line(std::string_view line);
};

// A curl easy handle set up for a GET of `url`: protocols (https; http too
// with --insecure, for redirects as well), up to 5 redirects, timeouts,
// `headers` capturing the response headers, `watch` (which must outlive the
// transfer; its timeout is set here). Throws hl::Error on failure.
CurlHandle make_get_handle(const std::string& url, const HttpSettings& settings, ResponseHeaders* headers,
                           StallWatch* watch);

struct HttpResponse {
  ResponseHeaders headers;
  std::string body;
  long status() const { return headers.status; }
};

// One blocking GET with the body kept in memory (manifests, tokens, configs;
// at most `max_body` bytes). Transport failures come back as a CURLcode.
CURLcode http_get(const std::string& url, const std::vector<std::string>& request_headers, const HttpSettings& settings,
                  std::size_t max_body, HttpResponse& response, std::string& error);

// Retry policy (pure): transport errors that a new attempt may cure, and the
// statuses registries send under load. Backoff doubles from 250 ms.
bool is_retryable(CURLcode code);
bool is_retryable_status(long status);
inline constexpr int kMaxAttempts = 5;
std::chrono::milliseconds retry_delay(int attempt);  // attempt 1 = first retry

// "couldn't connect to server" plus, for TLS failures against a plain HTTP
// registry, the --insecure hint.
std::string describe_curl_error(CURLcode code, const std::string& detail);

void global_curl_init();

}  // namespace hl::import
