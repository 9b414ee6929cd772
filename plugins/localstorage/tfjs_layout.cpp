#include "tfjs_layout.hpp"

#include "json_scan.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace modelport::localstorage {

ModelKeys::ModelKeys(std::string_view model_path) {
  const std::string base = std::string(kModelsPrefix) + "/" + std::string(model_path) + "/";
  info = base + "info";
  topology = base + "model_topology";
  weight_specs = base + "weight_specs";
  weight_data = base + "weight_data";
  model_metadata = base + "model_metadata";
}

std::optional<std::string> model_path_of_info_key(std::string_view key) {
  const std::string prefix = std::string(kModelsPrefix) + "/";
  if (!key.starts_with(prefix) || !key.ends_with("/info")) return std::nullopt;
  const auto first = key.find('/');
  const auto last = key.rfind('/');
  if (first == last) throw std::invalid_argument("Invalid key format: " + std::string(key));
  return std::string(key.substr(first + 1, last - first - 1));
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

bool digits(std::string_view t, std::size_t at, std::size_t n, unsigned& out) {
  if (at + n > t.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (t[i] < '0' || t[i] > '9') return false;
    out = out * 10 + static_cast<unsigned>(t[i] - '0');
  }
  return true;
}

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::string format_iso8601(std::int64_t ms) {
  std::int64_t days = ms / 86'400'000;
  std::int64_t rest = ms % 86'400'000;
  if (rest < 0) {
    rest += 86'400'000;
    --days;
  }
  std::int64_t y;
  unsigned mo, d;
  civil_from_days(days, y, mo, d);
  char buf[96];  // roomy enough for any int64 year in the compiler's eyes
  const auto h = static_cast<int>(rest / 3'600'000);
  const auto mi = static_cast<int>(rest / 60'000 % 60);
  const auto s = static_cast<int>(rest / 1000 % 60);
  const auto milli = static_cast<int>(rest % 1000);
  if (y >= 0 && y <= 9999) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(y), mo, d, h, mi, s, milli);
  } else {
    std::snprintf(buf, sizeof buf, "%c%06lld-%02u-%02uT%02d:%02d:%02d.%03dZ", y < 0 ? '-' : '+',
                  static_cast<long long>(y < 0 ? -y : y), mo, d, h, mi, s, milli);
  }
  return buf;
}

std::optional<std::int64_t> parse_iso8601(std::string_view t) {
  unsigned year, month, day;
  if (!digits(t, 0, 4, year) || t.size() < 10 || t[4] != '-' || !digits(t, 5, 2, month) || t[7] != '-' ||
      !digits(t, 8, 2, day)) {
    return std::nullopt;
  }
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] + (month == 2 && is_leap(year) ? 1 : 0)) return std::nullopt;
  std::int64_t ms = days_from_civil(year, month, day) * 86'400'000;
  std::size_t i = 10;
  if (i == t.size()) return ms;  // a date alone is UTC midnight
  if (t[i] != 'T') return std::nullopt;
  unsigned h, mi, s = 0;
  if (!digits(t, i + 1, 2, h) || i + 3 >= t.size() || t[i + 3] != ':' || !digits(t, i + 4, 2, mi)) return std::nullopt;
  i += 6;
  std::int64_t frac_ms = 0;
  if (i < t.size() && t[i] == ':') {
    if (!digits(t, i + 1, 2, s)) return std::nullopt;
    i += 3;
    if (i < t.size() && t[i] == '.') {
      ++i;
      std::size_t n = 0;
      for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++n) {
        if (n < 3) frac_ms = frac_ms * 10 + (t[i] - '0');
      }
      if (n == 0) return std::nullopt;
      for (; n < 3; ++n) frac_ms *= 10;
    }
  }
  if ((h > 23 && !(h == 24 && mi == 0 && s == 0 && frac_ms == 0)) || mi > 59 || s > 59) return std::nullopt;
  ms += (static_cast<std::int64_t>(h) * 3600 + mi * 60 + s) * 1000 + frac_ms;
  if (i == t.size() || (t[i] == 'Z' && i + 1 == t.size())) return ms;
  if ((t[i] == '+' || t[i] == '-') && i + 6 == t.size() && t[i + 3] == ':') {
    unsigned oh, om;
    if (!digits(t, i + 1, 2, oh) || !digits(t, i + 4, 2, om) || oh > 23 || om > 59) return std::nullopt;
    const std::int64_t offset = (static_cast<std::int64_t>(oh) * 60 + om) * 60'000;
    return t[i] == '+' ? ms - offset : ms + offset;
  }
  return std::nullopt;
}

std::string info_json(const StoredInfo& info) {
  std::string out = "{\"dateSaved\":\"" + format_iso8601(info.date_saved_ms) + "\",\"modelTopologyType\":" +
                    json_quote(info.model_topology_type);
  auto count = [&](const char* name, const std::optional<std::uint64_t>& v) {
    if (!v) return;
    out += ",\"";
    out += name;
    out += "\":";
    out += std::to_string(*v);
  };
  count("modelTopologyBytes", info.model_topology_bytes);
  count("weightSpecsBytes", info.weight_specs_bytes);
  count("weightDataBytes", info.weight_data_bytes);
  return out + "}";
}

StoredInfo parse_info_json(std::string_view text) {
  StoredInfo info;
  info.model_topology_type.clear();
  for (const JsonMember& m : object_members(text)) {
    if (m.key == "dateSaved") {
      info.has_date = false;
      if (auto s = json_string(m.value)) {
        if (auto ms = parse_iso8601(*s)) {
          info.date_saved_ms = *ms;
          info.has_date = true;
        }
      }
    } else if (m.key == "modelTopologyType") {
      info.model_topology_type = json_string(m.value).value_or(std::string(m.value));
    } else {
      std::optional<std::uint64_t>* slot = m.key == "modelTopologyBytes" ? &info.model_topology_bytes
                                           : m.key == "weightSpecsBytes" ? &info.weight_specs_bytes
                                           : m.key == "weightDataBytes"  ? &info.weight_data_bytes
                                                                         : nullptr;
      if (!slot) continue;
      slot->reset();
      auto v = json_number(m.value);
      if (v && *v >= 0 && *v <= 9007199254740992.0 && std::floor(*v) == *v) *slot = static_cast<std::uint64_t>(*v);
    }
  }
  return info;
}

}  // namespace modelport::localstorage
