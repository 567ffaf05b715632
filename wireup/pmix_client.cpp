#include "wireup/pmix_client.hpp"

#include <pmix.h>

#include <condition_variable>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "common/error.hpp"

namespace hl::wireup {

struct PmixClient::Proc {
  pmix_proc_t self;
};

struct PmixClient::PendingFence {
  std::mutex mutex;
  std::condition_variable done_changed;
  bool done = false;
  pmix_status_t status = PMIX_SUCCESS;
};

namespace {

Error pmix_error(const char* call, pmix_status_t status) {
  return Error(fmt::format("{} failed: {}", call, PMIx_Error_string(status)));
}

void load_key(pmix_key_t key, std::string_view name) {
  if (name.size() >= PMIX_MAX_KEYLEN) throw Error(fmt::format("internal: PMIx key `{}` too long", name));
  std::memset(key, 0, PMIX_MAX_KEYLEN + 1);
  std::memcpy(key, name.data(), name.size());
}

}  // namespace

PmixClient PmixClient::init() {
  PmixClient client;
  client.proc_ = std::make_unique<Proc>();
  pmix_status_t rc = PMIx_Init(&client.proc_->self, nullptr, 0);
  if (rc != PMIX_SUCCESS) {
    client.proc_.reset();
    throw Error(fmt::format("PMIx_Init failed: {}", PMIx_Error_string(rc)),
                "the node step needs a PMIx server: srun --mpi=pmix (Slurm's PMIx plugin) or Open MPI's mpirun; run "
                "`hpclaunch doctor`");
  }
  client.rank_ = static_cast<int>(client.proc_->self.rank);
  client.namespace_ = client.proc_->self.nspace;
  pmix_proc_t job;
  PMIX_PROC_CONSTRUCT(&job);
  PMIX_LOAD_PROCID(&job, client.proc_->self.nspace, PMIX_RANK_WILDCARD);
  pmix_value_t* value = nullptr;
  rc = PMIx_Get(&job, PMIX_JOB_SIZE, nullptr, 0, &value);
  if (rc != PMIX_SUCCESS || value == nullptr) throw pmix_error("PMIx_Get(PMIX_JOB_SIZE)", rc);
  client.size_ = static_cast<int>(value->data.uint32);
  PMIX_VALUE_RELEASE(value);
  return client;
}

PmixClient::PmixClient(PmixClient&&) noexcept = default;
PmixClient& PmixClient::operator=(PmixClient&&) noexcept = default;

PmixClient::~PmixClient() {
  if (proc_) PMIx_Finalize(nullptr, 0);
}

void PmixClient::put(std::string_view key, const std::string& text) {
  pmix_key_t name;
  load_key(name, key);
  pmix_value_t value;
  PMIX_VALUE_CONSTRUCT(&value);
  value.type = PMIX_STRING;
  value.data.string = const_cast<char*>(text.c_str());
  pmix_status_t rc = PMIx_Put(PMIX_GLOBAL, name, &value);
  if (rc != PMIX_SUCCESS) throw pmix_error("PMIx_Put", rc);
  rc = PMIx_Commit();
  if (rc != PMIX_SUCCESS) throw pmix_error("PMIx_Commit", rc);
}

void PmixClient::fence(std::chrono::milliseconds timeout) {
  auto pending = std::make_shared<PendingFence>();
  fences_.push_back(pending);
  pmix_info_t info;
  PMIX_INFO_CONSTRUCT(&info);
  bool collect = true;
  PMIX_INFO_LOAD(&info, PMIX_COLLECT_DATA, &collect, PMIX_BOOL);
  auto on_done = [](pmix_status_t status, void* data) {
    auto* fence = static_cast<PendingFence*>(data);
    std::lock_guard lock(fence->mutex);
    fence->status = status;
    fence->done = true;
    fence->done_changed.notify_all();
  };
  pmix_status_t rc = PMIx_Fence_nb(nullptr, 0, &info, 1, on_done, pending.get());
  PMIX_INFO_DESTRUCT(&info);
  if (rc != PMIX_SUCCESS) throw pmix_error("PMIx_Fence_nb", rc);
  std::unique_lock lock(pending->mutex);
  if (!pending->done_changed.wait_for(lock, timeout, [&] { return pending->done; })) {
    proc_.release();  // abandoned: finalizing would wait for the lost peer too
    throw Error(fmt::format("the node step's PMIx fence did not complete within {} s: a node's contribution was lost "
                            "(Slurm's PMIx plugin logs \"Connection reject\" in slurmd's log when it drops one)",
                            std::chrono::duration_cast<std::chrono::seconds>(timeout).count()),
                "hpclaunch starts the node step again; if nodes are slow to start, raise HPCLAUNCH_FENCE_TIMEOUT");
  }
  if (pending->status != PMIX_SUCCESS) throw pmix_error("PMIx_Fence", pending->status);
}

std::string PmixClient::get(int rank, std::string_view key) const {
  pmix_key_t name;
  load_key(name, key);
  pmix_proc_t proc;
  PMIX_PROC_CONSTRUCT(&proc);
  PMIX_LOAD_PROCID(&proc, proc_->self.nspace, static_cast<pmix_rank_t>(rank));
  pmix_value_t* value = nullptr;
  pmix_status_t rc = PMIx_Get(&proc, name, nullptr, 0, &value);
  if (rc != PMIX_SUCCESS || value == nullptr) throw pmix_error("PMIx_Get", rc);
  std::string text = value->type == PMIX_STRING && value->data.string != nullptr ? value->data.string : "";
  PMIX_VALUE_RELEASE(value);
  if (text.empty()) throw Error(fmt::format("PMIx_Get of `{}` from rank {}: not a string", key, rank));
  return text;
}

void PmixClient::finalize() {
  if (!proc_) return;
  proc_.reset();
  pmix_status_t rc = PMIx_Finalize(nullptr, 0);
  if (rc != PMIX_SUCCESS) throw pmix_error("PMIx_Finalize", rc);
}

}  // namespace hl::wireup
