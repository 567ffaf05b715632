#pragma once
// --stage at launch: the front end decides (image size against the room on
// its node), then copies the image once per job to node-local storage —
// itself on one machine, with Slurm's sbcast (a tree broadcast) to every
// node of the allocation — before the node step starts. Each holder opens
// its node's copy, checks it against rank 0's identity and unlinks it
// (image/image_metadata.hpp), so the copy lives exactly as long as the
// holder's fd; what is left when no holder got that far (the node step
// failed) goes when this object does.
#include <chrono>
#include <cstdint>
#include <string>

#include "image/serving_spec.hpp"
#include "launcher/plan.hpp"

namespace hl::launcher {

// Free memory of this node for a tmpfs copy: the least of MemAvailable and
// the room left in /dev/shm.
image::LeastRoom memory_room();

class StagedImage {
 public:
  // Stages `plan`'s image when its --stage says so and updates the plan's
  // node-step spec with the copy's path. Throws hl::Error (one line: the
  // node, the sizes, the fix) when an explicit mode does not fit or the
  // copy fails; an auto that does not fit is none.
  // `image_fd`: the image as run_plan opened it for plan.image_identity
  // (its size and mtime are the "before"; a staged launch adds the
  // metadata tail's checksum to the identity, read from this fd).
  static StagedImage stage(LaunchPlan& plan, int image_fd);
  StagedImage() = default;
  StagedImage(StagedImage&& other) noexcept;
  StagedImage& operator=(StagedImage&&) = delete;
  ~StagedImage();

  // The launch ended with `code`: 0 means every holder opened (and
  // unlinked) its copy, anything else that some node may not have.
  void finished(int code) { clean_up_nodes_ = code != 0; }

 private:
  StageCopy copy_ = StageCopy::none;
  std::string path_;
  int nodes_ = 0;
  bool clean_up_nodes_ = true;
};

}  // namespace hl::launcher
