#include <gtest/gtest.h>

#include "tests/unit/error_text.hpp"
#include "common/error.hpp"
#include "import/registry/manifest.hpp"

using namespace hl;
using namespace hl::import;
using nlohmann::json;

namespace {

std::string digest_of(char c) { return "sha256:" + std::string(64, c); }

json descriptor(const std::string& type, char c, std::uint64_t size) {
  return {{"mediaType", type}, {"digest", digest_of(c)}, {"size", size}};
}

json image_manifest(const std::string& layer_type = "application/vnd.oci.image.layer.v1.tar+gzip") {
  return {{"schemaVersion", 2},
          {"config", descriptor("application/vnd.oci.image.config.v1+json", 'c', 300)},
          {"layers", {descriptor(layer_type, '1', 1000), descriptor(layer_type, '2', 2000)}}};
}

json index_entry(char c, const std::string& arch, const std::string& variant = "") {
  json d = descriptor("application/vnd.oci.image.manifest.v1+json", c, 500);
  d["platform"] = {{"os", "linux"}, {"architecture", arch}};
  if (!variant.empty()) d["platform"]["variant"] = variant;
  return d;
}

ImageIndex index_of(std::vector<json> entries) {
  json body = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"}, {"manifests", entries}};
  return std::get<ImageIndex>(parse_manifest(body.dump(), "", "image t:1"));
}

std::string error_of(const std::function<void()>& f) { return hl::testing::error_text(f); }

}  // namespace

TEST(Manifest, AcceptHeaderListsAllFourManifestTypes) {
  std::string accept = manifest_accept_header();
  EXPECT_NE(accept.find("application/vnd.oci.image.index.v1+json"), std::string::npos);
  EXPECT_NE(accept.find("application/vnd.oci.image.manifest.v1+json"), std::string::npos);
  EXPECT_NE(accept.find("application/vnd.docker.distribution.manifest.list.v2+json"), std::string::npos);
  EXPECT_NE(accept.find("application/vnd.docker.distribution.manifest.v2+json"), std::string::npos);
  EXPECT_EQ(accept.find("v1+prettyjws"), std::string::npos);  // no schema 1
}

TEST(Manifest, ParsesOciManifestWithoutMediaTypeField) {
  // skopeo writes OCI manifests without "mediaType": Content-Type decides.
  auto parsed = parse_manifest(image_manifest().dump(), "application/vnd.oci.image.manifest.v1+json", "image t:1");
  auto& m = std::get<ImageManifest>(parsed);
  EXPECT_EQ(m.config.digest, digest_of('c'));
  EXPECT_EQ(m.config.size, 300u);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[1].digest, digest_of('2'));
  EXPECT_EQ(m.layers[1].size, 2000u);
  // Neither field nor header: the shape decides.
  EXPECT_TRUE(std::holds_alternative<ImageManifest>(parse_manifest(image_manifest().dump(), "", "t")));
}

