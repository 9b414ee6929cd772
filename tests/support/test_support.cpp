#include "test_support.hpp"

#include <cmath>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

namespace modelport::test {

std::filesystem::path fixtures_dir() { return MODELPORT_FIXTURES_DIR; }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::string text = read_file(path);
  std::vector<std::byte> bytes(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) bytes[i] = static_cast<std::byte>(text[i]);
  return bytes;
}

bool close_to_reference(double value, double ref, double abs_sum) {
  return std::fabs(value - ref) <= 1e-5 * std::max(abs_sum, 1e-30) + 1e-6 * std::fabs(ref);
}

TempDir::TempDir() {
  std::random_device rd;
  auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = base / ("modelport-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary folder");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace modelport::test
