#pragma once
// The node step's PMIx client: the process-management layer MPI itself
// starts from, under srun --mpi=pmix and Open MPI's mpirun alike, without
// MPI's transports (Open MPI 4.1.4's MPI_Init crashes now and then in
// btl_tcp; a put/fence/get costs ~20-40 ms over a bare srun, MPI_Init ~300).
// Moves small strings: a value put by one rank, a fence that collects
// everyone's, gets from any rank.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hl::wireup {

class PmixClient {
 public:
  // PMIx_Init; throws Error naming the fix when no PMIx server is there.
  static PmixClient init();
  PmixClient(PmixClient&&) noexcept;
  PmixClient& operator=(PmixClient&&) noexcept;
  ~PmixClient();  // finalizes if finalize() was not called

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& job() const { return namespace_; }

  // PMIx_Put(PMIX_GLOBAL) of a string, then PMIx_Commit.
  void put(std::string_view key, const std::string& value);
  // PMIx_Fence over the whole job with PMIX_COLLECT_DATA: afterwards every
  // rank's committed values can be read locally. Throws Error when it has
  // not completed within `timeout` (the client is then abandoned: no
  // PMIx_Finalize, which could wait for the same lost peer).
  void fence(std::chrono::milliseconds timeout);
  std::string get(int rank, std::string_view key) const;
  void finalize();

 private:
  PmixClient() = default;
  struct Proc;
  struct PendingFence;
  std::unique_ptr<Proc> proc_;
  // Fences are non-blocking underneath: a fence we stopped waiting for may
  // still call back, so its state lives as long as the client.
  std::vector<std::shared_ptr<PendingFence>> fences_;
  int rank_ = 0;
  int size_ = 1;
  std::string namespace_;
};

}  // namespace hl::wireup
