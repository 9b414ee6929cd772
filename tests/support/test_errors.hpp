// Test helpers for errors and the environment, shared by the Boost.Test suites.
#pragma once

#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>

#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace modelport::test {

// The error `fn` throws; the test fails when it throws none.
template <class E = modelport::Error, class Fn>
E error_of(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e;
  }
  BOOST_FAIL("expected an exception, got none");
  throw std::logic_error("unreachable");
}

// The message of the modelport::Error `fn` throws (its code into `code`), or "(no error)": for
// tests that match on the message text, so a missing error fails their text check.
inline std::string error_message_of(const std::function<void()>& fn, ErrorCode* code = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "(no error)";
}

// Sets (or, with nullptr, unsets) an environment variable for one scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace modelport::test
