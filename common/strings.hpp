#pragma once
// Small string helpers shared by every directory (files: common/files.hpp).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hl {

std::vector<std::string> split(std::string_view text, char separator);
std::string lowercase(std::string_view text);
// A whole decimal integer in [min, max]; anything else (empty, "abc", "4x",
// out of range) throws Error naming `what` (e.g. "SLURM_NTASKS=`abc`").
long long parse_integer(std::string_view text, std::string_view what, long long min, long long max);
// "0 B", "512 B", "1.5 KB", "70.2 MB", "1.3 GB" (powers of 1000, as download tools show).
std::string human_bytes(std::uint64_t bytes);
bool starts_with_any(std::string_view text, const std::vector<std::string_view>& prefixes);
// 16 lowercase hex characters from getrandom(): names that must not collide.
std::string random_hex(std::size_t bytes = 8);
std::string to_hex(const void* data, std::size_t size);
std::vector<unsigned char> from_hex(std::string_view hex);
// "a/b/../c" stays lexical: no stat, no symlink resolution.
std::string absolute_path(std::string_view path, std::string_view cwd);
std::string current_directory();
std::string host_name();
std::string dirname_of(std::string_view path);
// true when `path` equals `dir` or lies below it.
bool path_is_within(std::string_view path, std::string_view dir);

}  // namespace hl
