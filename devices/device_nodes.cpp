#include "devices/device_nodes.hpp"

namespace hl::devices {

std::vector<std::string> minimal_device_nodes() { return {"null", "zero", "full", "random", "urandom", "tty"}; }

}  // namespace hl::devices
