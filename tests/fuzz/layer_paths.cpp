// Tar entry names and the layer merge's path rules (import/layers/layers_merge.hpp).
// Input lines: "TYPE NAME[ TARGET]", TYPE one of d f l h s (dir, file,
// symlink, hardlink, special); a line "-" starts the next lower layer.
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "import/layers/layers_merge.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {

int layer_paths(const std::uint8_t* data, std::size_t size) {
  using namespace import;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    LayerMerge merge({"layer0", "layer1", "layer2"});
    merge.reserve("etc/hosts");
    merge.capture("etc/environment");
    std::size_t layer = 2;
    std::uint64_t ordinal = 0;
    merge.begin_layer(layer);
    for (std::size_t start = 0; start < text.size() && start < 4096;) {
      std::size_t end = std::min(text.find('\n', start), text.size());
      std::string_view line = text.substr(start, end - start);
      start = end + 1;
      if (line == "-") {
        if (layer == 0) break;
        merge.end_layer();
        merge.begin_layer(--layer);
        continue;
      }
      if (line.size() < 3) continue;
      std::string_view rest = line.substr(2);
      std::size_t space = rest.find(' ');
      static constexpr std::string_view kTypes = "dflhs";
      LayerEntry entry;
      entry.type = static_cast<EntryType>(kTypes.find(line[0]) % kTypes.size());
      entry.path = normalize_layer_path(rest.substr(0, space));
      (void)printable_name(rest);
      if (space != std::string_view::npos) entry.link_target = normalize_layer_path(rest.substr(space + 1));
      merge.add(entry, ordinal++);
    }
    merge.end_layer();
    merge.finish();
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
