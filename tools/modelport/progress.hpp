// A progress line on stderr for long transfers (cp, mv, quantize, serve uploads), fed by the
// core's progress callback (CommonOptions::on_progress).
//
// Drawn only when stderr is a terminal, and never with -q; MODELPORT_PROGRESS=1 forces it on
// (for tests and for `script`-style logs), MODELPORT_PROGRESS=0 forces it off. The line shows
// the bytes done, the total when the scheme knows it, the rate and the time left.
#pragma once

#include <modelport/options.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace modelport::cli {

// Whether a progress line should be drawn at all: MODELPORT_PROGRESS, then isatty(stderr);
// `quiet` (-q) wins over both.
bool progress_wanted(bool quiet);

// "12.5 MiB" style sizes (binary units, one decimal from KiB on).
std::string format_bytes(std::uint64_t bytes);
// "1m05s" / "42s" / "1h02m".
std::string format_duration(double seconds);
// One progress line (no carriage return): "save  12.0 MiB / 48.0 MiB  25%  6.0 MiB/s  ETA 6s".
// The rate and ETA are left out until `seconds` is long enough to mean something.
std::string format_progress_line(std::string_view label, std::uint64_t done, std::optional<std::uint64_t> total,
                                 double seconds);

class ProgressLine {
 public:
  // Draws to `out` (normally std::cerr) when `enabled`; otherwise every call does nothing.
  ProgressLine(std::ostream& out, bool enabled);
  ~ProgressLine();  // ends the line if one was drawn
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // A callback for CommonOptions::on_progress under `label` ("load", "save", ...). Each new
  // label starts its own timing, so a copy shows its load and then its save. Safe to call from
  // several threads (plugins may report from worker threads).
  ProgressCallback callback(std::string label);
  void update(std::string_view label, const Progress& progress);
  // Ends the current line (the next update starts a fresh one).
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::ostream& out_;
  bool enabled_;
  std::mutex mutex_;
  std::string label_;
  Clock::time_point started_{};
  Clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace modelport::cli
