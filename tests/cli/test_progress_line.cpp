// The CLI's progress line (tools/modelport/progress.cpp): formatting, redraw throttling, and
// that a disabled line prints nothing.
#include <boost/test/unit_test.hpp>

#include "progress.hpp"

#include "test_errors.hpp"

#include <sstream>

using namespace modelport::cli;

BOOST_AUTO_TEST_SUITE(progress_line)

BOOST_AUTO_TEST_CASE(sizes_and_durations_read_like_people_write_them) {
  BOOST_TEST(format_bytes(0) == "0 B");
  BOOST_TEST(format_bytes(1023) == "1023 B");
  BOOST_TEST(format_bytes(1024) == "1.0 KiB");
  BOOST_TEST(format_bytes(161240) == "157.5 KiB");
  BOOST_TEST(format_bytes(5ull << 30) == "5.0 GiB");
  BOOST_TEST(format_duration(0.4) == "0s");
  BOOST_TEST(format_duration(42) == "42s");
  BOOST_TEST(format_duration(65) == "1m05s");
  BOOST_TEST(format_duration(3720) == "1h02m");
  BOOST_TEST(format_duration(-1) == "?");
}

BOOST_AUTO_TEST_CASE(the_line_shows_bytes_total_rate_and_eta) {
  // 24 MiB of 96 MiB after 2 s: 12 MiB/s, 72 MiB left -> 6 s.
  BOOST_TEST(format_progress_line("save x", 24ull << 20, 96ull << 20, 2.0) ==
             "save x  24.0 MiB / 96.0 MiB  25%  12.0 MiB/s  ETA 6s");
  // Total unknown: no percentage, no ETA.
  BOOST_TEST(format_progress_line("load", 3ull << 20, std::nullopt, 1.0) == "load  3.0 MiB  3.0 MiB/s");
  // Too early for a rate.
  BOOST_TEST(format_progress_line("load", 100, 1000, 0.1) == "load  100 B / 1000 B  10%");
}

BOOST_AUTO_TEST_CASE(a_disabled_line_prints_nothing_and_gives_no_callback) {
  std::ostringstream out;
  {
    ProgressLine line(out, false);
    BOOST_TEST(!line.callback("save"));
    line.update("save", {10, 100, ""});
    line.finish();
  }
  BOOST_TEST(out.str().empty());
}

BOOST_AUTO_TEST_CASE(an_enabled_line_redraws_in_place_and_ends_with_a_newline) {
  std::ostringstream out;
  {
    ProgressLine line(out, true);
    auto callback = line.callback("save m");
    BOOST_TEST_REQUIRE(static_cast<bool>(callback));
    callback({10, 100, ""});
    callback({20, 100, ""});  // within 100 ms of the first: skipped
    callback({100, 100, ""});  // complete: always drawn
  }
  const std::string text = out.str();
  BOOST_TEST(text.find("\rsave m  10 B / 100 B  10%") != std::string::npos, text);
  BOOST_TEST(text.find("20 B") == std::string::npos, text);
  BOOST_TEST(text.find("\rsave m  100 B / 100 B  100%") != std::string::npos, text);
  BOOST_TEST(text.back() == '\n');
  // A new label starts a new line.
  std::ostringstream two;
  {
    ProgressLine line(two, true);
    line.update("load", {5, std::nullopt, ""});
    line.update("save", {5, 10, ""});
  }
  BOOST_TEST(two.str().find("\n\rsave") != std::string::npos, two.str());
}

BOOST_AUTO_TEST_CASE(the_environment_forces_it_on_or_off_and_quiet_wins) {
  {
    modelport::test::ScopedEnv on("MODELPORT_PROGRESS", "1");
    BOOST_TEST(progress_wanted(false));
    BOOST_TEST(!progress_wanted(true));
  }
  modelport::test::ScopedEnv off("MODELPORT_PROGRESS", "0");
  BOOST_TEST(!progress_wanted(false));
}

BOOST_AUTO_TEST_SUITE_END()
