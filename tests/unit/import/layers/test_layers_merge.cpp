// The layer merge rules, without archives: entries are given by name.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tests/unit/error_text.hpp"
#include "common/error.hpp"
#include "import/layers/layers_merge.hpp"

namespace hl::import {
namespace {

constexpr auto D = EntryType::kDirectory;
constexpr auto F = EntryType::kRegular;
constexpr auto L = EntryType::kSymlink;
constexpr auto H = EntryType::kHardlink;

LayerEntry e(std::string path, EntryType type, std::string target = {}) {
  return {std::move(path), type, std::move(target)};
}

std::string error_of(const std::function<void()>& f) { return hl::testing::error_text(f); }

// Feeds layers (given top first, as the builder reads them) and records
// what each entry became: "w" written, "s" skipped, "l:T" link, "c" captured.
class Merge {
 public:
  explicit Merge(std::size_t layers) : merge_(names(layers)), next_(layers) {}
  LayerMerge& merge() { return merge_; }
  std::vector<std::string> layer(const std::vector<LayerEntry>& entries) {
    merge_.begin_layer(--next_);
    std::vector<std::string> out;
    std::uint64_t ordinal = 0;
    for (const auto& e : entries) {
      auto d = merge_.add(e, ordinal++);
      switch (d.action) {
        case EntryAction::kWrite:
          out.push_back("w");
          break;
        case EntryAction::kSkip:
          out.push_back("s");
          break;
        case EntryAction::kWriteLink:
          out.push_back("l:" + d.link_to);
          break;
        case EntryAction::kCapture:
          out.push_back("c");
          break;
      }
    }
    merge_.end_layer();
    return out;
  }

