#include "cli/progress.h"

#include <unistd.h>

#include "client/units.h"

namespace tessera::cli {

std::string render_progress(const std::string& label, uint64_t done, uint64_t total,
                            int64_t elapsed_ms) {
  std::string rate;
  if (elapsed_ms > 0) {
    uint64_t per_s =
        static_cast<uint64_t>(static_cast<double>(done) * 1000.0 / static_cast<double>(elapsed_ms));
    rate = " " + client::format_size(per_s) + "/s";
  }
  if (total == 0) return label + " " + client::format_size(done) + rate;
  uint64_t shown = std::min(done, total);
  int pct = static_cast<int>(static_cast<double>(shown) * 100.0 / static_cast<double>(total));
  size_t fill = static_cast<size_t>(static_cast<double>(shown) * kProgressBarWidth /
                                    static_cast<double>(total));
  std::string bar(kProgressBarWidth, ' ');
  for (size_t i = 0; i < fill; ++i) bar[i] = '=';
  if (fill < kProgressBarWidth) bar[fill] = '>';
  std::string p = std::to_string(pct);
  return label + " " + std::string(3 - std::min<size_t>(3, p.size()), ' ') + p + "% [" + bar +
         "] " + client::format_size(shown) + "/" + client::format_size(total) + rate;
}

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, uint64_t total, bool enabled, std::FILE* out)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      out_(out),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(uint64_t bytes) {
  done_ += bytes;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_width_ > 0 && now - last_draw_ < std::chrono::milliseconds(kRedrawIntervalMs)) return;
  last_draw_ = now;
  draw();
}

void Progress::draw() {
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start_)
                     .count();
  std::string line = render_progress(label_, done_, total_, elapsed);
  size_t width = line.size();
  if (width < drawn_width_) line.append(drawn_width_ - width, ' ');
  std::fputc('\r', out_);
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
  drawn_width_ = std::max(drawn_width_, width);
}

void Progress::finish() {
  if (!enabled_ || drawn_width_ == 0) return;
  std::fputc('\r', out_);
  std::fputs(std::string(drawn_width_, ' ').c_str(), out_);
  std::fputc('\r', out_);
  std::fflush(out_);
  drawn_width_ = 0;
  enabled_ = false;
}

}  // namespace tessera::cli
