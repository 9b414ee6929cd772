// Small helpers shared by the test suites.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace modelport::test {

// tests/fixtures inside the source tree (the tests never read ../shared).
std::filesystem::path fixtures_dir();

std::string read_file(const std::filesystem::path& path);
std::vector<std::byte> read_bytes(const std::filesystem::path& path);

// Relative difference check used against reference.json stats:
// |value - ref| <= 1e-5 * max(abs_sum, 1e-30) + 1e-6 * |ref|.
bool close_to_reference(double value, double ref, double abs_sum);

// A fresh empty folder under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace modelport::test
