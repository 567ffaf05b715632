#pragma once
// Move-only owner of a C library handle (hwloc_topology_t, FILE*, DIR*,
// sqfs_ll*, fuse_session*): the deleter runs exactly once, on every path.
#include <utility>

namespace hl {

template <typename T, auto Deleter>
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(T handle) noexcept : handle_(handle) {}
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  UniqueHandle(UniqueHandle&& other) noexcept : handle_(other.release()) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueHandle() { reset(); }

  T get() const noexcept { return handle_; }
  explicit operator bool() const noexcept { return handle_ != T{}; }
  T release() noexcept { return std::exchange(handle_, T{}); }
  void reset(T handle = T{}) noexcept {
    if (handle_ != T{}) Deleter(handle_);
    handle_ = handle;
  }

 private:
  T handle_{};
};

}  // namespace hl
