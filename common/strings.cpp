#include "common/strings.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cerrno>
#include <climits>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace hl {

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t pos = text.find(separator, start);
    parts.emplace_back(text.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

long long parse_integer(std::string_view text, std::string_view what, long long min, long long max) {
  long long value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || err != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw Error(fmt::format("{}=`{}` is not a whole number from {} to {}", what, text, min, max),
                fmt::format("set {} to a number", what));
  }
  return value;
}

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1000) return fmt::format("{} B", bytes);
  const char* units[] = {"KB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes) / 1000;
  int unit = 0;
  while (value >= 1000 && unit < 3) {
    value /= 1000;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

bool starts_with_any(std::string_view text, const std::vector<std::string_view>& prefixes) {
  for (auto prefix : prefixes) {
    if (text.starts_with(prefix)) return true;
  }
  return false;
}

std::string to_hex(const void* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::string hex;
  hex.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    hex += digits[bytes[i] >> 4];
    hex += digits[bytes[i] & 0xf];
  }
  return hex;
}

std::vector<unsigned char> from_hex(std::string_view hex) {
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw Error("invalid hex digit in internal message");
  };
  if (hex.size() % 2 != 0) throw Error("odd-length hex string in internal message");
  std::vector<unsigned char> bytes(hex.size() / 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<unsigned char>(value(hex[2 * i]) << 4 | value(hex[2 * i + 1]));
  }
  return bytes;
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (::getrandom(buffer.data(), buffer.size(), 0) != static_cast<ssize_t>(buffer.size())) {
    throw_errno("getrandom");
  }
  return to_hex(buffer.data(), buffer.size());
}

std::string absolute_path(std::string_view path, std::string_view cwd) {
  std::string joined = path.starts_with('/') ? std::string(path) : std::string(cwd) + "/" + std::string(path);
  std::vector<std::string> parts;
  for (auto& part : split(joined, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string result;
  for (auto& part : parts) result += "/" + part;
  return result.empty() ? "/" : result;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

std::string current_directory() {
  char buffer[PATH_MAX];
  if (::getcwd(buffer, sizeof buffer) == nullptr) throw_errno("getcwd");
  return buffer;
}

std::string dirname_of(std::string_view path) {
  auto pos = path.rfind('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

bool path_is_within(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  if (!path.starts_with(dir)) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

}  // namespace hl
