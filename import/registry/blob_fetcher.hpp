#pragma once
// Parallel, resumable, verified blob downloads into the blob cache (curl
// multi). Each blob is hashed while it streams to <hex>.partial and renamed to
// its final name only after its sha256 matched; a partial file left by an
// interrupted import is resumed with a Range request (or restarted when the
// server ignores the range). Transient failures (5xx, 429, stalls, dropped
// connections) are retried with backoff, a bounded number of times; a second
// stall and the deadline end the fetch (transfer_limits.hpp).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "import/registry/blob_cache.hpp"
#include "import/registry/manifest.hpp"
#include "import/registry/registry_client.hpp"

namespace hl::import {

struct BlobRequest {
  Descriptor descriptor;
  std::string what;  // "layer 2 (sha256:…) of test/app:v1", for errors
};

enum class BlobEvent { Cached, Started, Resumed, Retrying, Verified };

struct BlobCallbacks {
  // index into the request list, the event, and bytes (resume offset, or done)
  std::function<void(std::size_t, BlobEvent, std::uint64_t)> event;
  std::function<void(std::size_t, std::uint64_t done)> bytes;
};

// Downloads every blob not already in `cache`, at most `parallel` at a time.
// On return each is at cache.blob_path(digest). Throws hl::Error (one line
// naming the blob and image) for digest mismatches, truncated blobs, HTTP
// errors; partial files of good transfers are kept for the next attempt.
void fetch_blobs(RegistryClient& client, const BlobCache& cache, const std::vector<BlobRequest>& blobs,
                 const BlobCallbacks& callbacks, int parallel);

}  // namespace hl::import
