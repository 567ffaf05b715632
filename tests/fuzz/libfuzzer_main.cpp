// One libFuzzer binary per entry point: HL_FUZZ_ENTRY names it.
#include "tests/fuzz/entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return hl::fuzz::HL_FUZZ_ENTRY(data, size);
}

// UBSan is built recoverable so that tests/fuzz/ubsan.supp can name open
// findings in other people's code; any other undefined behaviour stops the
// run like a crash, whoever starts the binary.
extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" HL_UBSAN_SUPPRESSIONS;
}
