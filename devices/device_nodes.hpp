#pragma once
// Which host device nodes appear in the container's /dev. The default is the
// minimal set bubblewrap's --dev gives; GPUs and HCAs only when selected.
#include <string>
#include <vector>

namespace hl::devices {

// Names under /dev bound from the host into every container.
std::vector<std::string> minimal_device_nodes();

}  // namespace hl::devices
