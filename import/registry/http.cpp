#include "import/registry/http.hpp"

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "import/interrupt.hpp"

namespace hl::import {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  static_cast<ResponseHeaders*>(user)->add_line(std::string_view(data, size * count));
  return size * count;
}

struct MemoryBody {
  std::string* body;
  std::size_t max;
};

size_t on_memory_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<MemoryBody*>(user);
  if (sink->body->size() + size * count > sink->max) return 0;  // -> CURLE_WRITE_ERROR
  sink->body->append(data, size * count);
  return size * count;
}

int on_transfer_info(void* user, curl_off_t, curl_off_t now_bytes, curl_off_t, curl_off_t) {
  if (interrupting_signal() != 0) return 1;
  auto* watch = static_cast<TransferWatch*>(user);
  auto now = std::chrono::steady_clock::now();
  if (now >= watch->deadline) {
    watch->cut = CutShort::PastDeadline;
    return 1;
  }
  if (watch->low_speed.stalled(now, static_cast<std::uint64_t>(std::max<curl_off_t>(now_bytes, 0)))) {
    watch->cut = CutShort::Stalled;
    return 1;
  }
  return 0;
}

template <typename T>
void set(CURL* curl, CURLoption option, T value) {
  if (curl_easy_setopt(curl, option, value) != CURLE_OK) throw Error("libcurl: cannot set a transfer option");
}

}  // namespace

CurlList make_header_list(const std::vector<std::string>& headers) {
  curl_slist* list = nullptr;
  for (const auto& h : headers) {
    curl_slist* next = curl_slist_append(list, h.c_str());
    if (next == nullptr) {
      curl_slist_free_all(list);
      throw Error("libcurl: out of memory");
    }
    list = next;
  }
  return CurlList(list);
}

std::string ResponseHeaders::get(const std::string& name) const {
  auto it = fields.find(name);
  return it == fields.end() ? std::string() : it->second;
}

void ResponseHeaders::add_line(std::string_view line) {
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect or 100)
    fields.clear();
    auto space = line.find(' ');
    status = space == std::string_view::npos ? 0 : std::atol(std::string(line.substr(space + 1, 3)).c_str());
    return;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return;
  std::string name = lowercase(trim(line.substr(0, colon)));
  std::string value(trim(line.substr(colon + 1)));
  auto [it, inserted] = fields.emplace(name, value);
  if (!inserted) it->second += ", " + value;
}

CurlHandle make_get_handle(const std::string& url, const HttpSettings& settings, ResponseHeaders* headers,
                           TransferWatch* watch, std::chrono::steady_clock::time_point deadline) {
  CurlHandle curl(curl_easy_init());
  if (!curl) throw Error("libcurl: cannot create a transfer");
  CURL* c = curl.get();
  const char* protocols = settings.allow_plain_http ? "http,https" : "https";
  set(c, CURLOPT_URL, url.c_str());
  set(c, CURLOPT_PROTOCOLS_STR, protocols);
  set(c, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  // Blobs are often served by a redirect to object storage; curl drops our
  // Authorization header when the redirect leaves the registry's host.
  set(c, CURLOPT_FOLLOWLOCATION, 1L);
  set(c, CURLOPT_MAXREDIRS, 5L);
  set(c, CURLOPT_CONNECTTIMEOUT, settings.connect_timeout_s);
  *watch = TransferWatch{LowSpeedCheck(settings.stall_timeout_s, std::chrono::steady_clock::now()), deadline};
  set(c, CURLOPT_XFERINFOFUNCTION, on_transfer_info);
  set(c, CURLOPT_XFERINFODATA, watch);
  set(c, CURLOPT_NOPROGRESS, 0L);
  set(c, CURLOPT_NOSIGNAL, 1L);
  set(c, CURLOPT_USERAGENT, "hpclaunch");
  set(c, CURLOPT_BUFFERSIZE, 256L * 1024);
  set(c, CURLOPT_ACCEPT_ENCODING, "identity");
  if (headers != nullptr) {
    set(c, CURLOPT_HEADERFUNCTION, on_header);
    set(c, CURLOPT_HEADERDATA, headers);
  }
  return curl;
}

HttpOutcome http_get(const std::string& url, const std::vector<std::string>& request_headers,
                     const HttpSettings& settings, std::size_t max_body, std::chrono::steady_clock::time_point deadline,
                     HttpResponse& response) {
  response = HttpResponse{};
  TransferWatch watch;
  CurlHandle curl = make_get_handle(url, settings, &response.headers, &watch, deadline);
  CurlList list = make_header_list(request_headers);
  MemoryBody sink{&response.body, max_body};
  char error_buffer[CURL_ERROR_SIZE] = {};
  set(curl.get(), CURLOPT_HTTPHEADER, list.get());
  set(curl.get(), CURLOPT_WRITEFUNCTION, on_memory_body);
  set(curl.get(), CURLOPT_WRITEDATA, &sink);
  set(curl.get(), CURLOPT_ERRORBUFFER, error_buffer);
  HttpOutcome outcome;
  outcome.code = curl_easy_perform(curl.get());
  if (outcome.code == CURLE_WRITE_ERROR && response.body.size() + CURL_MAX_WRITE_SIZE > max_body) {
    outcome.error = fmt::format("the response is larger than {} bytes", max_body);
  } else {
    outcome.error = error_buffer;
  }
  if (outcome.code == CURLE_ABORTED_BY_CALLBACK) outcome.cut = watch.cut;
  outcome.stalled_rate = watch.low_speed.rate();
  return outcome;
}

bool is_retryable(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_ABORTED_BY_CALLBACK:  // TransferWatch: a stall (the deadline and Ctrl-C are checked first)
      return true;
    default:
      return false;
  }
}

bool is_retryable_status(long status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

std::chrono::milliseconds retry_delay(int attempt) {
  return std::chrono::milliseconds(250L << std::min(std::max(attempt - 1, 0), 4));
}

std::string describe_curl_error(CURLcode code, const std::string& detail) {
  std::string text = detail.empty() ? curl_easy_strerror(code) : detail;
  if (code == CURLE_SSL_CONNECT_ERROR) {
    text += " (if the registry speaks plain HTTP, e.g. a local test registry, add --insecure)";
  }
  if (code == CURLE_UNSUPPORTED_PROTOCOL) text += " (plain HTTP is allowed only with --insecure)";
  if (code == CURLE_ABORTED_BY_CALLBACK) text = "under 1 KiB/s for the --timeout (stalled transfer)";
  return text;
}

void global_curl_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw Error("libcurl: global initialization failed");
  });
}

}  // namespace hl::import
