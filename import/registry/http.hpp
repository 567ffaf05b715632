#pragma once
// libcurl plumbing shared by the registry client and the blob fetcher: one
// place sets protocols, redirects, timeouts (transfer_limits.hpp) and
// captures response headers; the retry policy is a pure function.
#include <curl/curl.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "import/registry/transfer_limits.hpp"

namespace hl::import {

struct HttpSettings {
  bool allow_plain_http = false;  // --insecure
  long stall_timeout_s = 30;      // --timeout: under 1 KiB/s for this long is a stall (transfer_limits.hpp)
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

// Why our progress callback cut a request short (CURLE_ABORTED_BY_CALLBACK;
// a Ctrl-C does too, see interrupt.hpp).
enum class CutShort { No, Stalled, PastDeadline };

// Watches one request: the low-speed limit and its transfer's deadline
// (transfer_limits.hpp). Ours rather than curl's CURLOPT_LOW_SPEED_*: curl's
// check averages over a window of several seconds, so after a burst it reacts
// far later than asked.
struct TransferWatch {
  LowSpeedCheck low_speed{30, std::chrono::steady_clock::now()};
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  CutShort cut = CutShort::No;
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
// request; reset here, with the transfer's `deadline`). Throws hl::Error on
// failure.
CurlHandle make_get_handle(const std::string& url, const HttpSettings& settings, ResponseHeaders* headers,
                           TransferWatch* watch, std::chrono::steady_clock::time_point deadline);

struct HttpResponse {
  ResponseHeaders headers;
  std::string body;
  long status() const { return headers.status; }
};

struct HttpOutcome {
  CURLcode code = CURLE_OK;
  std::string error;  // curl's detail, or ours (a body over max_body)
  CutShort cut = CutShort::No;
  double stalled_rate = 0;  // bytes/s, when cut for a stall
};

// One blocking GET with the body kept in memory (manifests, tokens, configs;
// at most `max_body` bytes), cut short at `deadline`. Transport failures come
// back in the outcome.
HttpOutcome http_get(const std::string& url, const std::vector<std::string>& request_headers,
                     const HttpSettings& settings, std::size_t max_body, std::chrono::steady_clock::time_point deadline,
                     HttpResponse& response);

// Retry policy (pure): transport errors that a new attempt may cure, and the
// statuses registries send under load. Backoff doubles from 250 ms.
bool is_retryable(CURLcode code);
bool is_retryable_status(long status);
std::chrono::milliseconds retry_delay(int attempt);  // attempt 1 = first retry

// "couldn't connect to server" plus, for TLS failures against a plain HTTP
// registry, the --insecure hint.
std::string describe_curl_error(CURLcode code, const std::string& detail);

void global_curl_init();

}  // namespace hl::import
