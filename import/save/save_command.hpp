#pragma once
// `hpclaunch save NAME -o FILE.sqsh` (run by hpclaunch-import): a new
// squashfs image of this node's named container as its root view sees it —
// the image with its writable layer, whiteouts applied — streamed into
// tar2sqfs with no unpacked copy on disk, like pyxis' --container-save.
namespace hl::import {

int run_save_command(int argc, char** argv);

}  // namespace hl::import
