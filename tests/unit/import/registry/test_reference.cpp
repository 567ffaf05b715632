#include <gtest/gtest.h>

#include "common/error.hpp"
#include "import/registry/reference.hpp"

using namespace hl;
using namespace hl::import;

namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

std::string error_of(std::string_view uri) {
  try {
    parse_image_reference(uri);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(Reference, DockerHubDefaults) {
  auto r = parse_image_reference("docker://ubuntu");
  EXPECT_EQ(r.registry, "docker.io");
  EXPECT_EQ(r.api_host(), "registry-1.docker.io");
  EXPECT_EQ(r.repository, "library/ubuntu");
  EXPECT_EQ(r.tag, "latest");
  EXPECT_EQ(r.digest, "");
  EXPECT_EQ(r.manifest_reference(), "latest");
  EXPECT_EQ(default_output_name(r), "library+ubuntu+latest.sqsh");
}

TEST(Reference, DockerHubTagAndNamespace) {
  auto r = parse_image_reference("docker://ubuntu:22.04");
  EXPECT_EQ(r.repository, "library/ubuntu");
  EXPECT_EQ(r.tag, "22.04");
  EXPECT_EQ(default_output_name(r), "library+ubuntu+22.04.sqsh");
  auto n = parse_image_reference("docker://nvidia/cuda:12.2.0-base-ubuntu22.04");
  EXPECT_EQ(n.registry, "docker.io");
  EXPECT_EQ(n.repository, "nvidia/cuda");
  EXPECT_EQ(n.tag, "12.2.0-base-ubuntu22.04");
}

TEST(Reference, EnrootForm) {
  auto r = parse_image_reference("docker://alice@nvcr.io#nvidia/pytorch:23.10-py3");
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(r.registry, "nvcr.io");
  EXPECT_EQ(r.api_host(), "nvcr.io");
  EXPECT_EQ(r.repository, "nvidia/pytorch");
  EXPECT_EQ(r.tag, "23.10-py3");
  EXPECT_EQ(default_output_name(r), "nvcr.io+nvidia+pytorch+23.10-py3.sqsh");
  auto p = parse_image_reference("docker://127.0.0.1:5000#test/app");
  EXPECT_EQ(p.registry, "127.0.0.1:5000");
  EXPECT_EQ(p.repository, "test/app");
  EXPECT_EQ(p.tag, "latest");
  // Docker Hub named explicitly still gets library/.
  EXPECT_EQ(parse_image_reference("docker://docker.io#alpine").repository, "library/alpine");
}

TEST(Reference, RegistryPortForm) {
  auto r = parse_image_reference("docker://127.0.0.1:5000/test/app:v1");
  EXPECT_EQ(r.registry, "127.0.0.1:5000");
  EXPECT_EQ(r.repository, "test/app");
  EXPECT_EQ(r.tag, "v1");
  EXPECT_EQ(r.display(), "127.0.0.1:5000/test/app:v1");
  EXPECT_EQ(default_output_name(r), "127.0.0.1+5000+test+app+v1.sqsh");
  EXPECT_EQ(parse_image_reference("docker://localhost/app").registry, "localhost");
  EXPECT_EQ(parse_image_reference("docker://ghcr.io/org/sub/app").repository, "org/sub/app");
  // A first component without a dot or port is a Docker Hub namespace.
  EXPECT_EQ(parse_image_reference("docker://myorg/app").registry, "docker.io");
  EXPECT_EQ(parse_image_reference("docker://bob@localhost:5000/app").user, "bob");
}

TEST(Reference, Digests) {
  auto r = parse_image_reference("docker://ubuntu@" + kDigest);
  EXPECT_EQ(r.user, "");
  EXPECT_EQ(r.digest, kDigest);
  EXPECT_EQ(r.manifest_reference(), kDigest);
  EXPECT_EQ(default_output_name(r), "library+ubuntu+sha256+" + std::string(64, 'a') + ".sqsh");
  auto both = parse_image_reference("docker://127.0.0.1:5000/a/b:v2@" + kDigest);
  EXPECT_EQ(both.tag, "v2");
  EXPECT_EQ(both.manifest_reference(), kDigest);  // the digest wins
  auto enroot = parse_image_reference("docker://u@reg.example#a/b@" + kDigest);
  EXPECT_EQ(enroot.user, "u");
  EXPECT_EQ(enroot.digest, kDigest);
}

TEST(Reference, RejectsBadReferences) {
  EXPECT_NE(error_of("ubuntu").find("only docker:// references"), std::string::npos);
  EXPECT_NE(error_of("oci://x").find("only docker://"), std::string::npos);
  EXPECT_NE(error_of("docker://").find("no image name"), std::string::npos);
  EXPECT_NE(error_of("docker://Ubuntu").find("image name `library/Ubuntu` is not valid"), std::string::npos);
  EXPECT_NE(error_of("docker://a//b").find("is not valid"), std::string::npos);
  EXPECT_NE(error_of("docker://a/b-").find("is not valid"), std::string::npos);
  EXPECT_NE(error_of("docker://a/b:-x").find("tag `-x` is not valid"), std::string::npos);
  EXPECT_NE(error_of("docker://a/b:").find("tag `` is not valid"), std::string::npos);
  EXPECT_NE(error_of("docker://a/b@sha256:abc").find("is not a sha256 digest"), std::string::npos);
  EXPECT_NE(error_of("docker://a/b@md5:" + std::string(32, '0')).find("is not a sha256 digest"), std::string::npos);
  EXPECT_NE(error_of("docker://reg:99999/a").find("registry `reg:99999` is not a host[:port]"), std::string::npos);
  EXPECT_NE(error_of("docker://bad_host#a").find("registry `bad_host`"), std::string::npos);
  EXPECT_NE(error_of("docker://@reg.io/a").find("the user before `@` is empty"), std::string::npos);
  EXPECT_NE(error_of("docker://reg.io#").find("no image name"), std::string::npos);
}

TEST(Reference, ErrorCarriesTheFormsAsHint) {
  try {
    parse_image_reference("docker://UP");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.hint().find("docker://[USER@][REGISTRY#]IMAGE"), std::string::npos);
  }
}

TEST(Reference, ComponentGrammar) {
  EXPECT_EQ(parse_image_reference("docker://reg.io/a__b/c.d/e--f_g").repository, "a__b/c.d/e--f_g");
  EXPECT_NE(error_of("docker://reg.io/a___b").find("not valid"), std::string::npos);
  EXPECT_NE(error_of("docker://reg.io/a.-b").find("not valid"), std::string::npos);
  EXPECT_NE(error_of("docker://reg.io/a..b").find("not valid"), std::string::npos);
}
