#pragma once
// TestEngine: a storage Engine in a fresh temporary directory named after the
// running gtest, removed again when the TestEngine goes. Tests only.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "storage/engine.h"

namespace tessera::storage {

class TestEngine {
 public:
  explicit TestEngine(const std::string& tag) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("tessera-" + tag + "-" + std::to_string(::getpid()) + "-" + info->test_suite_name() +
            "-" + info->name());
    std::filesystem::remove_all(dir_);
    reopen();
  }
  ~TestEngine() {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }
  TestEngine(const TestEngine&) = delete;
  TestEngine& operator=(const TestEngine&) = delete;

  // Closes and opens the engine again on the same directory.
  void reopen() {
    engine_.reset();
    auto e = Engine::open(dir_.string(), EngineOptions{});
    TESSERA_ASSERT_MSG(e.is_ok(), e.status().to_string().c_str());
    engine_ = std::move(e).value();
  }

  Engine& operator*() { return *engine_; }
  Engine* operator->() { return engine_.get(); }
  Engine* get() { return engine_.get(); }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace tessera::storage
