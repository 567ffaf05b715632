#pragma once
// Registry authentication, the pure parts: WWW-Authenticate challenges, the
// token request URL and response, and the credentials file
//   machine HOST[:PORT] login USER password PASS
// (netrc-like; default ~/.config/hpclaunch/credentials, refused unless only
// its owner can read it). The file I/O is one small function at the end.
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hl::import {

struct Challenge {
  std::string scheme;                         // lowercase: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lowercase: realm, service, scope, error
  std::string param(const std::string& key) const;
};

// All challenges of one WWW-Authenticate value (RFC 7235: comma-separated,
// quoted strings may contain commas, backslash escapes). Unparsable text ends
// the list; never throws.
std::vector<Challenge> parse_www_authenticate(std::string_view header);

// realm?service=…&scope=… (scope from the challenge, else `default_scope`).
std::string token_request_url(const Challenge& bearer, std::string_view default_scope);

// The token of a token server's JSON answer ("token", or OAuth2 "access_token").
std::optional<std::string> parse_token_response(std::string_view body);

struct Credential {
  std::string machine;  // host[:port] as in image references
  std::string login;
  std::string password;
};

// Throws hl::Error naming `path` and the line for syntax errors.
std::vector<Credential> parse_credentials(std::string_view text, std::string_view path);

// The entry for `registry` (exact host:port first, then the host alone; Docker
// Hub's names are one machine), with login `user` when one is given.
std::optional<Credential> find_credential(const std::vector<Credential>& credentials, std::string_view registry,
                                          std::string_view user);

// $XDG_CONFIG_HOME/hpclaunch/credentials or $HOME/.config/hpclaunch/credentials.
std::string default_credentials_path(const char* xdg_config_home, const char* home);

// The file holds passwords: refuse it unless it is ours and not readable by
// group or others (throws with the chmod that fixes it).
void check_credentials_file_mode(mode_t mode, uid_t owner, uid_t me, std::string_view path);

// Reads and checks the file. A missing file is no credentials unless
// `required` (the user named it); throws hl::Error otherwise.
std::vector<Credential> load_credentials(const std::string& path, bool required);

// base64 for the Basic scheme.
std::string base64_encode(std::string_view data);

}  // namespace hl::import