TEST(Manifest, ParsesDockerV2Manifest) {
  json body = {{"schemaVersion", 2},
               {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
               {"config", descriptor("application/vnd.docker.container.image.v1+json", 'c', 10)},
               {"layers", {descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", '1', 5)}}};
  auto parsed = parse_manifest(body.dump(), "application/json; charset=utf-8", "t");
  EXPECT_EQ(std::get<ImageManifest>(parsed).layers.at(0).media_type,
            "application/vnd.docker.image.rootfs.diff.tar.gzip");
}

TEST(Manifest, ParsesIndexAndDockerList) {
  ImageIndex index = index_of({index_entry('a', "amd64"), index_entry('b', "arm64", "v8")});
  ASSERT_EQ(index.manifests.size(), 2u);
  EXPECT_EQ(index.manifests[1].platform.variant, "v8");
  json list = {{"schemaVersion", 2}, {"manifests", {index_entry('a', "amd64")}}};
  auto parsed = parse_manifest(list.dump(), "application/vnd.docker.distribution.manifest.list.v2+json", "t");
  EXPECT_TRUE(std::holds_alternative<ImageIndex>(parsed));
}

TEST(Manifest, LayerCompressions) {
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.v1.tar", "l"), LayerCompression::None);
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.v1.tar+gzip", "l"), LayerCompression::Gzip);
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.v1.tar+zstd", "l"), LayerCompression::Zstd);
  EXPECT_EQ(layer_compression("application/vnd.docker.image.rootfs.diff.tar.gzip", "l"), LayerCompression::Gzip);
}

TEST(Manifest, RejectsUnknownTypes) {
  EXPECT_EQ(error_of([] { parse_manifest(image_manifest("application/x-foo").dump(), "", "image t:1"); }),
            "layer 1 (sha256:111111111111) of image t:1 has unknown media type `application/x-foo`");
  EXPECT_NE(error_of([] {
              parse_manifest(image_manifest("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip").dump(), "",
                             "t");
            }).find("foreign (Windows) layer"),
            std::string::npos);
  json weird = image_manifest();
  weird["mediaType"] = "application/vnd.example.thing+json";
  EXPECT_EQ(error_of([&] { parse_manifest(weird.dump(), "", "image t:1"); }),
            "image t:1 has a manifest of unknown media type `application/vnd.example.thing+json`");
  json helm = image_manifest();
  helm["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json";
  EXPECT_NE(error_of([&] { parse_manifest(helm.dump(), "", "image t:1"); }).find("is not a container image"),
            std::string::npos);
  json v1 = {{"schemaVersion", 1}, {"name", "x"}};
  EXPECT_NE(error_of([&] { parse_manifest(v1.dump(), "", "t"); }).find("Docker schema 1"), std::string::npos);
}

TEST(Manifest, RejectsMalformedManifests) {
  EXPECT_NE(error_of([] { parse_manifest("{not json", "", "image t:1"); }).find("is not valid JSON"),
            std::string::npos);
  json bad_digest = image_manifest();
  bad_digest["layers"][0]["digest"] = "sha256:xyz";
  EXPECT_NE(error_of([&] { parse_manifest(bad_digest.dump(), "", "t"); }).find("malformed digest `sha256:xyz`"),
            std::string::npos);
  json other_algo = image_manifest();
  other_algo["layers"][0]["digest"] = "sha512:" + std::string(128, 'a');
  EXPECT_NE(error_of([&] { parse_manifest(other_algo.dump(), "", "t"); }).find("only sha256"), std::string::npos);
  json no_size = image_manifest();
  no_size["layers"][0].erase("size");
  EXPECT_NE(error_of([&] { parse_manifest(no_size.dump(), "", "t"); }).find("no valid size"), std::string::npos);
  json negative = image_manifest();
  negative["layers"][0]["size"] = -5;
  EXPECT_NE(error_of([&] { parse_manifest(negative.dump(), "", "t"); }).find("no valid size"), std::string::npos);
  json no_layers = {{"schemaVersion", 2}, {"config", descriptor("application/vnd.oci.image.config.v1+json", 'c', 1)}};
  EXPECT_NE(error_of([&] {
              parse_manifest(no_layers.dump(), "application/vnd.oci.image.manifest.v1+json", "t");
            }).find("no `config` or `layers`"),
            std::string::npos);
}

TEST(Platform, PicksArchitectureAndVariant) {
  ImageIndex index = index_of({index_entry('a', "amd64"), index_entry('b', "arm", "v6"), index_entry('c', "arm", "v7"),
                               index_entry('d', "arm64", "v8"), index_entry('e', "ppc64le")});
  EXPECT_EQ(pick_platform(index, parse_platform("amd64"), "t").digest, digest_of('a'));
  EXPECT_EQ(pick_platform(index, parse_platform("x86_64"), "t").digest, digest_of('a'));
  EXPECT_EQ(pick_platform(index, parse_platform("arm64"), "t").digest, digest_of('d'));
  EXPECT_EQ(pick_platform(index, parse_platform("aarch64"), "t").digest, digest_of('d'));
  EXPECT_EQ(pick_platform(index, parse_platform("arm"), "t").digest, digest_of('c'));  // v7 preferred
  EXPECT_EQ(pick_platform(index, parse_platform("arm/v6"), "t").digest, digest_of('b'));
  EXPECT_EQ(pick_platform(index, parse_platform("linux/arm/v7"), "t").digest, digest_of('c'));
}

TEST(Platform, Arm64WithoutVariantMatchesV8) {
  ImageIndex index = index_of({index_entry('a', "arm64")});
  EXPECT_EQ(pick_platform(index, parse_platform("arm64/v8"), "t").digest, digest_of('a'));
}

TEST(Platform, UnsupportedArchListsWhatExists) {
  json attestation = index_entry('f', "unknown");
  attestation["platform"]["os"] = "unknown";
  ImageIndex index = index_of({index_entry('a', "amd64"), index_entry('d', "arm64", "v8"), attestation});
  try {
    pick_platform(index, parse_platform("s390x"), "image t:1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "image t:1 has no linux/s390x image; it has linux/amd64, linux/arm64/v8");
    EXPECT_EQ(e.hint(), "pick one with --arch");
  }
}

TEST(Platform, ConfigMustMatchWithoutIndex) {
  json config = {{"architecture", "arm64"}, {"os", "linux"}};
  EXPECT_NO_THROW(check_config_platform(config, parse_platform("arm64"), "t"));
  EXPECT_EQ(error_of([&] { check_config_platform(config, parse_platform("amd64"), "image t:1"); }),
            "image t:1 has no linux/amd64 image; it has linux/arm64");
  EXPECT_NO_THROW(check_config_platform(json::object(), parse_platform("amd64"), "t"));
}

TEST(Platform, ParseRejectsEmpty) {
  EXPECT_THROW(parse_platform(""), Error);
  EXPECT_THROW(parse_platform("a/b/c/d"), Error);
  EXPECT_THROW(parse_platform("arm64/"), Error);
  EXPECT_FALSE(host_architecture().empty());
}
