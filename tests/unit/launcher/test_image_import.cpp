#include <gtest/gtest.h>

#include "launcher/image_import.hpp"
#include "tests/unit/error_text.hpp"

using namespace hl;
using namespace hl::launcher;

TEST(ImageImport, RegistryReferences) {
  EXPECT_TRUE(is_registry_reference("docker://ubuntu:22.04"));
  EXPECT_FALSE(is_registry_reference("app.sqsh"));
  EXPECT_FALSE(is_registry_reference("/data/docker://x"));
}

TEST(ImageImport, RunCachePathIsOneFilePerReference) {
  EXPECT_EQ(run_cache_path("docker://127.0.0.1:5000/test/app:v1", {{"HOME", "/home/u"}}),
            "/home/u/.cache/hpclaunch/run/127.0.0.1+5000+test+app+v1.sqsh");
  EXPECT_EQ(run_cache_path("docker://alice@nvcr.io#nvidia/pytorch:24.01-py3",
                           {{"HOME", "/home/u"}, {"XDG_CACHE_HOME", "/scratch/u/cache"}}),
            "/scratch/u/cache/hpclaunch/run/alice+nvcr.io+nvidia+pytorch+24.01-py3.sqsh");
  EXPECT_EQ(run_cache_path("docker://ubuntu@sha256:abc", {{"HOME", "/home/u"}, {"XDG_CACHE_HOME", "relative"}}),
            "/home/u/.cache/hpclaunch/run/ubuntu+sha256+abc.sqsh")
      << "a relative XDG_CACHE_HOME is ignored, as the spec says";
  EXPECT_EQ(hl::testing::error_text([] { run_cache_path("docker://x", {}); }),
            "--image `docker://x`: no cache directory for the import (neither XDG_CACHE_HOME nor HOME is set)");
  EXPECT_THROW(run_cache_path("docker://" + std::string(300, 'a'), {{"HOME", "/h"}}), Error);
  EXPECT_THROW(run_cache_path("docker://..", {{"HOME", "/h"}}), Error);
}
