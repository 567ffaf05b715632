#include "import/registry/blob_fetcher.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "import/registry/digest.hpp"
#include "import/registry/transfer_limits.hpp"
#include "import/interrupt.hpp"

namespace hl::import {
namespace {

using Clock = std::chrono::steady_clock;

struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};

// One blob: its file, running hash and the current request. Lives at a fixed
// address (curl holds a pointer to it) until the fetch ends.
struct Transfer {
  std::size_t index = 0;
  const BlobRequest* request = nullptr;
  const BlobCallbacks* callbacks = nullptr;
  std::string path;       // the shared <hex>.partial, or our own .tmp when another import holds it
  bool own_temp = false;  // remove `path` when we fail
  bool started = false;   // its first request went out
  bool finished = false;
  UniqueFd fd;  // flock'ed when `path` is the shared partial
  Sha256 hash;  // of bytes [0, written)
  std::uint64_t written = 0;
  std::uint64_t range_start = 0;  // what the current request asked for
  bool resumed = false;           // some bytes came from an earlier request or import
  bool restarted = false;         // we already started over once (bad partial, 416)
  int failures = 0;               // in a row, without progress
  int attempts = 0;               // all of them: a source that trickles a byte and stalls ends too
  StallCounter stalls;
  std::optional<TransferBudget> budget;  // from the first request (transfer_limits.hpp)
  Clock::time_point not_before{};
  // The current request.
  ResponseHeaders headers;
  TransferWatch watch;
  bool body_seen = false;
  bool accepting = false;
  bool too_large = false;
  bool range_mismatch = false;
  std::string write_error;
  std::string error_body;
  CurlHandle curl;
  CurlList header_list;

