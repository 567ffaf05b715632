#include "import/registry/digest.hpp"

#include <unistd.h>

#include <cerrno>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "common/error.hpp"

namespace hl::import {

bool is_sha256_digest(std::string_view digest) {
  constexpr std::string_view prefix = "sha256:";
  if (!digest.starts_with(prefix) || digest.size() != prefix.size() + 64) return false;
  for (char c : digest.substr(prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void require_sha256_digest(std::string_view digest, std::string_view what) {
  if (is_sha256_digest(digest)) return;
  if (digest.find(':') != std::string_view::npos && !digest.starts_with("sha256:")) {
    throw Error(fmt::format("{} uses digest `{}`: only sha256 digests are supported", what, digest));
  }
  throw Error(
      fmt::format("{} has a malformed digest `{}` (expected sha256: and 64 lowercase hex digits)", what, digest));
}

std::string_view digest_hex(std::string_view digest) { return digest.substr(digest.find(':') + 1); }

std::string short_digest(std::string_view digest) {
  return std::string(digest.substr(0, std::min<std::size_t>(digest.size(), 7 + 12)));
}

Error digest_mismatch(std::string_view what, std::string_view expected, std::string_view actual) {
  return Error(fmt::format("digest mismatch for {}: expected {}, got {}", what, expected, actual),
               "the registry sent different content (corrupted storage or a proxy); nothing was kept");
}

Error truncated_blob(std::string_view what, std::uint64_t got, std::uint64_t expected) {
  return Error(fmt::format("{} is truncated: the registry sent {} of {} bytes", what, got, expected),
               "the registry's copy is damaged or the connection kept dropping; nothing was kept");
}

struct Sha256::Context {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Context() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  if (context_->ctx == nullptr) throw Error("OpenSSL: cannot allocate a digest context");
  reset();
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::reset() {
  if (EVP_DigestInit_ex(context_->ctx, EVP_sha256(), nullptr) != 1) throw Error("OpenSSL: sha256 init failed");
}

void Sha256::update(const void* data, std::size_t size) {
  if (EVP_DigestUpdate(context_->ctx, data, size) != 1) throw Error("OpenSSL: sha256 update failed");
}

std::string Sha256::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->ctx, out, &length) != 1) throw Error("OpenSSL: sha256 final failed");
  reset();
  static constexpr char digits[] = "0123456789abcdef";
  std::string result = "sha256:";
  for (unsigned int i = 0; i < length; ++i) {
    result += digits[out[i] >> 4];
    result += digits[out[i] & 0xf];
  }
  return result;
}

std::string sha256_digest_of(std::string_view data) {
  Sha256 hash;
  hash.update(data);
  return hash.finish();
}

void sha256_update_from_fd(Sha256& hash, int fd, std::size_t length, std::string_view path) {
  std::vector<char> buffer(1 << 20);
  std::size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, buffer.data(), std::min(buffer.size(), length - done), static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", path);
    if (n == 0) throw Error(fmt::format("read `{}`: file shorter than expected", path));
    hash.update(buffer.data(), static_cast<std::size_t>(n));
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace hl::import
