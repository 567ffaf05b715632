// One libFuzzer binary per entry point: HL_FUZZ_ENTRY names it.
#include "tests/fuzz/entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return hl::fuzz::HL_FUZZ_ENTRY(data, size);
}
