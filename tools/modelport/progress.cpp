#include "progress.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace modelport::cli {

bool progress_wanted(bool quiet) {
  if (quiet) return false;
  if (const char* forced = std::getenv("MODELPORT_PROGRESS"); forced && *forced) {
    return std::string_view(forced) != "0";
  }
  return ::isatty(STDERR_FILENO) == 1;
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<std::uint64_t>(std::llround(seconds));
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s % 3600 / 60));
  } else if (s >= 60) {
    std::snprintf(text, sizeof text, "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  } else {
    std::snprintf(text, sizeof text, "%llus", static_cast<unsigned long long>(s));
  }
  return text;
}

std::string format_progress_line(std::string_view label, std::uint64_t done, std::optional<std::uint64_t> total,
                                 double seconds) {
  std::string line(label);
  line += "  " + format_bytes(done);
  if (total) {
    line += " / " + format_bytes(*total);
    if (*total > 0) line += "  " + std::to_string(std::min<std::uint64_t>(100, done * 100 / *total)) + "%";
  }
  // Under a quarter second the rate is noise.
  if (seconds >= 0.25 && done > 0) {
    const double rate = static_cast<double>(done) / seconds;
    line += "  " + format_bytes(static_cast<std::uint64_t>(rate)) + "/s";
    if (total && *total >= done) line += "  ETA " + format_duration(static_cast<double>(*total - done) / rate);
  }
  return line;
}

ProgressLine::ProgressLine(std::ostream& out, bool enabled) : out_(out), enabled_(enabled) {}

ProgressLine::~ProgressLine() { finish(); }

ProgressCallback ProgressLine::callback(std::string label) {
  if (!enabled_) return {};
  return [this, label = std::move(label)](const Progress& p) { update(label, p); };
}

void ProgressLine::update(std::string_view label, const Progress& progress) {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  if (label != label_) {
    if (drawn_) out_ << '\n';
    drawn_ = false;
    label_ = label;
    started_ = now;
  }
  const bool complete = progress.bytes_total && progress.bytes_done >= *progress.bytes_total;
  // A redraw every 100 ms is smooth enough and keeps a fast copy from spending its time on the
  // terminal.
  if (drawn_ && !complete && now - last_draw_ < std::chrono::milliseconds(100)) return;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  // \r returns to the line start, \x1b[K clears what a longer previous line left behind.
  out_ << '\r' << format_progress_line(label_, progress.bytes_done, progress.bytes_total, seconds) << "\x1b[K" << std::flush;
  drawn_ = true;
  last_draw_ = now;
}

void ProgressLine::finish() {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  if (drawn_) out_ << '\n' << std::flush;
  drawn_ = false;
  label_.clear();
}

}  // namespace modelport::cli
