// What the host probes parse: the dynamic loader's list of a binary's libraries.
#include <gtest/gtest.h>

#include "doctor/host_probes.hpp"

using namespace hl::doctor;

TEST(DoctorParsers, LibrariesTheLoaderCannotFind) {
  constexpr const char* trace =
      "\tlinux-vdso.so.1 (0x00007fb4f5e8b000)\n"
      "\tlibsquashfuse_ll.so.0 => not found\n"
      "\tlibpmix.so.2 => not found\n"
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fb4f5c95000)\n";
  EXPECT_EQ(libraries_not_found(trace), (std::vector<std::string>{"libsquashfuse_ll.so.0", "libpmix.so.2"}));
  EXPECT_TRUE(libraries_not_found("\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n").empty());
}
