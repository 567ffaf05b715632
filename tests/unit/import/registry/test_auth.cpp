#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/error_text.hpp"
#include "common/error.hpp"
#include "common/files.hpp"
#include "common/strings.hpp"
#include "import/registry/auth.hpp"

using namespace hl;
using namespace hl::import;

namespace {

std::string error_of(const std::function<void()>& f) { return hl::testing::error_text(f, true); }

}  // namespace

TEST(WwwAuthenticate, BearerWithQuotedCommas) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull,push")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c[0].param("service"), "registry.docker.io");
  EXPECT_EQ(c[0].param("scope"), "repository:library/ubuntu:pull,push");
}

TEST(WwwAuthenticate, BasicAndMultipleChallenges) {
  auto c = parse_www_authenticate(R"(Basic realm="hpclaunch-test-basic")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].param("realm"), "hpclaunch-test-basic");
  auto two = parse_www_authenticate(
      R"(Basic realm="a", Bearer realm="http://x/token", service=reg, error="insufficient_scope")");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].scheme, "bearer");
  EXPECT_EQ(two[1].param("service"), "reg");
  EXPECT_EQ(two[1].param("error"), "insufficient_scope");
}

TEST(WwwAuthenticate, EscapesCaseAndGarbage) {
  auto c = parse_www_authenticate(R"(BEARER Realm="a\"b", SCOPE = "s")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].param("realm"), "a\"b");
  EXPECT_EQ(c[0].param("scope"), "s");
  EXPECT_TRUE(parse_www_authenticate("").empty());
  EXPECT_NO_THROW(parse_www_authenticate("Bearer realm=\"unterminated"));
  EXPECT_NO_THROW(parse_www_authenticate(",,,=,\"\""));
}

TEST(Token, RequestUrl) {
  Challenge c{"bearer", {{"realm", "http://127.0.0.1:5003/token"}, {"service", "test service"}}};
  EXPECT_EQ(token_request_url(c, "repository:a/b:pull"),
            "http://127.0.0.1:5003/token?service=test%20service&scope=repository%3Aa%2Fb%3Apull");
  c.params["scope"] = "repository:x:pull";
  c.params["realm"] = "https://auth.example/token?account=me";
  EXPECT_EQ(token_request_url(c, "ignored"),
            "https://auth.example/token?account=me&service=test%20service&scope=repository%3Ax%3Apull");
}

TEST(Token, Response) {
  EXPECT_EQ(parse_token_response(R"({"token":"abc","expires_in":300})").value(), "abc");
  EXPECT_EQ(parse_token_response(R"({"access_token":"xyz"})").value(), "xyz");
  EXPECT_FALSE(parse_token_response(R"({"token":""})"));
  EXPECT_FALSE(parse_token_response("not json"));
}

TEST(Credentials, ParsesNetrcLikeEntries) {
  auto c = parse_credentials(
      "# comment\n"
      "machine nvcr.io login $oauthtoken password \"with space\"\n"
      "machine 127.0.0.1:5002\n  login hlbasic\n  password basic-secret\n",
      "creds");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].machine, "nvcr.io");
  EXPECT_EQ(c[0].login, "$oauthtoken");
  EXPECT_EQ(c[0].password, "with space");
  EXPECT_EQ(c[1].machine, "127.0.0.1:5002");
  EXPECT_EQ(c[1].password, "basic-secret");
  EXPECT_TRUE(parse_credentials("", "creds").empty());
}

TEST(Credentials, SyntaxErrorsNameTheLine) {
  EXPECT_EQ(error_of([] { parse_credentials("machine a login b password c\nport 5\n", "/x/creds"); }),
            "credentials file `/x/creds` line 2: unknown word `port`; "
            "each entry is: machine HOST[:PORT] login USER password PASS");
  EXPECT_NE(error_of([] { parse_credentials("login b password c", "f"); }).find("line 1: `login` before any `machine`"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_credentials("machine a login", "f"); }).find("`login` needs a value"),
            std::string::npos);
  EXPECT_NE(
      error_of([] { parse_credentials("machine a login b", "f"); }).find("machine a needs both login and password"),
      std::string::npos);
}

TEST(Credentials, FindByRegistryAndUser) {
  std::vector<Credential> c = {{"example.org", "anna", "1"},
                               {"example.org:5000", "bert", "2"},
                               {"docker.io", "carl", "3"},
                               {"example.org:5000", "dora", "4"}};
  EXPECT_EQ(find_credential(c, "example.org:5000", "")->login, "bert");  // exact host:port first
  EXPECT_EQ(find_credential(c, "example.org:5000", "dora")->login, "dora");
  EXPECT_EQ(find_credential(c, "example.org:5000", "anna")->login, "anna");  // host alone covers ports
  EXPECT_EQ(find_credential(c, "example.org", "")->login, "anna");
  EXPECT_EQ(find_credential(c, "registry-1.docker.io", "")->login, "carl");
  EXPECT_FALSE(find_credential(c, "other.org", ""));
  EXPECT_FALSE(find_credential(c, "example.org", "zed"));
}

TEST(Credentials, DefaultPath) {
  EXPECT_EQ(default_credentials_path("/xdg", "/home/u"), "/xdg/hpclaunch/credentials");
  EXPECT_EQ(default_credentials_path(nullptr, "/home/u"), "/home/u/.config/hpclaunch/credentials");
  EXPECT_EQ(default_credentials_path("relative", "/home/u"), "/home/u/.config/hpclaunch/credentials");
}

TEST(Credentials, ModeCheck) {
  EXPECT_NO_THROW(check_credentials_file_mode(0100600, 1000, 1000, "c"));
  EXPECT_NO_THROW(check_credentials_file_mode(0100400, 1000, 1000, "c"));
  EXPECT_EQ(error_of([] { check_credentials_file_mode(0100644, 1000, 1000, "/h/.config/hpclaunch/credentials"); }),
            "credentials file `/h/.config/hpclaunch/credentials` can be read by others (mode 0644); it holds "
            "passwords; chmod 600 /h/.config/hpclaunch/credentials");
  EXPECT_NE(error_of([] { check_credentials_file_mode(0100640, 1000, 1000, "c"); }).find("mode 0640"),
            std::string::npos);
  EXPECT_NE(error_of([] { check_credentials_file_mode(0100600, 0, 1000, "c"); }).find("belongs to uid 0"),
            std::string::npos);
}

TEST(Credentials, LoadChecksTheRealFile) {
  std::string dir = "/tmp/hl-test-creds-" + random_hex();
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  std::string path = dir + "/credentials";
  EXPECT_TRUE(load_credentials(path, false).empty());  // missing default file: none
  EXPECT_NE(error_of([&] { load_credentials(path, true); }).find("No such file"), std::string::npos);
  write_file(path, "machine a login b password c\n", 0644);
  ::chmod(path.c_str(), 0644);
  EXPECT_NE(error_of([&] { load_credentials(path, false); }).find("chmod 600"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  EXPECT_EQ(load_credentials(path, false).at(0).password, "c");
  remove_tree(dir);
}

TEST(Base64, Encodes) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("hlbasic:basic-secret"), "aGxiYXNpYzpiYXNpYy1zZWNyZXQ=");
}