 private:
  static std::vector<std::string> names(std::size_t n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(fmt::format("L{}", i));
    return out;
  }
  LayerMerge merge_;
  std::size_t next_;
};

using V = std::vector<std::string>;

TEST(LayersMerge, NormalizesNames) {
  EXPECT_EQ(normalize_layer_path("./usr//bin/"), "usr/bin");
  EXPECT_EQ(normalize_layer_path("a/./b"), "a/b");
  EXPECT_EQ(normalize_layer_path("./"), "");
  EXPECT_EQ(normalize_layer_path("."), "");
  EXPECT_EQ(normalize_layer_path("..."), "...");
  EXPECT_EQ(normalize_layer_path("a/..b"), "a/..b");
  EXPECT_EQ(error_of([] { normalize_layer_path("/etc/passwd"); }), "absolute name, it would leave the image root");
  EXPECT_EQ(error_of([] { normalize_layer_path("a/../../b"); }), "`..` in the name, it would leave the image root");
  EXPECT_EQ(error_of([] { normalize_layer_path(".."); }), "`..` in the name, it would leave the image root");
  EXPECT_EQ(printable_name("a\nb"), "a\\x0ab");
}

TEST(LayersMerge, UpperLayersWinAndDirectoriesAreWrittenOnce) {
  Merge m(2);
  EXPECT_EQ(m.layer({e("etc", D), e("etc/a", F), e("", D)}), (V{"w", "w", "s"}));
  EXPECT_EQ(m.layer({e("etc", D), e("etc/a", F), e("etc/b", F)}), (V{"s", "s", "w"}));
  EXPECT_EQ(m.merge().written_type("etc"), D);
  EXPECT_EQ(m.merge().written_type("etc/a"), F);
  EXPECT_FALSE(m.merge().written_type("nothing"));
}

TEST(LayersMerge, WhiteoutsHideLowerLayersOnly) {
  Merge m(2);
  EXPECT_EQ(m.layer({e("a/.wh.x", F), e(".wh.b", F), e("b2", F)}), (V{"s", "s", "w"}));
  EXPECT_EQ(m.layer({e("a", D), e("a/x", F), e("a/y", F), e("b", D), e("b/deep", F)}), (V{"w", "s", "w", "s", "s"}));
}

TEST(LayersMerge, OpaqueDirectoriesHideLowerChildren) {
  Merge m(2);
  EXPECT_EQ(m.layer({e("o/new", F), e("o/.wh..wh..opq", F)}), (V{"w", "s"}));
  EXPECT_EQ(m.layer({e("o", D), e("o/old", F), e("o/sub", D), e("o/sub/f", F)}), (V{"w", "s", "s", "s"}));
}

TEST(LayersMerge, AufsBookkeepingIsNotContent) {
  Merge m(1);
  EXPECT_EQ(m.layer({e(".wh..wh.plnk", D), e(".wh..wh.plnk/1.2", F), e("a", F)}), (V{"s", "s", "w"}));
  EXPECT_EQ(error_of([] { Merge(1).layer({e("d/.wh.", F)}); }), "layer L0 entry `d/.wh.`: a whiteout for no file");
}

TEST(LayersMerge, NonDirectoriesHideLowerSubtrees) {
  Merge m(2);
  EXPECT_EQ(m.layer({e("d", L), e("f", F)}), (V{"w", "w"}));
  EXPECT_EQ(m.layer({e("d", D), e("d/x", F), e("f", D)}), (V{"s", "s", "s"}));
}

TEST(LayersMerge, RefusesEntriesThroughSymlinksOrFiles) {
  EXPECT_EQ(error_of([] {
              Merge(1).layer({e("s", L), e("s/x", F)});
            }),
            "layer L0 entry `s/x`: goes through `s`, a symlink in the same layer");
  EXPECT_EQ(error_of([] {
              Merge(1).layer({e("s/x", F), e("s", L)});
            }),
            "layer L0 entry `s/x`: goes through `s`, a symlink in layer L0");
  EXPECT_EQ(error_of([] {
              Merge m(3);
              m.layer({e("ok", F)});
              m.layer({e("s/x", F)});
              m.layer({e("s", F)});
            }),
            "layer L1 entry `s/x`: goes through `s`, a file in layer L0");
}

TEST(LayersMerge, AcceptsADirectoryReplacingALowerSymlink) {
  Merge m(3);
  EXPECT_EQ(m.layer({e("s/x", F)}), (V{"w"}));
  EXPECT_EQ(m.layer({e("s", D), e("s/y", F)}), (V{"w", "w"}));
  EXPECT_EQ(m.layer({e("s", L), e("s2", L)}), (V{"s", "w"}));
}

TEST(LayersMerge, AcceptsASymlinkReplacingALowerDirectory) {
  Merge m(2);
  EXPECT_EQ(m.layer({e("d", L)}), (V{"w"}));
  EXPECT_EQ(m.layer({e("d", D), e("d/x", F)}), (V{"s", "s"}));
}

TEST(LayersMerge, HardlinksInOneLayer) {
  Merge m(1);
  EXPECT_EQ(m.layer({e("t", F), e("p", H, "t"), e("q", H, "p")}), (V{"w", "l:t", "l:t"}));
  auto result = m.merge().finish();
  EXPECT_TRUE(result.links.empty());
  EXPECT_TRUE(result.fixups.empty());
}

TEST(LayersMerge, HardlinksToAFileAnUpperLayerReplacedGetItsData) {
  Merge m(2);
  EXPECT_EQ(m.layer({e("t", F)}), (V{"w"}));
  EXPECT_EQ(m.layer({e("x", F), e("t", F), e("p", H, "t"), e("q", H, "p")}), (V{"w", "s", "s", "s"}));
  auto result = m.merge().finish();
  ASSERT_EQ(result.fixups.size(), 1u);
  EXPECT_EQ(result.fixups[0].layer, 0u);
  EXPECT_EQ(result.fixups[0].ordinal, 1u);
  EXPECT_EQ(result.fixups[0].paths, (V{"p", "q"}));
}

TEST(LayersMerge, HiddenHardlinksNeedNothing) {
  Merge m(2);
  EXPECT_EQ(m.layer({e("p", F)}), (V{"w"}));
  EXPECT_EQ(m.layer({e("t", F), e("p", H, "t")}), (V{"w", "s"}));
  auto result = m.merge().finish();
  EXPECT_TRUE(result.fixups.empty());
  EXPECT_TRUE(result.links.empty());
}

TEST(LayersMerge, HardlinksToLowerLayers) {
  Merge m(3);
  EXPECT_EQ(m.layer({e("p", H, "t"), e("q", H, "u")}), (V{"s", "s"}));
  EXPECT_EQ(m.layer({e("u", F)}), (V{"w"}));
  EXPECT_EQ(m.layer({e("t", F), e("u", F)}), (V{"w", "s"}));
  auto result = m.merge().finish();
  ASSERT_EQ(result.links.size(), 2u);
  EXPECT_EQ(result.links[0].path, "q");
  EXPECT_EQ(result.links[0].target, "u");
  EXPECT_EQ(result.links[1].path, "p");
  EXPECT_EQ(result.links[1].target, "t");
}

TEST(LayersMerge, HardlinkToALowerFileThatIsReplacedAbove) {
  Merge m(3);
  EXPECT_EQ(m.layer({e("t", F)}), (V{"w"}));
  EXPECT_EQ(m.layer({e("p", H, "t")}), (V{"s"}));
  EXPECT_EQ(m.layer({e("t", F)}), (V{"s"}));
  auto result = m.merge().finish();
  ASSERT_EQ(result.fixups.size(), 1u);
  EXPECT_EQ(result.fixups[0].layer, 0u);
  EXPECT_EQ(result.fixups[0].paths, (V{"p"}));
}

TEST(LayersMerge, RefusesHardlinksToNothing) {
  EXPECT_EQ(error_of([] {
              Merge m(1);
              m.layer({e("p", H, "t")});
              m.merge().finish();
            }),
            "layer L0 entry `p`: hardlink target `t` does not exist");
  EXPECT_EQ(error_of([] {
              Merge m(3);
              m.layer({e("p", H, "d/t")});
              m.layer({e(".wh.d", F)});
              m.layer({e("d/t", F)});
            }),
            "layer L2 entry `p`: hardlink target `d/t` does not exist");
  EXPECT_EQ(error_of([] {
              Merge(1).layer({e("d", D), e("p", H, "d")});
            }),
            "layer L0 entry `p`: hardlink to directory `d`");
  EXPECT_EQ(error_of([] {
              Merge m(2);
              m.layer({e("p", H, "d")});
              m.layer({e("d", D)});
            }),
            "layer L1 entry `p`: hardlink to directory `d`");
  EXPECT_EQ(error_of([] { Merge(1).layer({e("p", H, "p")}); }), "layer L0 entry `p`: hardlink to itself");
}

TEST(LayersMerge, CapturesTheWinningFile) {
  Merge m(2);
  m.merge().capture("etc/environment");
  m.merge().reserve(".hpclaunch");
  EXPECT_EQ(m.layer({e("etc/environment", F), e(".hpclaunch", D), e(".hpclaunch/config.json", F)}), (V{"c", "s", "s"}));
  EXPECT_EQ(m.layer({e("etc/environment", F)}), (V{"s"}));
}

TEST(LayersMerge, CountsOnlyVisibleSpecialFiles) {
  Merge m(2);
  EXPECT_EQ(m.layer({e("dev/null", EntryType::kSpecial)}), (V{"s"}));
  EXPECT_EQ(m.layer({e("dev/null", F), e("dev/zero", EntryType::kSpecial), e("x", H, "dev/zero")}), (V{"s", "s", "s"}));
  EXPECT_EQ(m.merge().finish().special_files, 3u);
}

}  // namespace
}  // namespace hl::import
