#pragma once
// Small string and file helpers shared by every directory.
#include <string>
#include <string_view>
#include <vector>

namespace hl {

std::vector<std::string> split(std::string_view text, char separator);
std::string lowercase(std::string_view text);
bool starts_with_any(std::string_view text, const std::vector<std::string_view>& prefixes);
// Reads a whole file; throws Error naming the path.
std::string read_file(const std::string& path);
// Writes a file (created with `mode`), throws Error naming the path.
void write_file(const std::string& path, std::string_view content, unsigned mode = 0644);
// 16 lowercase hex characters from getrandom(): names that must not collide.
std::string random_hex(std::size_t bytes = 8);
std::string to_hex(const void* data, std::size_t size);
std::vector<unsigned char> from_hex(std::string_view hex);
// "a/b/../c" stays lexical: no stat, no symlink resolution.
std::string absolute_path(std::string_view path, std::string_view cwd);
std::string current_directory();
std::string host_name();
std::string dirname_of(std::string_view path);
// rm -rf without following symlinks; best effort (used on our own tmp dirs).
void remove_tree(const std::string& path);
// true when `path` equals `dir` or lies below it.
bool path_is_within(std::string_view path, std::string_view dir);

}  // namespace hl
