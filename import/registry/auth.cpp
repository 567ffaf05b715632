#include "import/registry/auth.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

namespace hl::import {
namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~/:=").find(c) != std::string_view::npos;
}

// A small cursor over a WWW-Authenticate value.
struct Cursor {
  std::string_view text;
  std::size_t pos = 0;
  bool done() const { return pos >= text.size(); }
  char peek() const { return done() ? '\0' : text[pos]; }
  void skip_space() {
    while (!done() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  }
  void skip_separators() {
    while (!done() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == ',')) ++pos;
  }
  std::string token() {  // token chars, but '=' ends a parameter name
    if (done()) return {};
    std::size_t start = pos;
    while (!done() && is_token_char(text[pos]) && text[pos] != '=') ++pos;
    return std::string(text.substr(start, pos - start));
  }
  std::string value() {  // token68 or quoted-string
    if (peek() != '"') {
      std::size_t start = pos;
      while (!done() && text[pos] != ',' && text[pos] != ' ' && text[pos] != '\t') ++pos;
      return std::string(text.substr(start, pos - start));
    }
    std::string out;
    for (++pos; !done() && text[pos] != '"'; ++pos) {
      if (text[pos] == '\\' && pos + 1 < text.size()) ++pos;
      out += text[pos];
    }
    if (!done()) ++pos;  // closing quote
    return out;
  }
};

// After a scheme: is the next thing "name=" (a parameter of this challenge)?
bool at_parameter(Cursor c) {
  c.skip_separators();
  std::string name = c.token();
  c.skip_space();
  return !name.empty() && c.peek() == '=';
}

std::string percent_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

bool is_docker_hub_name(std::string_view host) {
  return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

bool same_machine(std::string_view machine, std::string_view registry) {
  if (machine == registry) return true;
  if (is_docker_hub_name(machine) && is_docker_hub_name(registry)) return true;
  // "machine example.org" covers example.org:5000 too (netrc has no ports).
  auto colon = registry.rfind(':');
  return colon != std::string_view::npos && registry.find(']') == std::string_view::npos &&
         machine == registry.substr(0, colon);
}

struct Word {
  std::string text;
  int line;
};

std::vector<Word> words_of(std::string_view text) {
  std::vector<Word> words;
  int line = 1;
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '\n') ++line;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '"') {
      std::string word;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        word += text[i];
      }
      ++i;
      words.push_back({word, line});
    } else {
      std::size_t start = i;
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      words.push_back({std::string(text.substr(start, i - start)), line});
    }
  }
  return words;
}

}  // namespace

std::string Challenge::param(const std::string& key) const {
  auto it = params.find(key);
  return it == params.end() ? std::string() : it->second;
}

std::vector<Challenge> parse_www_authenticate(std::string_view header) {
  std::vector<Challenge> challenges;
  Cursor c{header};
  while (true) {
    c.skip_separators();
    std::string scheme = c.token();
    if (scheme.empty()) break;
    Challenge challenge{lowercase(scheme), {}};
    while (at_parameter(c)) {
      c.skip_separators();
      std::string name = lowercase(c.token());
      c.skip_space();
      ++c.pos;  // '='
      c.skip_space();
      challenge.params[name] = c.value();
    }
    challenges.push_back(std::move(challenge));
  }
  return challenges;
}

std::string token_request_url(const Challenge& bearer, std::string_view default_scope) {
  std::string url = bearer.param("realm");
  std::vector<std::string> query;
  if (auto service = bearer.param("service"); !service.empty()) query.push_back("service=" + percent_encode(service));
  std::string scope = bearer.param("scope");
  if (scope.empty()) scope = default_scope;
  if (!scope.empty()) query.push_back("scope=" + percent_encode(scope));
  for (std::size_t i = 0; i < query.size(); ++i) {
    url += (i == 0 && url.find('?') == std::string::npos) ? "?" : "&";
    url += query[i];
  }
  return url;
}

std::optional<std::string> parse_token_response(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  for (const char* key : {"token", "access_token"}) {
    if (auto it = j.find(key); it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      return it->get<std::string>();
    }
  }
  return std::nullopt;
}

std::vector<Credential> parse_credentials(std::string_view text, std::string_view path) {
  std::vector<Credential> result;
  auto words = words_of(text);
  auto fail = [&](int line, const std::string& why) -> Error {
    return Error(fmt::format("credentials file `{}` line {}: {}", path, line, why),
                 "each entry is: machine HOST[:PORT] login USER password PASS");
  };
  for (std::size_t i = 0; i < words.size(); i += 2) {
    const Word& key = words[i];
    if (i + 1 >= words.size()) throw fail(key.line, fmt::format("`{}` needs a value", key.text));
    const std::string& value = words[i + 1].text;
    if (key.text == "machine") {
      result.push_back({value, {}, {}});
    } else if (key.text != "login" && key.text != "password") {
      throw fail(key.line, fmt::format("unknown word `{}`", key.text));
    } else if (result.empty()) {
      throw fail(key.line, fmt::format("`{}` before any `machine`", key.text));
    } else {
      (key.text == "login" ? result.back().login : result.back().password) = value;
    }
  }
  for (const auto& entry : result) {
    if (entry.login.empty() || entry.password.empty()) {
      throw Error(fmt::format("credentials file `{}`: machine {} needs both login and password", path, entry.machine),
                  "each entry is: machine HOST[:PORT] login USER password PASS");
    }
  }
  return result;
}

std::optional<Credential> find_credential(const std::vector<Credential>& credentials, std::string_view registry,
                                          std::string_view user) {
  for (bool exact : {true, false}) {
    for (const auto& entry : credentials) {
      bool machine_ok =
          exact ? (entry.machine == registry || (is_docker_hub_name(entry.machine) && is_docker_hub_name(registry)))
                : same_machine(entry.machine, registry);
      if (machine_ok && (user.empty() || entry.login == user)) return entry;
    }
  }
  return std::nullopt;
}

std::string default_credentials_path(const char* xdg_config_home, const char* home) {
  if (xdg_config_home != nullptr && xdg_config_home[0] == '/') {
    return std::string(xdg_config_home) + "/hpclaunch/credentials";
  }
  return std::string(home != nullptr && home[0] != '\0' ? home : "/") + "/.config/hpclaunch/credentials";
}

void check_credentials_file_mode(mode_t mode, uid_t owner, uid_t me, std::string_view path) {
  if (owner != me) {
    throw Error(fmt::format("credentials file `{}` belongs to uid {}, not to you (uid {})", path, owner, me),
                "it holds passwords: use a file of your own, mode 0600");
  }
  if ((mode & 077) != 0) {
    throw Error(fmt::format("credentials file `{}` can be read by others (mode {:04o}); it holds passwords", path,
                            mode & 07777),
                fmt::format("chmod 600 {}", path));
  }
}

std::vector<Credential> load_credentials(const std::string& path, bool required) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd && errno == ENOENT && !required) return {};
  if (!fd) throw_errno("open credentials file", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat", path);
  check_credentials_file_mode(st.st_mode, st.st_uid, ::getuid(), path);
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  if (n < 0) throw_errno("read", path);
  return parse_credentials(text, path);
}

std::string base64_encode(std::string_view data) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16 | static_cast<unsigned char>(data[i + 1]) << 8 |
                 static_cast<unsigned char>(data[i + 2]);
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], table[v & 63]};
  }
  if (i + 1 == data.size()) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    out += {table[v >> 18], table[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == data.size()) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16 | static_cast<unsigned char>(data[i + 1]) << 8;
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], '='};
  }
  return out;
}

}  // namespace hl::import
