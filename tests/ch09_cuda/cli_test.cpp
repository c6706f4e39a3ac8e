// `--device cuda` as a user meets it: on a machine without a GPU (or a build without CUDA) a
// clear error and exit status 1 from every command that runs a model, never a crash; `llm
// --version` and `llm info --cpu` say what was built and what is visible.
#include <gtest/gtest.h>

#include "llm/cuda/cuda_backend.h"
#include "llm/testing/testing.h"

namespace t = llm::testing;

namespace {

TEST(LlmDeviceCuda, WithoutAGpuEveryCommandRefusesClearly) {
  const llm::cuda::DeviceInfo info = llm::cuda::device_info();
  if (info.built && info.count > 0) GTEST_SKIP() << "a GPU is present: " << info.summary();
  const std::string model = t::models_dir() + "/stories260K.bin";
  if (!t::require_file(model)) GTEST_SKIP() << t::skip_reason(model);
  const std::string want = info.built ? "no CUDA GPU is visible here" : "built without CUDA";
  for (const std::string& cmd :
       {"generate -m " + model + " --prompt-ids 1 -n 2 --device cuda",
        "bench --ladder -m " + model + " -p 8 -n 8 --device cuda",
        "bench --concurrency 2 -m " + model + " -n 4 --device cuda",
        "serve -m " + t::default_model_path() + " --port 0 --device cuda"}) {
    if (cmd.starts_with("serve") && !t::file_exists(t::default_model_path())) continue;
    const auto r = t::run_llm(cmd, true);
    EXPECT_EQ(r.status, 1) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find(want), std::string::npos) << cmd << "\n" << r.out;
  }
  const auto version = t::run_llm("--version");
  EXPECT_NE(version.out.find("CUDA: " + info.summary()), std::string::npos) << version.out;
  const auto cpu = t::run_llm("info --cpu");
  EXPECT_NE(cpu.out.find("cuda: " + info.summary()), std::string::npos) << cpu.out;
  const auto bad = t::run_llm("generate -m " + model + " --prompt-ids 1 --device tpu", true);
  EXPECT_NE(bad.out.find("--device tpu: expected cpu or cuda"), std::string::npos) << bad.out;
}

}  // namespace
