#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "import/registry/digest.hpp"
#include "import/registry/http.hpp"

using namespace hl;
using namespace hl::import;

TEST(Digest, Sha256KnownValues) {
  EXPECT_EQ(sha256_digest_of(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 h;
  h.update("hel");
  h.update("lo");
  EXPECT_EQ(h.finish(), "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_EQ(h.finish(), sha256_digest_of(""));  // reset after finish
}

TEST(Digest, Validation) {
  EXPECT_TRUE(is_sha256_digest("sha256:" + std::string(64, 'f')));
  EXPECT_FALSE(is_sha256_digest("sha256:" + std::string(64, 'F')));
  EXPECT_FALSE(is_sha256_digest("sha256:" + std::string(63, 'f')));
  EXPECT_FALSE(is_sha256_digest("sha512:" + std::string(64, 'f')));
  EXPECT_EQ(short_digest("sha256:" + std::string(64, 'a')), "sha256:aaaaaaaaaaaa");
  EXPECT_EQ(digest_hex("sha256:abc"), "abc");
}

TEST(Digest, ResumeHashFromFile) {
  std::string path = "/tmp/hl-test-digest-" + random_hex();
  write_file(path, "hello world");
  UniqueFd fd(::open(path.c_str(), O_RDONLY));
  Sha256 h;
  sha256_update_from_fd(h, fd.get(), 5, path);
  EXPECT_EQ(h.finish(), sha256_digest_of("hello"));
  EXPECT_THROW(sha256_update_from_fd(h, fd.get(), 100, path), Error);
  ::unlink(path.c_str());
}

TEST(Digest, ErrorsAreOneLine) {
  Error m = digest_mismatch("layer 2 (sha256:aaa) of image t:1", "sha256:aaa", "sha256:bbb");
  EXPECT_EQ(std::string(m.what()),
            "digest mismatch for layer 2 (sha256:aaa) of image t:1: expected sha256:aaa, got sha256:bbb");
  Error t = truncated_blob("layer 1 of image t:1", 10, 20);
  EXPECT_EQ(std::string(t.what()), "layer 1 of image t:1 is truncated: the registry sent 10 of 20 bytes");
}

TEST(Http, RetryPolicy) {
  EXPECT_TRUE(is_retryable_status(500));
  EXPECT_TRUE(is_retryable_status(503));
  EXPECT_TRUE(is_retryable_status(429));
  EXPECT_FALSE(is_retryable_status(404));
  EXPECT_FALSE(is_retryable_status(401));
  EXPECT_TRUE(is_retryable(CURLE_OPERATION_TIMEDOUT));
  EXPECT_TRUE(is_retryable(CURLE_PARTIAL_FILE));
  EXPECT_FALSE(is_retryable(CURLE_SSL_CONNECT_ERROR));
  EXPECT_EQ(retry_delay(1).count(), 250);
  EXPECT_EQ(retry_delay(2).count(), 500);
  EXPECT_EQ(retry_delay(10).count(), 4000);  // bounded
  EXPECT_NE(describe_curl_error(CURLE_SSL_CONNECT_ERROR, "").find("--insecure"), std::string::npos);
}

TEST(Http, ResponseHeadersKeepTheLastResponse) {
  ResponseHeaders h;
  h.add_line("HTTP/1.1 307 Temporary Redirect\r\n");
  h.add_line("Location: http://x/y\r\n");
  h.add_line("HTTP/1.1 200 OK\r\n");
  h.add_line("Content-Type: application/json\r\n");
  h.add_line("Www-Authenticate: a\r\n");
  h.add_line("WWW-Authenticate: b\r\n");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.get("location"), "");
  EXPECT_EQ(h.get("content-type"), "application/json");
  EXPECT_EQ(h.get("www-authenticate"), "a, b");
}
