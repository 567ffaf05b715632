#include "import/layers/layers_merge.hpp"

#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "common/error.hpp"

namespace hl::import {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kAufsPrefix = ".wh..wh.";
constexpr std::string_view kRefuseHint = "refusing the image; ask its publisher to fix the layer";

std::string_view parent_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view base_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// "a/b/c" -> "a", "a/b": the directories an entry is written through.
std::vector<std::string_view> ancestors_of(std::string_view path) {
  std::vector<std::string_view> result;
  for (auto slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1)) {
    result.push_back(path.substr(0, slash));
  }
  return result;
}

// .wh..wh.* names other than the opaque marker (.wh..wh.plnk/, .wh..wh.aufs)
// are aufs bookkeeping, not content: dropped with everything below them.
bool is_aufs_bookkeeping(std::string_view path) {
  for (std::size_t start = 0; start < path.size();) {
    auto end = std::min(path.find('/', start), path.size());
    std::string_view part = path.substr(start, end - start);
    if (part.starts_with(kAufsPrefix) && !(part == kOpaqueMarker && end == path.size())) return true;
    start = end + 1;
  }
  return false;
}

bool is_below(std::string_view path, std::string_view dir) {
  return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

std::string_view type_word(EntryType type) {
  switch (type) {
    case EntryType::kSymlink:
      return "a symlink";
    case EntryType::kSpecial:
      return "a device file";
    default:
      return "a file";
  }
}

}  // namespace

