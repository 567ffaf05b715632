// build_squashfs_from_layers end to end: layers made here with libarchive,
// the image read back with unsquashfs / rdsquashfs (squashfs-tools, -ng).
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "import/layers/layers_archive.hpp"
#include "tests/unit/import/layers/test_layers_util.hpp"

namespace hl::import {
namespace {

using namespace layer_testing;

class LayersSquashfs : public ::testing::Test {
 protected:
  std::string image() const { return tmp / "image.sqsh"; }
  void build(const std::vector<LayerBlob>& layers, const nlohmann::json& config = nlohmann::json::object(),
             SquashfsBuildOptions options = {}) {
    build_squashfs_from_layers(layers, config, image(), options);
  }
  // The error text, and no output or temp file left behind.
  std::string build_error(const std::vector<LayerBlob>& layers, SquashfsBuildOptions options = {}) {
    auto before = tmp.names();
    try {
      build(layers, nlohmann::json::object(), options);
    } catch (const Error& e) {
      EXPECT_EQ(tmp.names(), before) << "left files behind";
      return e.describe();
    }
    ADD_FAILURE() << "no error";
    return {};
  }
  TempDir tmp;
};

TEST_F(LayersSquashfs, KeepsTypesModesOwnersTimesAndData) {
  auto layer = make_layer(
      tmp / "l0",
      {dir("usr", 0755), dir("usr/bin", 0750, 0, 10), file("usr/bin/tool", "#!/bin/sh\necho hi\n", 04755, 0, 0),
       file("home/u/notes", "secret", 0600, 1000, 1001), symlink("bin", "usr/bin"), symlink("abs", "/etc/passwd"),
       hardlink("usr/bin/tool2", "usr/bin/tool"), dir("tmp", 01777)});
  build({layer});
  auto list = list_image(image());
  EXPECT_EQ(list["/usr/bin"].mode, "drwxr-x---");
  EXPECT_EQ(list["/usr/bin"].owner, "0/10");
  EXPECT_EQ(list["/usr/bin/tool"].mode, "-rwsr-xr-x");
  EXPECT_EQ(list["/home/u/notes"].mode, "-rw-------");
  EXPECT_EQ(list["/home/u/notes"].owner, "1000/1001");
  EXPECT_EQ(list["/tmp"].mode, "drwxrwxrwt");
  EXPECT_EQ(list["/bin"].link, "usr/bin");
  EXPECT_EQ(list["/abs"].link, "/etc/passwd");
  EXPECT_EQ(cat_file(image(), "/home/u/notes"), "secret");
  EXPECT_EQ(cat_file(image(), "/usr/bin/tool2"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(stat_field(image(), "/usr/bin/tool2", "Inode number"),
            stat_field(image(), "/usr/bin/tool", "Inode number"));
  EXPECT_NE(stat_field(image(), "/usr/bin/tool", "Last modified").find("(1700000000)"), std::string::npos);
  EXPECT_EQ(tmp.names(), (std::vector<std::string>{"image.sqsh", "l0"})) << "temp files left";
}

TEST_F(LayersSquashfs, ReadsGzipZstdAndPlainLayersInOrder) {
  auto l0 = make_layer(tmp / "l0", {file("a", "from gzip"), file("b", "old b")}, kDockerGzipType);
  auto l1 = make_layer(tmp / "l1", {file("b", "new b"), file("c", "from zstd")}, kZstdType);
  auto l2 = make_layer(tmp / "l2", {file("d", "from tar")}, kTarType);
  build({l0, l1, l2});
  EXPECT_EQ(cat_file(image(), "/a"), "from gzip");
  EXPECT_EQ(cat_file(image(), "/b"), "new b");
  EXPECT_EQ(cat_file(image(), "/c"), "from zstd");
  EXPECT_EQ(cat_file(image(), "/d"), "from tar");
}

TEST_F(LayersSquashfs, WhiteoutsAndOpaqueDirectories) {
  auto l0 = make_layer(tmp / "l0", {dir("a"), file("a/gone", "x"), file("a/kept", "y"), dir("b"), file("b/deep", "z"),
                                    dir("o"), file("o/old", "1"), dir("o/sub"), file("o/sub/old2", "2")});
  auto l1 = make_layer(tmp / "l1", {file("a/.wh.gone", ""), file(".wh.b", ""), dir("o", 0700),
                                    file("o/.wh..wh..opq", ""), file("o/new", "3")});
  build({l0, l1});
  auto list = list_image(image());
  EXPECT_TRUE(list.count("/a/kept"));
  EXPECT_FALSE(list.count("/a/gone"));
  EXPECT_FALSE(list.count("/b"));
  EXPECT_FALSE(list.count("/b/deep"));
  EXPECT_FALSE(list.count("/o/old"));
  EXPECT_FALSE(list.count("/o/sub"));
  EXPECT_EQ(list["/o"].mode, "drwx------");
  EXPECT_EQ(cat_file(image(), "/o/new"), "3");
  for (const auto& [path, entry] : list) EXPECT_EQ(path.find(".wh."), std::string::npos) << path;
}

TEST_F(LayersSquashfs, UpperLayersReplaceTypes) {
  auto l0 = make_layer(tmp / "l0", {dir("d"), file("d/inside", "1"), file("f", "file"), symlink("s", "x")});
  auto l1 = make_layer(tmp / "l1", {symlink("d", "elsewhere"), dir("f", 0711), file("f/now", "2"), file("s", "real")});
  build({l0, l1});
  auto list = list_image(image());
  EXPECT_EQ(list["/d"].link, "elsewhere");
  EXPECT_FALSE(list.count("/d/inside"));
  EXPECT_EQ(list["/f"].mode, "drwx--x--x");
  EXPECT_EQ(cat_file(image(), "/f/now"), "2");
  EXPECT_EQ(cat_file(image(), "/s"), "real");
}

TEST_F(LayersSquashfs, HardlinkKeepsDataWhenAnUpperLayerReplacesItsTarget) {
  auto l0 = make_layer(tmp / "l0", {file("t", "original"), hardlink("l", "t"), hardlink("m", "t")});
  auto l1 = make_layer(tmp / "l1", {file("t", "replaced")});
  build({l0, l1});
  EXPECT_EQ(cat_file(image(), "/t"), "replaced");
  EXPECT_EQ(cat_file(image(), "/l"), "original");
  EXPECT_EQ(cat_file(image(), "/m"), "original");
  EXPECT_EQ(stat_field(image(), "/l", "Inode number"), stat_field(image(), "/m", "Inode number"));
}

TEST_F(LayersSquashfs, HardlinkToALowerLayer) {
  auto l0 = make_layer(tmp / "l0", {file("lib/t", "lower data", 0755, 5, 6)});
  auto l1 = make_layer(tmp / "l1", {hardlink("lib/link", "lib/t")});
  build({l0, l1});
  EXPECT_EQ(cat_file(image(), "/lib/link"), "lower data");
  EXPECT_EQ(stat_field(image(), "/lib/link", "Inode number"), stat_field(image(), "/lib/t", "Inode number"));
}

TEST_F(LayersSquashfs, DeviceFilesAndFifosAreLeftOut) {
  auto l0 = make_layer(tmp / "l0", {dir("dev"), special("dev/null", 'c'), special("run/fifo", 'p'), file("kept", "k")});
  build({l0});
  auto list = list_image(image());
  EXPECT_FALSE(list.count("/dev/null"));
  EXPECT_FALSE(list.count("/run/fifo"));
  EXPECT_TRUE(list.count("/dev"));
  EXPECT_TRUE(list.count("/kept"));
}

TEST_F(LayersSquashfs, WritesTheImageConfig) {
  auto l0 = make_layer(tmp / "l0", {dir("etc"), file("etc/environment", "LANG=C.UTF-8\nPATH=/old\n"),
                                    file(".hpclaunch/config.json", "stale")});
  nlohmann::json config = {{"architecture", "amd64"},
                           {"config",
                            {{"Env", {"PATH=/usr/local/bin:/usr/bin", "HOME=/root"}},
                             {"WorkingDir", "/work"},
                             {"Entrypoint", {"/entry.sh"}},
                             {"Cmd", {"run", "--fast"}},
                             {"User", "1000:1000"}}}};
  build({l0}, config);
  EXPECT_EQ(cat_file(image(), "/etc/environment"), "LANG=C.UTF-8\nPATH=/usr/local/bin:/usr/bin\nHOME=/root\n");
  auto stored = nlohmann::json::parse(cat_file(image(), "/.hpclaunch/config.json"));
  EXPECT_EQ(stored["WorkingDir"], "/work");
  EXPECT_EQ(stored["Cmd"], nlohmann::json({"run", "--fast"}));
  EXPECT_EQ(stored["Entrypoint"], nlohmann::json({"/entry.sh"}));
  EXPECT_EQ(stored["User"], "1000:1000");
  EXPECT_EQ(stored["Env"].size(), 2u);
  auto list = list_image(image());
  EXPECT_EQ(list["/etc/environment"].mode, "-rw-r--r--");
  EXPECT_EQ(list["/etc/environment"].owner, "0/0");
}

TEST_F(LayersSquashfs, ConfigWithoutEtcInTheLayers) {
  build({make_layer(tmp / "l0", {file("app", "x")})}, {{"config", {{"Env", {"A=1"}}}}});
  EXPECT_EQ(cat_file(image(), "/etc/environment"), "A=1\n");
  EXPECT_EQ(list_image(image())["/etc"].mode, "drwxr-xr-x");
}

TEST_F(LayersSquashfs, LongAndNonAsciiNames) {
  std::string long_name = "d/" + std::string(150, 'n') + "/f";
  build({make_layer(tmp / "l0", {file(long_name, "long"), file("caf\xc3\xa9", "utf8")})});
  EXPECT_EQ(cat_file(image(), "/" + long_name), "long");
  EXPECT_EQ(cat_file(image(), "/caf\xc3\xa9"), "utf8");
}

// File capabilities (ping, newuidmap) live in security.capability.
TEST_F(LayersSquashfs, KeepsXattrs) {
  std::string capability("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  TarEntry ping = file("bin/ping", "ping", 0755);
  ping.xattrs = {{"security.capability", capability}, {"user.note", "hello"}};
  build({make_layer(tmp / "l0", {ping})});
  auto xattrs = xattrs_of(image(), "bin/ping");
  EXPECT_EQ(xattrs["security.capability"], capability);
  EXPECT_EQ(xattrs["user.note"], "hello");
}

TEST_F(LayersSquashfs, ReportsProgressToTheTotal) {
  auto l0 = make_layer(tmp / "l0", {file("a", std::string(300000, 'a'))});
  auto l1 = make_layer(tmp / "l1", {file("b", "b")});
  std::uint64_t last = 0, total = 0;
  build_squashfs_from_layers({l0, l1}, {}, image(), {}, [&](std::uint64_t done, std::uint64_t all) {
    EXPECT_GE(done, last);
    last = done;
    total = all;
  });
  EXPECT_GT(total, 0u);
  EXPECT_EQ(last, total);
}

// Go's archive/tar (umoci insert) ends a layer right after the last file's
// data: no padding, no end-of-archive blocks. GNU tar refuses; Go accepts.
TEST_F(LayersSquashfs, AcceptsGoStyleLayersWithoutEndBlocks) {
  std::string full = tmp / "full.tar";
  make_layer(full, {dir("x"), file("x/one", std::string(700, '1')), file("x/two", "last file data")}, kTarType);
  std::string bytes = read_file(full);
  std::size_t cut = bytes.find("last file data") + std::string("last file data").size();
  ASSERT_EQ(cut % 512, 14u);
  write_file(tmp / "go.tar", bytes.substr(0, cut));
  write_gzip(tmp / "go.tar.gz", bytes.substr(0, cut));
  ASSERT_NE(run(fmt::format("tar -tf {}", tmp / "go.tar")).status, 0) << "GNU tar should refuse it";
  build({{tmp / "go.tar", kTarType, "sha256:go", 0}});
  EXPECT_EQ(cat_file(image(), "/x/two"), "last file data");
  build({{tmp / "go.tar.gz", kGzipType, "sha256:gogz", 0}});
  EXPECT_EQ(cat_file(image(), "/x/two"), "last file data");
  EXPECT_EQ(cat_file(image(), "/x/one"), std::string(700, '1'));
}

TEST_F(LayersSquashfs, RefusesDotDot) {
  auto l0 = make_layer(tmp / "bad", {file("ok", "1"), file("a/../../etc/passwd", "x")});
  EXPECT_EQ(build_error({l0}),
            "layer sha256:bad entry `a/../../etc/passwd`: `..` in the name, it would leave the image root; "
            "refusing the image; ask its publisher to fix the layer");
}

TEST_F(LayersSquashfs, RefusesAbsoluteNames) {
  auto l0 = make_layer(tmp / "bad", {file("/etc/passwd", "x")});
  EXPECT_EQ(build_error({l0}),
            "layer sha256:bad entry `/etc/passwd`: absolute name, it would leave the image root; "
            "refusing the image; ask its publisher to fix the layer");
}

TEST_F(LayersSquashfs, RefusesHardlinkTargetsOutsideTheRoot) {
  auto l0 = make_layer(tmp / "bad", {hardlink("h", "../../etc/shadow")});
  EXPECT_EQ(build_error({l0}),
            "layer sha256:bad entry `h`: hardlink target `../../etc/shadow`: `..` in the name, it would leave the "
            "image root; "
            "refusing the image; ask its publisher to fix the layer");
}

TEST_F(LayersSquashfs, RefusesEntriesThroughASymlink) {
  auto same = make_layer(tmp / "same", {symlink("evil", "/etc"), file("evil/passwd", "x")});
  EXPECT_EQ(build_error({same}),
            "layer sha256:same entry `evil/passwd`: goes through `evil`, a symlink in the same layer; "
            "refusing the image; ask its publisher to fix the layer");
  auto lower = make_layer(tmp / "lower", {symlink("up", "../../..")});
  auto upper = make_layer(tmp / "upper", {file("up/x", "x")});
  EXPECT_EQ(build_error({lower, upper}),
            "layer sha256:upper entry `up/x`: goes through `up`, a symlink in layer sha256:lower; "
            "refusing the image; ask its publisher to fix the layer");
  auto link = make_layer(tmp / "link", {hardlink("h", "up/shadow")});
  EXPECT_EQ(build_error({lower, link}),
            "layer sha256:link entry `h`: goes through `up`, a symlink in layer sha256:lower; "
            "refusing the image; ask its publisher to fix the layer");
}

TEST_F(LayersSquashfs, RefusesHardlinksToNothing) {
  auto l0 = make_layer(tmp / "l0", {file("t", "x"), file(".wh.u", "")});
  auto l1 = make_layer(tmp / "l1", {hardlink("h", "missing")});
  EXPECT_EQ(build_error({l0, l1}),
            "layer sha256:l1 entry `h`: hardlink target `missing` does not exist; "
            "refusing the image; ask its publisher to fix the layer");
}

TEST_F(LayersSquashfs, RefusesUnknownMediaTypes) {
  auto l0 = make_layer(tmp / "l0", {file("a", "x")});
  l0.media_type = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
  EXPECT_EQ(build_error({l0}),
            "layer sha256:l0: unknown media type `application/vnd.cncf.helm.chart.content.v1.tar+gzip`; "
            "hpclaunch imports tar, tar+gzip and tar+zstd layers (OCI or Docker media types)");
}

TEST_F(LayersSquashfs, RefusesTruncatedGzip) {
  auto l0 = make_layer(tmp / "whole", {file("a", noise(200000)), file("b", "after")});
  std::string bytes = read_file(l0.path);
  write_file(tmp / "cut", bytes.substr(0, bytes.size() / 2));
  std::string error = build_error({{tmp / "cut", kGzipType, "sha256:cut", 0}});
  EXPECT_EQ(error.rfind("layer sha256:cut: truncated or corrupt tar+gzip archive at entry `a`: ", 0), 0u) << error;
  EXPECT_NE(error.find("; fetch the layer again (remove it from the layer cache)"), std::string::npos) << error;
}

TEST_F(LayersSquashfs, RefusesGarbage) {
  write_file(tmp / "junk", std::string(4096, 'j'));
  std::string error = build_error({{tmp / "junk", kGzipType, "sha256:junk", 0}});
  EXPECT_EQ(error.rfind("layer sha256:junk: truncated or corrupt tar+gzip archive: ", 0), 0u) << error;
}

TEST_F(LayersSquashfs, StopsADecompressionBomb) {
  auto l0 = make_layer(tmp / "bomb", {file("small", "1"), file("zeros", std::string(1 << 20, '\0'))});
  SquashfsBuildOptions options;
  options.max_unpacked_bytes = 64 << 10;
  EXPECT_EQ(build_error({l0}, options),
            "layer sha256:bomb: the image unpacks to more than 65.5 KB (at entry `zeros`): a decompression bomb?; "
            "raise the unpacked-size limit only for an image you trust");
}

TEST_F(LayersSquashfs, ReportsTar2sqfsFailures) {
  auto l0 = make_layer(tmp / "l0", {file("a", "x")});
  SquashfsBuildOptions options;
  options.level = 99;
  std::string error = build_error({l0}, options);
  EXPECT_EQ(error.rfind("tar2sqfs failed (exit 1) building `" + image() + "`: ", 0), 0u) << error;
  try {
    build_squashfs_from_layers({l0}, {}, tmp / "no/such/dir/image.sqsh", {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tar2sqfs failed"), std::string::npos) << e.what();
  }
}

TEST_F(LayersSquashfs, ReplacesAnExistingImageOnlyWhenComplete) {
  write_file(image(), "old image");
  auto bad = make_layer(tmp / "bad", {file("/abs", "x")});
  build_error({bad});
  EXPECT_EQ(read_file(image()), "old image");
  build({make_layer(tmp / "good", {file("a", "x")})});
  EXPECT_EQ(cat_file(image(), "/a"), "x");
}

}  // namespace
}  // namespace hl::import
