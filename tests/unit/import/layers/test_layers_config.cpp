// The image config stored in the image: /etc/environment and config.json.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "image/etc_files.hpp"
#include "import/layers/layers_config.hpp"

namespace hl::import {
namespace {

nlohmann::json with_env(std::vector<std::string> env) { return {{"config", {{"Env", env}}}}; }

TEST(LayersConfig, ConfigEnvOverridesTheImageFile) {
  std::string existing = "# defaults\nLANG=C.UTF-8\nexport PATH=\"/old\"\n  TZ = UTC\n\nKEEP=1";
  auto config = with_env({"PATH=/usr/bin:/bin", "TZ=Europe/Paris", "NEW=x"});
  EXPECT_EQ(environment_with_config(existing, config),
            "# defaults\nLANG=C.UTF-8\n\nKEEP=1\nPATH=/usr/bin:/bin\nTZ=Europe/Paris\nNEW=x\n");
}

TEST(LayersConfig, NoConfigKeepsTheImageFile) {
  EXPECT_EQ(environment_with_config("A=1\n", nlohmann::json::object()), "A=1\n");
  EXPECT_EQ(environment_with_config("A=1\n", nullptr), "A=1\n");
  EXPECT_EQ(environment_with_config("", with_env({"bad", "=x", "B=2"})), "B=2\n");
}

// What hpclaunch reads back at run time is exactly the config's value.
TEST(LayersConfig, ValuesSurviveTheEnvironmentFileReader) {
  std::vector<std::string> values = {"plain", "a=b=c",     "\"quoted\"", "'single'", " lead", "trail ",
                                     "",      "\" mixed'", "it's",       "x\"",      "\t"};
  std::vector<std::string> env;
  for (std::size_t i = 0; i < values.size(); ++i) env.push_back(fmt::format("V{}={}", i, values[i]));
  auto parsed = image::parse_environment_file(environment_with_config("", with_env(env)));
  ASSERT_EQ(parsed.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(parsed[i].first, fmt::format("V{}", i));
    EXPECT_EQ(parsed[i].second, values[i]) << "value " << i;
  }
}

TEST(LayersConfig, MultiLineValuesAreLeftOutAndNamed) {
  std::string skipped;
  EXPECT_EQ(environment_with_config("CERT=old\nA=1\n", with_env({"CERT=line1\nline2", "B=2"}), &skipped), "A=1\nB=2\n");
  EXPECT_EQ(skipped, "CERT");
}

TEST(LayersConfig, ConfigJsonHasTheRunSettings) {
  nlohmann::json config = {{"architecture", "amd64"},
                           {"config",
                            {{"Env", {"A=1"}},
                             {"WorkingDir", "/w"},
                             {"Entrypoint", {"/e"}},
                             {"Cmd", {"c", "d"}},
                             {"User", "u"},
                             {"Labels", {{"x", "y"}}}}}};
  auto out = nlohmann::json::parse(hpclaunch_config_json(config));
  EXPECT_EQ(out,
            nlohmann::json(
                {{"Env", {"A=1"}}, {"WorkingDir", "/w"}, {"Entrypoint", {"/e"}}, {"Cmd", {"c", "d"}}, {"User", "u"}}));
}

TEST(LayersConfig, ConfigJsonDefaults) {
  nlohmann::json config = {{"config", {{"Entrypoint", nullptr}, {"Cmd", "not a list"}}}};
  auto out = nlohmann::json::parse(hpclaunch_config_json(config));
  EXPECT_EQ(out, nlohmann::json({{"Env", nlohmann::json::array()},
                                 {"WorkingDir", ""},
                                 {"Entrypoint", nlohmann::json::array()},
                                 {"Cmd", nlohmann::json::array()},
                                 {"User", ""}}));
  EXPECT_EQ(nlohmann::json::parse(hpclaunch_config_json(nullptr)), out);
}

}  // namespace
}  // namespace hl::import
