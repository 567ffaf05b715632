#pragma once
// Content digests ("sha256:<64 hex>") and a streaming sha256 (OpenSSL EVP):
// every blob is hashed while it is written, never read back afterwards.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace hl::import {

// True for "sha256:" followed by 64 lowercase hex digits, the only algorithm
// registries use for content we import.
bool is_sha256_digest(std::string_view digest);

// Throws hl::Error "<what> has an unsupported digest `x`" unless is_sha256_digest.
void require_sha256_digest(std::string_view digest, std::string_view what);

// The 64 hex digits of a valid digest (no validation: call after require_*).
std::string_view digest_hex(std::string_view digest);

// "sha256:abcdef012345" — short form for progress lines.
std::string short_digest(std::string_view digest);

// The one-line errors for content that fails verification (nothing is kept).
Error digest_mismatch(std::string_view what, std::string_view expected, std::string_view actual);
Error truncated_blob(std::string_view what, std::uint64_t got, std::uint64_t expected);

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // "sha256:<hex>"; the object is reset and can be reused afterwards.
  std::string finish();
  void reset();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

std::string sha256_digest_of(std::string_view data);

// Hashes the first `length` bytes of an open file (resuming a partial download).
void sha256_update_from_fd(Sha256& hash, int fd, std::size_t length, std::string_view path);

}  // namespace hl::import