std::string printable_name(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string normalize_layer_path(std::string_view name) {
  if (name.starts_with('/')) throw Error("absolute name, it would leave the image root");
  std::string out;
  std::size_t start = 0;
  while (start <= name.size()) {
    auto end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    if (part == "..") throw Error("`..` in the name, it would leave the image root");
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    start = end + 1;
  }
  return out;
}

LayerMerge::LayerMerge(std::vector<std::string> layer_names) : layer_names_(std::move(layer_names)) {}

void LayerMerge::reserve(const std::string& path) {
  Node& n = node(path);
  n.written_layer = static_cast<int>(layer_names_.size());  // above every layer
  n.subtree_hidden_below = INT_MAX;
}

void LayerMerge::capture(const std::string& path) { capture_path_ = path; }

void LayerMerge::begin_layer(std::size_t layer) {
  layer_ = static_cast<int>(layer);
  layer_files_.clear();
}

void LayerMerge::end_layer() { layer_files_.clear(); }

LayerMerge::Node& LayerMerge::node(std::string_view path) {
  auto it = nodes_.find(path);
  if (it != nodes_.end()) return it->second;
  return nodes_.emplace(std::string(path), Node{}).first->second;
}

const LayerMerge::Node* LayerMerge::find(std::string_view path) const {
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::string LayerMerge::name_of(int layer) const {
  if (layer >= 0 && static_cast<std::size_t>(layer) < layer_names_.size()) return layer_names_[layer];
  return fmt::format("#{}", layer);
}

void LayerMerge::fail(std::string_view path, std::string_view problem) const { fail_in(layer_, path, problem); }

void LayerMerge::fail_in(int layer, std::string_view path, std::string_view problem) const {
  throw Error(fmt::format("layer {} entry `{}`: {}", name_of(layer), printable_name(path), problem),
              std::string(kRefuseHint));
}

EntryDecision LayerMerge::add(const LayerEntry& entry, std::uint64_t ordinal) {
  if (entry.path.empty()) return {};  // the root keeps tar2sqfs's defaults (0755 root:root), as enroot's does
  if (is_aufs_bookkeeping(entry.path)) return {};
  note_children(entry.path, entry.path);
  if (base_of(entry.path).starts_with(kWhiteoutPrefix)) {
    add_marker(entry.path);
    return {};
  }
  note_explicit(entry.path, entry.type);
  bool visible = !hidden(entry.path);
  if (entry.type == EntryType::kHardlink) return add_hardlink(entry, visible);
  if (visible) return add_visible(entry, ordinal);
  DataRef ref{DataRef::Kind::kUnwritten, {}, static_cast<std::size_t>(layer_), ordinal, 0};
  if (entry.type == EntryType::kSpecial) ref.kind = DataRef::Kind::kSpecial;
  if (entry.type != EntryType::kDirectory) layer_files_[entry.path] = ref;
  resolve_pending(entry, ref);
  return {};
}

void LayerMerge::add_marker(const std::string& marker) {
  std::string_view base = base_of(marker);
  std::string dir(parent_of(marker));
  if (base != kOpaqueMarker) return whiteout(dir, base.substr(kWhiteoutPrefix.size()), marker);
  Node& d = node(dir);
  d.subtree_hidden_below = std::max(d.subtree_hidden_below, layer_);
  block_pending(dir, true);
}

void LayerMerge::whiteout(const std::string& dir, std::string_view name, const std::string& marker) {
  if (name.empty() || name == "." || name == "..") fail(marker, "a whiteout for no file");
  std::string path = dir.empty() ? std::string(name) : dir + "/" + std::string(name);
  note_explicit(path, EntryType::kDirectory);  // deleting a path never writes through it
  Node& n = node(path);
  n.self_hidden_below = std::max(n.self_hidden_below, layer_);
  n.subtree_hidden_below = std::max(n.subtree_hidden_below, layer_);
  block_pending(path, false);
}

// Records that the current layer has an entry below each ancestor of `path`.
// Docker applies layers bottom-up: a lower layer's symlink at an ancestor
// would be followed by this entry, unless a layer in between (or this one)
// re-created the ancestor. We never follow symlinks, so instead of resolving
// them we refuse such layers, as the issue asks ("resolve conservatively").
void LayerMerge::note_children(const std::string& path, const std::string& entry) {
  for (std::string_view ancestor : ancestors_of(path)) note_child(std::string(ancestor), entry);
}

void LayerMerge::note_child(const std::string& ancestor, const std::string& child) {
  Node& n = node(ancestor);
  if (n.anchor_layer == layer_) {
    if (n.anchor_type != EntryType::kDirectory) {
      fail(child,
           fmt::format("goes through `{}`, {} in the same layer", printable_name(ancestor), type_word(n.anchor_type)));
    }
    return;
  }
  if (n.loose_child_layer < 0) {
    n.loose_child_layer = layer_;
    n.loose_child = child;
  }
}

void LayerMerge::note_explicit(const std::string& path, EntryType type) {
  Node& n = node(path);
  if (n.loose_child_layer >= 0 && type != EntryType::kDirectory) {
    fail_in(n.loose_child_layer, n.loose_child,
            fmt::format("goes through `{}`, {} in layer {}", printable_name(path), type_word(type), name_of(layer_)));
  }
  n.anchor_layer = layer_;
  n.anchor_type = type;
  n.loose_child_layer = -1;
  n.loose_child.clear();
}

bool LayerMerge::hidden(const std::string& path) const {
  const Node* n = find(path);
  if (n != nullptr && (n->written_layer >= 0 || layer_ < n->self_hidden_below)) return true;
  for (std::string_view ancestor : ancestors_of(path)) {
    const Node* a = find(ancestor);
    if (a != nullptr && layer_ < a->subtree_hidden_below) return true;
  }
  return false;
}

std::optional<EntryType> LayerMerge::written_type(const std::string& path) const {
  const Node* n = find(path);
  if (n == nullptr || n->written_layer < 0) return std::nullopt;
  return n->written_type;
}

EntryDecision LayerMerge::add_visible(const LayerEntry& entry, std::uint64_t ordinal) {
  Node& n = node(entry.path);
  n.written_layer = layer_;
  n.written_type = entry.type;
  if (entry.type == EntryType::kDirectory) {
    resolve_pending(entry, {});  // a hardlink to it: refused there
    return {EntryAction::kWrite, {}};
  }
  n.subtree_hidden_below = std::max(n.subtree_hidden_below, layer_);
  DataRef ref{DataRef::Kind::kWritten, entry.path, 0, 0, 0};
  EntryDecision decision{EntryAction::kWrite, {}};
  if (entry.type == EntryType::kSpecial) {
    ref.kind = DataRef::Kind::kSpecial;
    decision.action = EntryAction::kSkip;
    ++special_files_;
  } else if (entry.path == capture_path_) {
    // Links to it get the original data through a fixup; the builder writes the merged file.
    ref = DataRef{DataRef::Kind::kUnwritten, {}, static_cast<std::size_t>(layer_), ordinal, 0};
    decision.action = entry.type == EntryType::kRegular ? EntryAction::kCapture : EntryAction::kSkip;
  }
  layer_files_[entry.path] = ref;
  resolve_pending(entry, ref);
  return decision;
}

EntryDecision LayerMerge::add_hardlink(const LayerEntry& entry, bool visible) {
  DataRef ref = data_of_target(entry);
  layer_files_[entry.path] = ref;  // later links to this path share its data
  resolve_pending(entry, ref);
  if (!visible) return {};
  Node& n = node(entry.path);
  n.written_layer = layer_;
  n.written_type = EntryType::kHardlink;
  n.subtree_hidden_below = std::max(n.subtree_hidden_below, layer_);
  if (entry.path == capture_path_) return {};  // the builder writes its own file there
  return link_to(ref, entry.path);
}

LayerMerge::DataRef LayerMerge::data_of_target(const LayerEntry& entry) {
  const std::string& target = entry.link_target;
  if (target.empty()) fail(entry.path, "hardlink to the root directory");
  if (target == entry.path) fail(entry.path, "hardlink to itself");
  auto it = layer_files_.find(target);
  if (it != layer_files_.end()) return it->second;
  const Node* t = find(target);
  if (t != nullptr && t->anchor_layer == layer_ && t->anchor_type == EntryType::kDirectory) {
    fail(entry.path, fmt::format("hardlink to directory `{}`", printable_name(target)));
  }
  // Not earlier in this layer: Docker links to the file a lower layer left
  // there. Its parents must not be symlinks either.
  note_children(target, entry.path);
  std::vector<std::size_t>& same_target = pending_by_target_[target];
  for (std::size_t i : same_target) {
    if (!pending_[i].resolved && pending_[i].layer == layer_) return DataRef{DataRef::Kind::kPending, {}, 0, 0, i};
  }
  pending_.push_back(PendingLink{target, layer_, entry.path, {}, -1, false});
  same_target.push_back(pending_.size() - 1);
  ++unresolved_;
  return DataRef{DataRef::Kind::kPending, {}, 0, 0, pending_.size() - 1};
}

EntryDecision LayerMerge::link_to(const DataRef& ref, const std::string& path) {
  switch (ref.kind) {
    case DataRef::Kind::kWritten:
      return {EntryAction::kWriteLink, ref.written};
    case DataRef::Kind::kUnwritten: {
      Fixup& fixup = fixups_[{ref.layer, ref.ordinal}];
      fixup.layer = ref.layer;
      fixup.ordinal = ref.ordinal;
      fixup.paths.push_back(path);
      return {};
    }
    case DataRef::Kind::kPending:
      pending_[ref.pending].members.push_back(path);
      return {};
    case DataRef::Kind::kSpecial:
      ++special_files_;
      return {};
  }
  return {};
}

// `entry` lies at a path that hardlinks of upper layers point to: this is the
// version they meant (the first one below them).
void LayerMerge::resolve_pending(const LayerEntry& entry, const DataRef& ref) {
  auto it = pending_by_target_.find(entry.path);
  if (it == pending_by_target_.end()) return;
  for (std::size_t index : it->second) {
    PendingLink& p = pending_[index];
    if (p.resolved || p.layer <= layer_) continue;
    std::string target = printable_name(p.target);
    if (layer_ < p.blocked_below) fail_in(p.layer, p.first, fmt::format("hardlink target `{}` does not exist", target));
    if (entry.type == EntryType::kDirectory)
      fail_in(p.layer, p.first, fmt::format("hardlink to directory `{}`", target));
    p.resolved = true;
    --unresolved_;
    std::vector<std::string> members = std::move(p.members);  // link_to may grow pending_
    for (const auto& member : members) {
      if (ref.kind == DataRef::Kind::kWritten) {
        links_.push_back({member, ref.written});
      } else {
        link_to(ref, member);
      }
    }
  }
}

void LayerMerge::block_pending(const std::string& path, bool subtree_only) {
  if (unresolved_ == 0) return;
  for (PendingLink& p : pending_) {
    if (p.resolved || p.layer <= layer_) continue;
    if (is_below(p.target, path) || (!subtree_only && p.target == path)) {
      p.blocked_below = std::max(p.blocked_below, layer_);
    }
  }
}

MergeResult LayerMerge::finish() {
  for (const PendingLink& p : pending_) {
    if (!p.resolved)
      fail_in(p.layer, p.first, fmt::format("hardlink target `{}` does not exist", printable_name(p.target)));
  }
  MergeResult result;
  result.links = std::move(links_);
  for (auto& [key, fixup] : fixups_) result.fixups.push_back(std::move(fixup));
  result.special_files = special_files_;
  return result;
}

}  // namespace hl::import
