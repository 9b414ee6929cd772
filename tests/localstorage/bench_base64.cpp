// Throughput of the localstorage:// base64 codec on a weight-sized buffer:
//   localstorage_base64_bench [MiB=64] [repetitions=5]
// Encodes in 4 MiB chunks (as a save streams a model's buffers) and decodes in 4 MiB pieces
// straight into one output buffer (as a load does), and prints the best MB/s of each (MB = 10^6
// bytes of weights, i.e. of raw bytes on both sides), by wall clock and by the thread's CPU time
// (the second is the codec's own speed on a busy machine). Encoding includes allocating the
// output text, as a save does.
#include "base64.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <vector>

using namespace modelport::localstorage;
using Clock = std::chrono::steady_clock;

namespace {
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace

int main(int argc, char** argv) {
  const std::size_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 64;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::size_t bytes = mib << 20;
  std::vector<std::byte> data(bytes);
  std::mt19937_64 rng(42);
  for (std::size_t i = 0; i + 8 <= bytes; i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(data.data() + i, &v, 8);
  }
  constexpr std::size_t kChunk = 4u << 20;
  std::string text;
  double best_encode = 1e30, best_decode = 1e30, cpu_encode = 1e30, cpu_decode = 1e30;
  std::vector<std::byte> back(bytes);
  for (int r = 0; r < reps; ++r) {
    const double c0 = cpu_seconds();
    auto t0 = Clock::now();
    text.assign(base64_encoded_size(bytes), '\0');
    Base64Encoder encoder(text.data());
    for (std::size_t at = 0; at < bytes; at += kChunk) {
      encoder.update(std::span(data).subspan(at, std::min(kChunk, bytes - at)));
    }
    encoder.finish();
    auto t1 = Clock::now();
    const double c1 = cpu_seconds();
    constexpr std::size_t kPiece = kChunk / 3 * 4;
    const std::size_t size = base64_decoded_size(text);
    for (std::size_t at = 0; at < text.size(); at += kPiece) {
      const std::string_view piece = std::string_view(text).substr(at, kPiece);
      const bool last = at + piece.size() == text.size();
      const std::size_t first = at / 4 * 3;
      base64_decode(piece, std::span(back).subspan(first, last ? size - first : piece.size() / 4 * 3), at, last);
    }
    auto t2 = Clock::now();
    const double c2 = cpu_seconds();
    cpu_encode = std::min(cpu_encode, c1 - c0);
    cpu_decode = std::min(cpu_decode, c2 - c1);
    best_encode = std::min(best_encode, std::chrono::duration<double>(t1 - t0).count());
    best_decode = std::min(best_decode, std::chrono::duration<double>(t2 - t1).count());
  }
  if (back != data) {
    std::fprintf(stderr, "round trip mismatch\n");
    return 1;
  }
  const double mb = static_cast<double>(bytes) / 1e6;
  std::printf("base64 %zu MiB (%zu characters), best of %d: encode %.0f MB/s, decode %.0f MB/s "
              "(by CPU time: encode %.0f MB/s, decode %.0f MB/s)\n",
              mib, text.size(), reps, mb / best_encode, mb / best_decode, mb / cpu_encode, mb / cpu_decode);
  return 0;
}
