#pragma once
// The fuzz entry points: one per input format hpclaunch reads from outside.
// libFuzzer binaries (tests/fuzz/CMakeLists.txt, clang, -DHPCLAUNCH_FUZZ=ON)
// and the corpus replay test (gcc, in the normal suite) call the same ones.
// Each returns 0; malformed input must end in hl::Error, never in a crash.
#include <cstddef>
#include <cstdint>

namespace hl::fuzz {

int superblock(const std::uint8_t* data, std::size_t size);
int squashfs_reader(const std::uint8_t* data, std::size_t size);
int join_protocol(const std::uint8_t* data, std::size_t size);
int image_reference(const std::uint8_t* data, std::size_t size);
int oci_manifest(const std::uint8_t* data, std::size_t size);
int oci_config(const std::uint8_t* data, std::size_t size);
int registry_auth(const std::uint8_t* data, std::size_t size);
int credentials(const std::uint8_t* data, std::size_t size);
int layer_paths(const std::uint8_t* data, std::size_t size);
int config_files(const std::uint8_t* data, std::size_t size);
int image_config(const std::uint8_t* data, std::size_t size);
int sif(const std::uint8_t* data, std::size_t size);

}  // namespace hl::fuzz
