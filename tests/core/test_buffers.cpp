// Buffers and the composite weight stream (§6 composite_array_buffer_test 156–168).
#include <boost/test/unit_test.hpp>

#include <modelport/buffer.hpp>
#include <modelport/error.hpp>
#include <modelport/weight_data.hpp>

#include <numeric>

using namespace modelport;

namespace {

// Shards of the given sizes holding bytes 0, 1, 2, ... in stream order.
WeightData counting_shards(std::vector<std::size_t> sizes) {
  WeightData data;
  std::uint8_t next = 0;
  for (auto n : sizes) {
    std::vector<std::byte> bytes(n);
    for (auto& b : bytes) b = std::byte{next++};
    data.append(Buffer::adopt(std::move(bytes)));
  }
  return data;
}

std::vector<int> bytes_of(const Buffer& b) {
  std::vector<int> out;
  for (auto x : b) out.push_back(static_cast<int>(x));
  return out;
}

std::vector<int> range(int from, int to) {
  std::vector<int> v(static_cast<std::size_t>(to - from));
  std::iota(v.begin(), v.end(), from);
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(composite_weight_data)

BOOST_AUTO_TEST_CASE(slices_on_uniform_and_non_uniform_shards) {  // §6 156–161
  for (auto sizes : {std::vector<std::size_t>{4, 4, 4, 4, 1}, std::vector<std::size_t>{3, 5, 4, 5}}) {
    WeightData d = counting_shards(sizes);
    BOOST_TEST(d.size() == 17u);
    BOOST_TEST(bytes_of(d.slice(1, 13)) == range(1, 13), boost::test_tools::per_element());
    BOOST_TEST(bytes_of(d.slice(5)) == range(5, 17), boost::test_tools::per_element());
    BOOST_TEST(bytes_of(d.slice()) == range(0, 17), boost::test_tools::per_element());
    BOOST_TEST(bytes_of(d.slice(-4, 5)) == range(0, 5), boost::test_tools::per_element());
    BOOST_TEST(bytes_of(d.slice(7, 1000)) == range(7, 17), boost::test_tools::per_element());
    BOOST_TEST(bytes_of(d.slice(13, 15)) == range(13, 15), boost::test_tools::per_element());
    BOOST_TEST(bytes_of(d.slice(0, 2)) == range(0, 2), boost::test_tools::per_element());
    BOOST_TEST(bytes_of(d.slice(9, 13)) == range(9, 13), boost::test_tools::per_element());
    BOOST_TEST(d.slice(5, 5).size() == 0u);
    BOOST_TEST(d.slice(9, 3).size() == 0u);
  }
}

BOOST_AUTO_TEST_CASE(degenerate_inputs) {  // §6 162–165, 168
  BOOST_TEST(WeightData(Buffer::copy_of(std::string_view())).slice().size() == 0u);
  BOOST_TEST(bytes_of(WeightData(Buffer::copy_of(std::string_view("\x01\x02\x03", 3))).slice()) == (std::vector<int>{1, 2, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(WeightData(std::vector<Buffer>{}).slice().size() == 0u);
  BOOST_TEST(WeightData().slice().size() == 0u);
  BOOST_TEST(bytes_of(WeightData(Buffer::copy_of(std::string_view("\x01\x02\x03", 3))).slice(0, 2)) == (std::vector<int>{1, 2}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(locate_skips_empty_buffers_and_handles_a_large_last_buffer) {
  // The reference's uniform-size fast path goes wrong when the last buffer is the largest.
  WeightData d = counting_shards({2, 0, 2, 0, 0, 9});
  BOOST_TEST(d.locate(0).buffer == 0u);
  BOOST_TEST(d.locate(2).buffer == 2u);
  BOOST_TEST(d.locate(4).buffer == 5u);
  BOOST_TEST(d.locate(12).offset == 8u);
  BOOST_CHECK_THROW(d.locate(13), Error);
  BOOST_TEST(bytes_of(d.slice(1, 6)) == range(1, 6), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(view_is_zero_copy_inside_one_buffer) {
  WeightData d = counting_shards({4, 4});
  Buffer inside = d.view(1, 2);
  BOOST_TEST(inside.data() == d.buffers()[0].data() + 1);
  Buffer across = d.view(3, 2);
  BOOST_TEST(bytes_of(across) == range(3, 5), boost::test_tools::per_element());
  BOOST_TEST(!across.shares_memory_with(d.buffers()[0]));
  BOOST_CHECK_THROW(d.view(7, 2), Error);
  BOOST_TEST(d.join().size() == 8u);
  WeightData single = counting_shards({5});
  BOOST_TEST(single.join().data() == single.buffers()[0].data());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(buffer)

BOOST_AUTO_TEST_CASE(external_memory_is_released_once_by_the_last_reference) {
  static const char storage[] = "0123456789";
  int released = 0;
  {
    Buffer outer;
    {
      Buffer b = Buffer::external(storage, 10, [&] { ++released; });
      outer = b.slice(2, 3);
      BOOST_TEST(outer.view() == "234");
      BOOST_TEST(outer.shares_memory_with(b));
    }
    BOOST_TEST(released == 0);  // the slice keeps the mapping alive
  }
  BOOST_TEST(released == 1);
}

BOOST_AUTO_TEST_CASE(slices_are_checked) {
  Buffer b = Buffer::copy_of(std::string_view("abc"));
  BOOST_CHECK_THROW(b.slice(2, 2), Error);
  BOOST_CHECK_THROW(b.slice(4, 0), Error);
  BOOST_TEST(b.slice(3, 0).size() == 0u);
}

BOOST_AUTO_TEST_CASE(builder_freezes_its_bytes) {
  BufferBuilder builder(3);
  builder.data()[0] = std::byte{'x'};
  builder.data()[1] = std::byte{'y'};
  builder.data()[2] = std::byte{'z'};
  Buffer b = std::move(builder).finish();
  BOOST_TEST(b.view() == "xyz");
  Buffer moved = Buffer::adopt(std::vector<std::byte>{std::byte{1}});
  BOOST_TEST(moved.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
