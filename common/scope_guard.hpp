#pragma once
// Runs a cleanup on scope exit unless dismissed: multi-step setup (mount ->
// rootfs -> pivot) rolls back whatever it did when a later step throws.
#include <utility>

namespace hl {

template <typename F>
class ScopeGuard {
 public:
  explicit ScopeGuard(F f) : f_(std::move(f)) {}
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ~ScopeGuard() {
    if (active_) f_();
  }
  void dismiss() noexcept { active_ = false; }

 private:
  F f_;
  bool active_ = true;
};

}  // namespace hl
