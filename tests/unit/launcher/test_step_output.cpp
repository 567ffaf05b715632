// The front end's reading of the node step's output: the serve gate's
// node-ready lines (wireup/holder_protocol.hpp) and the containers-ready line.
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "launcher/step_output.hpp"

using hl::launcher::StepOutput;

namespace {

void feed(StepOutput& output, const std::string& text) {
  ASSERT_EQ(::write(output.write_fd(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  output.drain();
}

}  // namespace

TEST(StepOutput, EveryNodeReadyOnlyOnceEachNodeSaidSo) {
  StepOutput output(false);
  EXPECT_FALSE(output.every_node_ready());
  feed(output, "hpclaunch-node-ready 2 3\nsrun: some line\n");
  EXPECT_FALSE(output.every_node_ready());
  feed(output, "hpclaunch-node-ready 0 3\nhpclaunch-node-ready 2 3\n");  // node 2 twice: still two of three
  EXPECT_FALSE(output.every_node_ready());
  feed(output, "hpclaunch-node-re");  // half a line
  EXPECT_FALSE(output.every_node_ready());
  feed(output, "ady 1 3\n");
  EXPECT_TRUE(output.every_node_ready());
  output.clear();  // a restarted node step starts from none
  EXPECT_FALSE(output.every_node_ready());
}

TEST(StepOutput, MalformedNodeReadyLinesCountForNothing) {
  StepOutput output(false);
  feed(output, "hpclaunch-node-ready 1 1\n");  // rank out of range
  feed(output, "hpclaunch-node-ready 0 0\n");
  feed(output, "hpclaunch-node-ready 0\n");
  feed(output, "x hpclaunch-node-ready 0 1\n");
  EXPECT_FALSE(output.every_node_ready());
  feed(output, "hpclaunch-node-ready 0 2\nhpclaunch-node-ready 1 3\n");  // sizes disagree: the second is ignored
  EXPECT_FALSE(output.every_node_ready());
  feed(output, "hpclaunch-node-ready 1 2\n");
  EXPECT_TRUE(output.every_node_ready());
}