  ~Transfer() {
    if (own_temp && !finished) ::unlink(path.c_str());
  }
  std::uint64_t size() const { return request->descriptor.size; }
  const std::string& digest() const { return request->descriptor.digest; }
  const std::string& what() const { return request->what; }
};

void start_over(Transfer& t) {
  if (::ftruncate(t.fd.get(), 0) != 0) throw_errno("truncate", t.path);
  t.hash.reset();
  t.written = 0;
}

// Opens where the blob's bytes go. A partial file of an earlier import is
// hashed so the download can continue where it stopped.
void open_target(Transfer& t, const BlobCache& cache) {
  t.path = cache.partial_path(t.digest());
  t.fd = UniqueFd(::open(t.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!t.fd) throw_errno("create", t.path);
  if (::flock(t.fd.get(), LOCK_EX | LOCK_NB) != 0) {
    // Another import is fetching this blob right now: fetch our own copy
    // rather than wait for it (renaming identical content twice is harmless).
    t.path = cache.blob_path(t.digest()) + "." + random_hex() + ".tmp";
    t.fd = UniqueFd(::open(t.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!t.fd) throw_errno("create", t.path);
    t.own_temp = true;
    return;
  }
  struct stat st {};
  if (::fstat(t.fd.get(), &st) != 0) throw_errno("stat", t.path);
  auto have = static_cast<std::uint64_t>(st.st_size);
  if (have > t.size()) {
    start_over(t);
  } else if (have > 0) {
    sha256_update_from_fd(t.hash, t.fd.get(), have, t.path);
    t.written = have;
    t.resumed = true;
  }
}

// The blob got its final name after has_blob said no but before we opened
// <hex>.partial, so we created and locked a new, empty partial file: remove
// it, unless that name belongs to another file by now (nobody but the lock
// holder renames or removes it).
void drop_stale_partial(const Transfer& t) {
  struct stat ours {};
  struct stat named {};
  if (::fstat(t.fd.get(), &ours) == 0 && ::stat(t.path.c_str(), &named) == 0 && ours.st_dev == named.st_dev &&
      ours.st_ino == named.st_ino) {
    ::unlink(t.path.c_str());
  }
}

void begin_body(Transfer& t) {
  t.body_seen = true;
  long status = t.headers.status;
  if (status == 206) {
    // "bytes START-END/TOTAL": the part must continue exactly where we stopped.
    std::string range = t.headers.get("content-range");
    unsigned long long start = 0;
    t.accepting = std::sscanf(range.c_str(), "bytes %llu-", &start) == 1 && start == t.written;
    t.range_mismatch = !t.accepting;
  } else if (status == 200) {
    if (t.written > 0) start_over(t);  // the server ignored the Range: take the whole blob
    t.accepting = true;
  }
}

size_t on_blob_data(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  size_t n = size * count;
  try {
    if (!t.body_seen) begin_body(t);
  } catch (const Error& e) {
    t.write_error = e.what();
    return 0;
  }
  if (!t.accepting) {
    if (t.error_body.size() < 4096) t.error_body.append(data, std::min<size_t>(n, 4096));
    return n;
  }
  if (t.written + n > t.size()) {
    t.too_large = true;
    return 0;
  }
  for (size_t done = 0; done < n;) {
    ssize_t w = ::pwrite(t.fd.get(), data + done, n - done, static_cast<off_t>(t.written + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      t.write_error = fmt::format("write `{}`: {}", t.path, std::strerror(errno));
      return 0;
    }
    done += static_cast<size_t>(w);
  }
  t.hash.update(data, n);
  t.written += n;
  if (t.callbacks->bytes) t.callbacks->bytes(t.index, t.written);
  return n;
}

void emit(const Transfer& t, BlobEvent event, std::uint64_t value) {
  if (t.callbacks->event) t.callbacks->event(t.index, event, value);
}

void start_request(Transfer& t, RegistryClient& client, CURLM* multi) {
  long timeout_s = client.http_settings().stall_timeout_s;
  if (!t.started) emit(t, t.written > 0 ? BlobEvent::Resumed : BlobEvent::Started, t.written);
  t.started = true;
  if (!t.budget) t.budget.emplace(t.size(), timeout_s);
  if (t.budget->spent()) throw transfer_deadline_error(client.reference().registry, t.what(), t.size(), timeout_s);
  t.headers = ResponseHeaders{};
  t.body_seen = t.accepting = t.too_large = t.range_mismatch = false;
  t.write_error.clear();
  t.error_body.clear();
  t.range_start = t.written;
  t.curl = make_get_handle(client.blob_url(t.digest()), client.http_settings(), &t.headers, &t.watch,
                           t.budget->start(Clock::now()));
  std::vector<std::string> headers = client.auth_headers();
  if (t.written > 0) headers.push_back(fmt::format("Range: bytes={}-", t.written));
  t.header_list = make_header_list(headers);
  curl_easy_setopt(t.curl.get(), CURLOPT_HTTPHEADER, t.header_list.get());
  curl_easy_setopt(t.curl.get(), CURLOPT_WRITEFUNCTION, on_blob_data);
  curl_easy_setopt(t.curl.get(), CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(t.curl.get(), CURLOPT_PRIVATE, &t);
  if (curl_multi_add_handle(multi, t.curl.get()) != CURLM_OK) throw Error("libcurl: cannot start a transfer");
}

// Verifies the complete file and gives it its final name. Returns false when
// the transfer must start over (a resumed partial turned out bad).
bool finish(Transfer& t, const BlobCache& cache) {
  std::string got = t.hash.finish();
  if (got != t.digest()) {
    if (t.resumed && !t.restarted) {
      t.restarted = true;
      t.resumed = false;
      start_over(t);
      return false;
    }
    ::unlink(t.path.c_str());
    throw digest_mismatch(t.what(), t.digest(), got);
  }
  // Durable before it gets the name that says "verified".
  if (::fdatasync(t.fd.get()) != 0) throw_errno("sync", t.path);
  std::string final_path = cache.blob_path(t.digest());
  if (::rename(t.path.c_str(), final_path.c_str()) != 0) throw_errno("rename to", final_path);
  t.finished = true;
  t.fd.reset();
  emit(t, BlobEvent::Verified, t.size());
  return true;
}

enum class Next { Done, RetryNow, RetryLater };

Next retry_or_throw(Transfer& t, const std::function<Error()>& give_up) {
  if (t.written > t.range_start) t.failures = 0;  // progress: a new series of attempts
  if (++t.failures >= kMaxAttempts || ++t.attempts >= 10 * kMaxAttempts) throw give_up();
  t.not_before = Clock::now() + retry_delay(t.failures);
  return Next::RetryLater;
}

// The low-speed limit and the deadline (transfer_limits.hpp) after each request.
void check_transfer_limits(Transfer& t, CURLcode code, const RegistryClient& client) {
  long timeout_s = client.http_settings().stall_timeout_s;
  const std::string& registry = client.reference().registry;
  bool cut = code == CURLE_ABORTED_BY_CALLBACK;
  if (cut && t.watch.cut == CutShort::PastDeadline) {
    throw transfer_deadline_error(registry, t.what(), t.size(), timeout_s);
  }
  curl_off_t received = 0;
  curl_easy_getinfo(t.curl.get(), CURLINFO_SIZE_DOWNLOAD_T, &received);
  if (t.stalls.give_up(static_cast<std::uint64_t>(std::max<curl_off_t>(received, 0)),
                       cut && t.watch.cut == CutShort::Stalled, timeout_s)) {
    throw stalled_transfer_error(registry, t.what(), t.watch.low_speed.rate(), timeout_s);
  }
}

Next on_done(Transfer& t, CURLcode code, RegistryClient& client, const BlobCache& cache) {
  t.budget->stop(Clock::now());
  throw_if_interrupted();
  long status = t.headers.status;
  if (!t.write_error.empty()) throw Error(t.write_error);
  check_transfer_limits(t, code, client);
  if (t.too_large) {
    if (t.resumed && !t.restarted) {
      t.restarted = true;
      start_over(t);
      return Next::RetryNow;
    }
    ::unlink(t.path.c_str());
    throw Error(fmt::format("digest mismatch for {}: the registry sent more than the {} bytes its descriptor says",
                            t.what(), t.size()),
                "the registry sent different content (corrupted storage or a proxy); nothing was kept");
  }
  if (t.range_mismatch) {
    start_over(t);
    return Next::RetryNow;
  }
  if (code == CURLE_OK && t.accepting) {
    if (t.written == t.size()) return finish(t, cache) ? Next::Done : Next::RetryNow;
    return retry_or_throw(t, [&] { return truncated_blob(t.what(), t.written, t.size()); });
  }
  if (code == CURLE_OK && status == 416) {
    // We asked for bytes past what the registry has.
    if (t.restarted) throw truncated_blob(t.what(), t.written, t.size());
    t.restarted = true;
    start_over(t);
    return Next::RetryNow;
  }
  if (code == CURLE_OK && status == 401) {
    client.reauthenticate(t.headers, t.what());
    return Next::RetryNow;
  }
  if (code == CURLE_OK && is_retryable_status(status)) {
    return retry_or_throw(t, [&] { return client.response_error(HttpResponse{t.headers, t.error_body}, t.what()); });
  }
  if (code == CURLE_OK) {
    HttpResponse response{t.headers, t.error_body};
    throw client.response_error(response, t.what());
  }
  if (is_retryable(code)) {
    return retry_or_throw(t, [&] {
      // The server kept promising more bytes than it sent.
      if (code == CURLE_PARTIAL_FILE) return truncated_blob(t.what(), t.written, t.size());
      return Error(fmt::format("cannot fetch {}: {} ({} attempts; {} of {} bytes)", t.what(),
                               describe_curl_error(code, curl_easy_strerror(code)), kMaxAttempts, t.written, t.size()));
    });
  }
  throw Error(fmt::format("cannot fetch {}: {}", t.what(), describe_curl_error(code, curl_easy_strerror(code))));
}

// Blobs to download (the cached ones are reported and skipped).
std::vector<std::unique_ptr<Transfer>> prepare(const BlobCache& cache, const std::vector<BlobRequest>& blobs,
                                               const BlobCallbacks& callbacks) {
  std::vector<std::unique_ptr<Transfer>> transfers;
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    const auto& d = blobs[i].descriptor;
    auto t = std::make_unique<Transfer>();
    t->index = i;
    t->request = &blobs[i];
    t->callbacks = &callbacks;
    if (!cache.has_blob(d.digest, d.size)) open_target(*t, cache);
    // Checked again after the lock: another import may just have finished it.
    if (cache.has_blob(d.digest, d.size)) {
      if (t->fd && !t->own_temp) drop_stale_partial(*t);
      emit(*t, BlobEvent::Cached, d.size);
      continue;
    }
    if (t->written == t->size() && finish(*t, cache)) continue;
    transfers.push_back(std::move(t));
  }
  return transfers;
}

// The download loop: at most `parallel` transfers in the multi handle, the
// others waiting (some until their backoff ends).
class Scheduler {
 public:
  Scheduler(RegistryClient& client, const BlobCache& cache, int parallel)
      : client_(client), cache_(cache), parallel_(parallel), multi_(curl_multi_init()) {
    if (!multi_) throw Error("libcurl: cannot create a transfer group");
  }
  // curl wants easy handles out of the multi handle before either is freed.
  ~Scheduler() {
    for (Transfer* t : active_) curl_multi_remove_handle(multi_.get(), t->curl.get());
  }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void add(Transfer* t) { waiting_.push_back(t); }

  void run() {
    while (!waiting_.empty() || !active_.empty()) {
      throw_if_interrupted();
      auto next_start = start_ready();
      int running = 0;
      curl_multi_perform(multi_.get(), &running);
      handle_finished();
      if (waiting_.empty() && active_.empty()) break;
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_start - Clock::now()).count();
      curl_multi_poll(multi_.get(), nullptr, 0, static_cast<int>(std::clamp<long>(wait, 0, 200)), nullptr);
    }
  }

 private:
  // Starts what may start; returns when the next delayed transfer may.
  Clock::time_point start_ready() {
    auto now = Clock::now();
    auto next_start = now + std::chrono::milliseconds(200);
    for (auto it = waiting_.begin(); it != waiting_.end() && static_cast<int>(active_.size()) < parallel_;) {
      if ((*it)->not_before > now) {
        next_start = std::min(next_start, (*it)->not_before);
        ++it;
        continue;
      }
      start_request(**it, client_, multi_.get());
      active_.push_back(*it);
      it = waiting_.erase(it);
    }
    return next_start;
  }

  void handle_finished() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      CURLcode code = msg->data.result;
      curl_multi_remove_handle(multi_.get(), msg->easy_handle);
      std::erase(active_, t);
      Next next = on_done(*t, code, client_, cache_);
      if (next == Next::Done) continue;
      if (next == Next::RetryNow) t->not_before = {};
      if (next == Next::RetryLater) emit(*t, BlobEvent::Retrying, t->written);
      waiting_.push_back(t);
    }
  }

  RegistryClient& client_;
  const BlobCache& cache_;
  int parallel_;
  std::unique_ptr<CURLM, MultiDeleter> multi_;
  std::deque<Transfer*> waiting_;
  std::vector<Transfer*> active_;
};

}  // namespace

void fetch_blobs(RegistryClient& client, const BlobCache& cache, const std::vector<BlobRequest>& blobs,
                 const BlobCallbacks& callbacks, int parallel) {
  cache.create_directories();
  auto transfers = prepare(cache, blobs, callbacks);
  Scheduler scheduler(client, cache, parallel);
  for (auto& t : transfers) scheduler.add(t.get());
  scheduler.run();
}

}  // namespace hl::import
