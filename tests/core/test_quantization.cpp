#include <modelport/error.hpp>
#include <modelport/float16.hpp>
#include <modelport/quantization.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using namespace modelport;

namespace {

std::vector<std::uint32_t> decode(const std::vector<std::byte>& bytes, QuantDType dtype) {
  std::vector<std::uint32_t> codes;
  if (dtype == QuantDType::uint8) {
    for (const std::byte b : bytes) codes.push_back(std::to_integer<std::uint32_t>(b));
  } else {
    for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) {
      codes.push_back(std::to_integer<std::uint32_t>(bytes[i]) |
                      (std::to_integer<std::uint32_t>(bytes[i + 1]) << 8));
    }
  }
  return codes;
}

struct Quantized {
  AffineParams params;
  std::vector<std::uint32_t> codes;
};

Quantized quantize(const std::vector<float>& values, QuantDType dtype) {
  std::vector<std::byte> out(values.size() * element_size(dtype));
  const AffineParams params = quantize_affine(values, dtype, out);
  return {params, decode(out, dtype)};
}

bool throws_invalid_argument(auto&& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.code() == ErrorCode::invalid_argument;
  }
  return false;
}

// What the converter guarantees: zero is a grid point when the range covers it, and every value
// comes back within half a step (plus the float32 rounding of the converter's arithmetic and of
// the stored result).
void check_round_trip(const std::vector<float>& values, QuantDType dtype) {
  const Quantized q = quantize(values, dtype);
  const double qmax = dtype == QuantDType::uint8 ? 255.0 : 65535.0;
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  const double range = static_cast<double>(*hi) - static_cast<double>(*lo);

  BOOST_TEST(q.params.scale == range / qmax);
  if (*lo <= 0.0f && *hi >= 0.0f) {
    // min is -zp * scale for an integer zp, so the reader's zp * scale + min cancels exactly.
    const double zero_point = std::nearbyint(-q.params.min / q.params.scale);
    BOOST_TEST(-zero_point * q.params.scale == q.params.min);
    BOOST_TEST(dequantize_affine_float(static_cast<std::uint32_t>(zero_point), q.params.min,
                                       q.params.scale) == 0.0f);
    // A real 0 (which does not move min or max) is stored as exactly that code.
    std::vector<float> with_zero = values;
    with_zero.push_back(0.0f);
    BOOST_TEST(quantize(with_zero, dtype).codes.back() == zero_point);
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    BOOST_TEST_REQUIRE(q.codes[i] <= qmax);
    const double back = dequantize_affine_float(q.codes[i], q.params.min, q.params.scale);
    const double tolerance = q.params.scale / 2 + 1e-6 * range;
    BOOST_TEST_REQUIRE(std::fabs(back - static_cast<double>(values[i])) <= tolerance,
                       "value " << values[i] << " came back as " << back);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(quantization)

BOOST_AUTO_TEST_CASE(js_to_int32_wraps_like_int32array) {
  BOOST_TEST(js_to_int32(2147483648.0) == std::numeric_limits<std::int32_t>::min());
  BOOST_TEST(js_to_int32(-2147483649.0) == std::numeric_limits<std::int32_t>::max());
  BOOST_TEST(js_to_int32(4294967296.0 + 5) == 5);
  BOOST_TEST(js_to_int32(-4294967296.0 - 5) == -5);
  BOOST_TEST(js_to_int32(4294967295.0) == -1);
  BOOST_TEST(js_to_int32(1.9) == 1);
  BOOST_TEST(js_to_int32(-1.9) == -1);
  BOOST_TEST(js_to_int32(-0.0) == 0);
  BOOST_TEST(js_to_int32(2147483647.0) == 2147483647);
  BOOST_TEST(js_to_int32(1e20) == 1661992960);  // 1e20 mod 2^32, as in JS (1e20 | 0)
  BOOST_TEST(js_to_int32(std::ldexp(1.0, 80) + std::ldexp(1.0, 31)) ==
             std::numeric_limits<std::int32_t>::min());
  BOOST_TEST(js_to_int32(std::numeric_limits<double>::quiet_NaN()) == 0);
  BOOST_TEST(js_to_int32(std::numeric_limits<double>::infinity()) == 0);
  BOOST_TEST(js_to_int32(-std::numeric_limits<double>::infinity()) == 0);
  BOOST_TEST(js_to_int32(std::numeric_limits<double>::max()) == 0);
}

BOOST_AUTO_TEST_CASE(js_math_round_matches_javascript) {
  BOOST_TEST(js_math_round(-2.5) == -2.0);
  BOOST_TEST(js_math_round(24.5) == 25.0);
  BOOST_TEST(js_math_round(2.5) == 3.0);
  BOOST_TEST(js_math_round(-0.5) == 0.0);
  BOOST_TEST(js_math_round(-2.6) == -3.0);
  BOOST_TEST(js_math_round(0.49999999999999994) == 0.0);  // floor(x + 0.5) would give 1
  BOOST_TEST(js_math_round(-0.49999999999999994) == 0.0);
  BOOST_TEST(js_math_round(4503599627370495.5) == 4503599627370496.0);  // 2^52 - 0.5
  BOOST_TEST(js_math_round(-4503599627370495.5) == -4503599627370495.0);
  BOOST_TEST(js_math_round(9007199254740991.0) == 9007199254740991.0);  // no fraction bits left
  BOOST_TEST(std::isnan(js_math_round(std::numeric_limits<double>::quiet_NaN())));
  BOOST_TEST(js_math_round(-std::numeric_limits<double>::infinity()) ==
             -std::numeric_limits<double>::infinity());
}

BOOST_AUTO_TEST_CASE(dequantize_spec_example) {
  const double min = -1;
  const double scale = 0.1;
  BOOST_TEST(dequantize_affine_float(0, min, scale) == -1.0f);
  BOOST_TEST(std::fabs(dequantize_affine_float(48, min, scale) - 3.8f) < 1e-6f);
  BOOST_TEST(std::fabs(dequantize_affine_float(255, min, scale) - 24.5f) < 1e-6f);
  // The double result rounded once to float, which is what tfjs stores.
  BOOST_TEST(dequantize_affine_float(48, min, scale) == static_cast<float>(48 * 0.1 - 1));
  BOOST_TEST(dequantize_affine_int32(0, min, scale) == -1);
  BOOST_TEST(dequantize_affine_int32(48, min, scale) == 4);
  BOOST_TEST(dequantize_affine_int32(255, min, scale) == 25);  // 24.5 rounds up, as in JS
  BOOST_TEST(dequantize_affine_int32(15, -4, 0.1) == -2);       // -2.5 rounds up to -2
}

BOOST_AUTO_TEST_CASE(hand_computed_uint8_with_nudge) {
  // min -10, max 245: scale = 255/255 = 1, zero point 10, so the grid is the integers -10..245
  // and the halves in between are ties, rounded to even as numpy does.
  const Quantized q = quantize({-10.0f, -0.5f, 0.0f, 0.5f, 1.5f, 245.0f}, QuantDType::uint8);
  BOOST_TEST(q.params.min == -10.0);
  BOOST_TEST(q.params.scale == 1.0);
  BOOST_TEST(q.codes == (std::vector<std::uint32_t>{0, 10, 10, 10, 12, 255}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(range_starting_at_zero_records_negative_zero) {
  // zero point 0 makes the converter's min -0 * scale = -0.0; readers treat it as 0.
  const Quantized q = quantize({0.0f, 1.5f, 2.5f, 254.5f, 255.0f, 100.49f}, QuantDType::uint8);
  BOOST_TEST(q.params.min == 0.0);
  BOOST_TEST(std::signbit(q.params.min));
  BOOST_TEST(q.params.scale == 1.0);
  BOOST_TEST(q.codes == (std::vector<std::uint32_t>{0, 2, 2, 254, 255, 100}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(range_without_zero_is_not_nudged) {
  const Quantized q = quantize({1.0f, 2.0f, 3.5f, 4.5f, 256.0f}, QuantDType::uint8);
  BOOST_TEST(q.params.min == 1.0);
  BOOST_TEST(q.params.scale == 1.0);
  BOOST_TEST(q.codes == (std::vector<std::uint32_t>{0, 1, 2, 4, 255}),
             boost::test_tools::per_element());

  const Quantized negative = quantize({-5.0f, -4.0f, -3.0f}, QuantDType::uint8);
  BOOST_TEST(negative.params.min == -5.0);
  BOOST_TEST(negative.params.scale == 2.0 / 255.0);
  BOOST_TEST(negative.codes.back() == 255u);
}

// Expected bytes and parameters below come from running the converter's quantize_weights
// (tensorflowjs/quantization.py) under numpy 1.x.
BOOST_AUTO_TEST_CASE(matches_converter_on_uneven_scale) {
  const std::vector<float> values = {-1.0f, 0.0f, 0.5f, 2.0f};
  const Quantized q8 = quantize(values, QuantDType::uint8);
  BOOST_TEST(q8.params.min == -1.0);
  BOOST_TEST(q8.params.scale == 0x1.8181818181818p-7);
  BOOST_TEST(q8.codes == (std::vector<std::uint32_t>{0, 85, 128, 255}),
             boost::test_tools::per_element());

  const Quantized q16 = quantize(values, QuantDType::uint16);
  BOOST_TEST(q16.params.min == -1.0);
  BOOST_TEST(q16.params.scale == 0x1.8001800180018p-15);
  BOOST_TEST(q16.codes == (std::vector<std::uint32_t>{0, 21845, 32768, 65535}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(matches_converter_float32_arithmetic) {
  // The converter's per-element step runs in float32 (numpy 1.x keeps the float32 array's
  // dtype against float64 scalars). For the fourth value, doing it in double gives 83.
  const std::vector<float> values = {0x1.04f9b2p+0f,  -0x1.b26222p-1f, -0x1.5c7244p-6f,
                                     -0x1.293e8ep-1f, -0x1.b1a6a4p+0f, -0x1.b84d2cp+0f,
                                     0x1.c36e7ap+0f,  0x1.530c4cp-3f};
  const Quantized q = quantize(values, QuantDType::uint8);
  BOOST_TEST(q.params.min == -0x1.b89efaaeaeaebp+0);
  BOOST_TEST(q.params.scale == 0x1.bf9d707070707p-7);
  BOOST_TEST(q.codes == (std::vector<std::uint32_t>{201, 64, 124, 84, 2, 0, 255, 138}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(writes_uint16_little_endian) {
  std::vector<std::byte> out(4);
  quantize_affine(std::vector<float>{-1.0f, 2.0f}, QuantDType::uint16, out);
  BOOST_TEST(std::to_integer<int>(out[0]) == 0x00);
  BOOST_TEST(std::to_integer<int>(out[1]) == 0x00);
  BOOST_TEST(std::to_integer<int>(out[2]) == 0xFF);
  BOOST_TEST(std::to_integer<int>(out[3]) == 0xFF);

  const Quantized q = quantize({0.0f, 1.0f, 257.0f}, QuantDType::uint16);
  // 1.0 is step 255 of 65535 over [0, 257]: bytes FF 00, so a byte-order slip would show.
  BOOST_TEST(q.codes == (std::vector<std::uint32_t>{0, 255, 65535}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(constant_values_store_zeros) {
  std::vector<std::byte> out(3 * 2, std::byte{0xAB});
  const AffineParams params =
      quantize_affine(std::vector<float>{0.3f, 0.3f, 0.3f}, QuantDType::uint16, out);
  BOOST_TEST(params.min == static_cast<double>(0.3f));
  BOOST_TEST(params.scale == 1.0);
  for (const std::byte b : out) BOOST_TEST(std::to_integer<int>(b) == 0);

  const Quantized single = quantize({-7.25f}, QuantDType::uint8);
  BOOST_TEST(single.params.min == -7.25);
  BOOST_TEST(single.params.scale == 1.0);
  BOOST_TEST(single.codes == (std::vector<std::uint32_t>{0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(empty_input_gives_neutral_params) {
  std::vector<std::byte> out;
  const AffineParams params = quantize_affine(std::vector<float>{}, QuantDType::uint8, out);
  BOOST_TEST(params.min == 0.0);
  BOOST_TEST(params.scale == 1.0);
  quantize_float16(std::vector<float>{}, out);
}

BOOST_AUTO_TEST_CASE(round_trips_stay_within_half_a_step) {
  std::mt19937 random(7u);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> positive(0.5f, 3.0f);
  for (int round = 0; round < 50; ++round) {
    std::vector<float> mixed(257);
    for (float& v : mixed) v = normal(random) * 3.0f;
    std::vector<float> shifted(100);
    for (float& v : shifted) v = positive(random);
    for (const QuantDType dtype : {QuantDType::uint8, QuantDType::uint16}) {
      check_round_trip(mixed, dtype);
      check_round_trip(shifted, dtype);
    }
  }
  check_round_trip({-1e-30f, 5e-31f, 0.0f}, QuantDType::uint8);
  check_round_trip({-3e30f, 1e30f, 0.0f, 12345.0f}, QuantDType::uint16);
}

BOOST_AUTO_TEST_CASE(rejects_bad_arguments) {
  const std::vector<float> values = {1.0f, 2.0f};
  std::vector<std::byte> small(1);
  std::vector<std::byte> right(2);
  BOOST_TEST(throws_invalid_argument([&] { quantize_affine(values, QuantDType::uint16, right); }));
  BOOST_TEST(throws_invalid_argument([&] { quantize_affine(values, QuantDType::uint8, small); }));
  BOOST_TEST(throws_invalid_argument([&] { quantize_affine(values, QuantDType::float16, right); }));
  BOOST_TEST(throws_invalid_argument([&] { quantize_float16(values, small); }));
  BOOST_TEST(throws_invalid_argument([&] {
    quantize_affine(std::vector<float>{1.0f, std::numeric_limits<float>::quiet_NaN()},
                    QuantDType::uint8, right);
  }));
  BOOST_TEST(throws_invalid_argument([&] {
    quantize_affine(std::vector<float>{1.0f, -std::numeric_limits<float>::infinity()},
                    QuantDType::uint8, right);
  }));
}

BOOST_AUTO_TEST_CASE(float16_quantization_writes_little_endian_halves) {
  const std::vector<float> values = {0.25f,
                                     0.5f,
                                     0.75f,
                                     1.0f / 3.0f,
                                     -2.0f,
                                     65504.0f,
                                     65520.0f,
                                     1e-8f,
                                     -0.0f,
                                     std::numeric_limits<float>::quiet_NaN(),
                                     -std::numeric_limits<float>::infinity()};
  const std::vector<std::uint32_t> expected = {0x3400, 0x3800, 0x3A00, 0x3555, 0xC000, 0x7BFF,
                                               0x7C00, 0x0000, 0x8000, 0x7E00, 0xFC00};
  std::vector<std::byte> out(values.size() * 2);
  quantize_float16(values, out);
  BOOST_TEST(decode(out, QuantDType::float16) == expected, boost::test_tools::per_element());

  // And back through the reader's widening.
  for (std::size_t i = 0; i < 4; ++i) {
    BOOST_TEST(half_to_float(static_cast<std::uint16_t>(expected[i])) ==
               static_cast<float>(values[i]), boost::test_tools::tolerance(1e-3f));
  }
}

BOOST_AUTO_TEST_SUITE_END()
