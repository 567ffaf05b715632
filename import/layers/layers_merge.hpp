#pragma once
// Merging image layers without unpacking them: pure bookkeeping over entry
// names, no archive or file-system access, so every rule is unit-tested.
//
// The layers are visited from the top one down. An entry is written when no
// upper layer decided its path (an entry, a whiteout, an opaque directory or
// a non-directory above it); so each path is written once, by the layer that
// wins, in a single pass over the data (a bottom-up merge would read every
// layer twice: once to learn what survives, once to copy it).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hl::import {

enum class EntryType { kDirectory, kRegular, kSymlink, kHardlink, kSpecial };  // kSpecial: device, fifo, socket

// One tar entry, its names already normalized by normalize_layer_path.
struct LayerEntry {
  std::string path;  // "" is the root directory
  EntryType type = EntryType::kRegular;
  std::string link_target;  // kHardlink: the path it links to
};

// "./usr//bin/" -> "usr/bin". Throws hl::Error ("... leaves the image root")
// for absolute names and names with a `..` component.
std::string normalize_layer_path(std::string_view name);

// `name` with control characters as \xNN, so an error stays one line.
std::string printable_name(std::string_view name);

enum class EntryAction {
  kSkip,       // hidden by an upper layer, a whiteout marker, the root, a device file, or written later
  kWrite,      // copy the entry (and its data) as it is
  kWriteLink,  // write a hardlink to EntryDecision::link_to, which is already written
  kCapture,    // a path the builder writes itself from this entry's data (/etc/environment)
};

struct EntryDecision {
  EntryAction action = EntryAction::kSkip;
  std::string link_to;
};

// A hardlink whose target was written after it (target in a lower layer).
struct DeferredLink {
  std::string path;
  std::string target;
};

// Hardlinks whose target's data lies in an entry that is not written (an
// upper layer replaced the target's path): re-read `layer`, write entry number
// `ordinal` under paths[0], then paths[1..] as hardlinks to it.
struct Fixup {
  std::size_t layer = 0;
  std::uint64_t ordinal = 0;
  std::vector<std::string> paths;
};

struct MergeResult {
  std::vector<DeferredLink> links;
  std::vector<Fixup> fixups;      // sorted by layer, then ordinal
  std::size_t special_files = 0;  // device files, fifos, sockets not written
};

class LayerMerge {
 public:
  // layer_names[i] (digests) name layer i (0 = bottom) in error messages.
  explicit LayerMerge(std::vector<std::string> layer_names);

  // The builder writes these itself: entries at `path` and below are dropped.
  void reserve(const std::string& path);
  // The builder rewrites this file: the winning entry is reported as kCapture.
  void capture(const std::string& path);

  // Layers from the top (size-1) down to 0; entries in archive order,
  // `ordinal` counting from 0 in each layer. Throws hl::Error naming the layer
  // and entry for unsafe paths (through a symlink, links to nowhere). A path
  // twice in one layer keeps its first entry (tar would keep the last; no
  // image tool writes such layers, and tar2sqfs refuses duplicates).
  void begin_layer(std::size_t layer);
  EntryDecision add(const LayerEntry& entry, std::uint64_t ordinal);
  void end_layer();
  MergeResult finish();

  // The type of the entry written at `path`; nullopt when none is.
  std::optional<EntryType> written_type(const std::string& path) const;

 private:
  // Where the data of a file (and of every hardlink to it) comes from.
  struct DataRef {
    enum class Kind { kWritten, kUnwritten, kPending, kSpecial } kind = Kind::kWritten;
    std::string written;    // kWritten: its path in the output
    std::size_t layer = 0;  // kUnwritten: entry `ordinal` of `layer`
    std::uint64_t ordinal = 0;
    std::size_t pending = 0;  // kPending: index into pending_
  };
  // A hardlink to a path that no earlier entry of its layer has: the target
  // is in a lower layer, resolved when that layer is read.
  struct PendingLink {
    std::string target;
    int layer = 0;                     // the hardlink's layer
    std::string first;                 // the first hardlink's path, for messages
    std::vector<std::string> members;  // written hardlinks waiting for it
    int blocked_below = -1;            // a whiteout between the layers: lower versions are gone
    bool resolved = false;
  };
  struct Node {
    int written_layer = -1;
    EntryType written_type = EntryType::kDirectory;
    int self_hidden_below = -1;     // whiteout at layer L: this path is gone in layers < L
    int subtree_hidden_below = -1;  // whiteout, opaque dir or non-directory at L: descendants gone below L
    // For the conservative symlink rule: the lowest layer so far with an
    // entry (or whiteout) at this path, its kind, and a layer below that one
    // that put entries under this path without re-creating it.
    int anchor_layer = -1;
    EntryType anchor_type = EntryType::kDirectory;
    int loose_child_layer = -1;
    std::string loose_child;
  };

  // Lookups by string_view without building a std::string.
  struct PathHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view path) const noexcept { return std::hash<std::string_view>{}(path); }
  };

  Node& node(std::string_view path);
  const Node* find(std::string_view path) const;
  bool hidden(const std::string& path) const;
  void note_child(const std::string& ancestor, const std::string& child);
  void note_children(const std::string& path, const std::string& entry);
  void note_explicit(const std::string& path, EntryType type);
  void add_marker(const std::string& marker);
  void whiteout(const std::string& dir, std::string_view name, const std::string& marker);
  void block_pending(const std::string& path, bool subtree_only);
  EntryDecision add_visible(const LayerEntry& entry, std::uint64_t ordinal);
  EntryDecision add_hardlink(const LayerEntry& entry, bool visible);
  DataRef data_of_target(const LayerEntry& entry);
  EntryDecision link_to(const DataRef& ref, const std::string& path);
  void resolve_pending(const LayerEntry& entry, const DataRef& ref);
  [[noreturn]] void fail(std::string_view path, std::string_view problem) const;
  [[noreturn]] void fail_in(int layer, std::string_view path, std::string_view problem) const;
  std::string name_of(int layer) const;

  std::vector<std::string> layer_names_;
  std::unordered_map<std::string, Node, PathHash, std::equal_to<>> nodes_;
  std::unordered_map<std::string, DataRef> layer_files_;  // the current layer's non-directories
  std::vector<PendingLink> pending_;
  std::unordered_map<std::string, std::vector<std::size_t>> pending_by_target_;
  std::map<std::pair<std::size_t, std::uint64_t>, Fixup> fixups_;
  std::vector<DeferredLink> links_;
  std::string capture_path_;
  std::size_t special_files_ = 0;
  std::size_t unresolved_ = 0;  // pending links not yet found
  int layer_ = -1;
  std::uint64_t ordinal_ = 0;
};

}  // namespace hl::import
