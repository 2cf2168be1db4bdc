#pragma once
// Progress: a one-line transfer progress bar on stderr for put and get.
//
// Drawn only when enabled (the CLI enables it when stderr is a TTY), at
// most every kRedrawIntervalMs, overwritten in place with '\r', and erased
// by finish(). Owned and called by one thread. render_progress is the pure
// formatter, unit-tested in progress_test.cc.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tessera::cli {

inline constexpr int64_t kRedrawIntervalMs = 100;
inline constexpr size_t kProgressBarWidth = 24;

// "label  42% [=========>              ] 1.2M/3.0M 640K/s"; without a total
// (total == 0): "label 1.2M 640K/s".
std::string render_progress(const std::string& label, uint64_t done, uint64_t total,
                            int64_t elapsed_ms);

// True when stderr is a terminal.
bool stderr_is_tty();

class Progress {
 public:
  // `total` 0 means unknown.
  Progress(std::string label, uint64_t total, bool enabled, std::FILE* out = stderr);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(uint64_t bytes);
  // Erases the bar. Idempotent; the destructor calls it.
  void finish();

 private:
  void draw();

  std::string label_;
  uint64_t total_;
  bool enabled_;
  std::FILE* out_;
  uint64_t done_ = 0;
  size_t drawn_width_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace tessera::cli
