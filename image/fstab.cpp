#include "image/fstab.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"

namespace hl::image {
namespace {

constexpr const char* kFstabHint =
    "write SRC DST [none|bind|rbind|tmpfs [OPTIONS]]; options: ro, rw, bind, rbind, nofail, x-create=dir|file|auto";
// A line longer than this is no mount line (and bounds the work per line).
constexpr std::size_t kMaxLine = 8192;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// fstab(5) escapes blanks in fields as \040 (and tab \011, backslash \134).
std::string unescape(std::string_view field) {
  auto octal = [&](std::size_t k) { return k < field.size() && field[k] >= '0' && field[k] <= '7'; };
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      int value = (field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0');
      if (value > 0 && value < 256) {
        out += static_cast<char>(value);
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

std::vector<std::string> fields_of(std::string_view line) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    std::size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > start) fields.push_back(unescape(line.substr(start, i - start)));
  }
  return fields;
}

bool all_of(std::string_view text, std::string_view allowed) {
  return !text.empty() && text.find_first_not_of(allowed) == std::string_view::npos;
}

// size=1g, size=50%, nr_inodes=10k, mode=1777: checked here, since the
// kernel's own error (EINVAL) would not say which option.
bool valid_tmpfs_option(std::string_view option) {
  auto eq = option.find('=');
  if (eq == std::string_view::npos) return false;
  std::string_view key = option.substr(0, eq);
  std::string_view value = option.substr(eq + 1);
  if (key == "mode") return value.size() >= 3 && value.size() <= 4 && all_of(value, "01234567");
  if (key != "size" && key != "nr_inodes") return false;
  if (value.empty()) return false;
  std::string_view digits = value;
  char last = value.back();
  if (last == 'k' || last == 'm' || last == 'g' || last == 'K' || last == 'M' || last == 'G' ||
      (last == '%' && key == "size")) {
    digits.remove_suffix(1);
  }
  return digits.size() <= 18 && all_of(digits, "0123456789");
}

Error bad_line(std::string_view what, const std::string& why) {
  return Error(fmt::format("{}: {}", what, why), kFstabHint);
}

bool is_type(std::string_view field) {
  return field == "none" || field == "bind" || field == "rbind" || field == "tmpfs";
}

}  // namespace

std::optional<std::string> expand_variables(std::string_view text, const EnvList& env, std::string* missing) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
      out += text[i];
      continue;
    }
    auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      out += text.substr(i);
      break;
    }
    std::string name(text.substr(i + 2, close - i - 2));
    if (!env_has(env, name)) {
      if (missing != nullptr) *missing = name;
      return std::nullopt;
    }
    out += env_value(env, name);
    i = close;
  }
  return out;
}

void apply_mount_options(std::string_view options, MountSpec& m, bool* fixed, std::string_view what) {
  std::vector<std::string> tmpfs_data;
  for (const auto& option : split(options, ',')) {
    if (option.empty() || option == "defaults") continue;
    if (option == "ro" || option == "rw") {
      m.read_only = option == "ro";
    } else if (option == "nofail") {
      m.optional = true;
    } else if ((option == "bind" || option == "rbind") && m.kind == MountKind::bind) {
      m.recursive = option == "rbind";
    } else if (option.starts_with("x-create=")) {
      std::string kind = option.substr(9);
      if (kind == "dir") {
        m.create = CreateKind::dir;
      } else if (kind == "file") {
        m.create = CreateKind::file;
      } else if (kind == "auto") {
        m.create = CreateKind::automatic;
      } else {
        throw bad_line(what, fmt::format("`{}`: x-create takes dir, file or auto", option));
      }
    } else if (option == "x-fixed" && fixed != nullptr) {
      *fixed = true;
    } else if (m.kind == MountKind::tmpfs && valid_tmpfs_option(option)) {
      tmpfs_data.push_back(option);
    } else {
      throw bad_line(what, fmt::format("unknown mount option `{}`", option));
    }
  }
  if (m.kind == MountKind::tmpfs) {
    if (m.create == CreateKind::file) throw bad_line(what, "a tmpfs is mounted on a directory, not x-create=file");
    std::string data;
    for (const auto& d : tmpfs_data) data += (data.empty() ? "" : ",") + d;
    m.data = data;
  }
}

std::optional<FstabEntry> parse_fstab_line(std::string_view line, const FstabContext& context) {
  const std::string& what = context.origin;
  if (line.size() > kMaxLine) throw bad_line(what, fmt::format("the line is longer than {} bytes", kMaxLine));
  auto fields = fields_of(line);
  if (fields.empty() || fields[0].starts_with('#')) return std::nullopt;
  if (fields.size() < 2) throw bad_line(what, "expected at least SRC and DST");
  if (fields.size() > 6) throw bad_line(what, "more than 6 fields");
  std::string type = fields.size() > 2 ? fields[2] : (fields[0] == "tmpfs" ? "tmpfs" : "none");
  std::string options = fields.size() > 3 ? fields[3] : "";
  if (fields.size() == 3 && !is_type(type)) {
    options = type;  // enroot's `/proc /proc rbind`: the options without a type
    type = "none";
  }
  if (!is_type(type)) throw bad_line(what, fmt::format("file system type `{}`: only binds and tmpfs", type));
  FstabEntry entry;
  MountSpec& m = entry.mount;
  m.origin = what;
  m.kind = type == "tmpfs" ? MountKind::tmpfs : MountKind::bind;
  if (type == "bind") m.recursive = false;
  apply_mount_options(options, m, context.allow_fixed ? &entry.fixed : nullptr, what);
  std::string missing;
  auto source = expand_variables(fields[0], context.env, &missing);
  auto target = expand_variables(fields[1], context.env, &missing);
  if (!source || !target) {
    if (m.optional) return std::nullopt;
    throw Error(fmt::format("{}: ${{{}}} is not set", what, missing), "set it, or mark the mount nofail");
  }
  if (m.kind == MountKind::tmpfs) {
    m.source = "tmpfs";
  } else if (source->starts_with('/') || !context.cwd.empty()) {
    m.source = absolute_path(*source, context.cwd.empty() ? "/" : context.cwd);
  } else {
    throw bad_line(what, fmt::format("the source `{}` must be an absolute path", *source));
  }
  m.target = absolute_path(*target, "/");
  check_mount_target(m.target, what);
  return entry;
}

std::vector<FstabEntry> parse_fstab(std::string_view text, const std::string& file, FstabContext context) {
  std::vector<FstabEntry> entries;
  int number = 0;
  for (const auto& line : split(text, '\n')) {
    ++number;
    context.origin = fmt::format("{}:{}", file, number);
    try {
      if (auto entry = parse_fstab_line(line, context)) entries.push_back(std::move(*entry));
    } catch (const Error& e) {
      // "`FILE` line N: why" reads better than FILE:N in an error.
      std::string message = e.what();
      std::string prefix = context.origin + ": ";
      if (message.starts_with(prefix)) message = message.substr(prefix.size());
      throw Error(fmt::format("`{}` line {}: {}", file, number, message), e.hint());
    }
  }
  return entries;
}

}  // namespace hl::image
