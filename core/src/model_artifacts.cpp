#include "json_access.hpp"

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_artifacts.hpp>

#include <cstdio>
#include <ctime>

namespace modelport {

namespace bj = boost::json;

const bj::value* ModelArtifacts::topology_json() const noexcept {
  if (!model_topology) return nullptr;
  const auto* value = std::get_if<bj::value>(&*model_topology);
  if (!value || value->is_null()) return nullptr;
  return value;
}

bool ModelArtifacts::has_binary_topology() const noexcept {
  return model_topology && std::holds_alternative<Buffer>(*model_topology);
}

ModelArtifactsInfo get_model_artifacts_info(const ModelArtifacts& artifacts,
                                             std::chrono::system_clock::time_point now) {
  if (artifacts.has_binary_topology()) {
    throw Error(ErrorCode::invalid_argument, "Expected JSON model topology, received ArrayBuffer.");
  }
  ModelArtifactsInfo info;
  info.date_saved = now;
  info.model_topology_type = "JSON";
  const bj::value* topology = artifacts.topology_json();
  info.model_topology_bytes = topology ? json::stringified_size(*topology) : 0;
  if (artifacts.weight_specs) {
    std::uint64_t bytes = 2;  // "[" and "]"
    for (std::size_t i = 0; i < artifacts.weight_specs->size(); ++i) {
      bytes += json::stringified_size(to_json((*artifacts.weight_specs)[i])) + (i ? 1 : 0);
    }
    info.weight_specs_bytes = bytes;
  } else {
    info.weight_specs_bytes = 0;
  }
  info.weight_data_bytes = artifacts.weight_data ? artifacts.weight_data->size() : 0;
  return info;
}

bj::object to_json(const ModelArtifactsInfo& info) {
  bj::object out;
  out["dateSaved"] = format_iso8601(info.date_saved);
  out["modelTopologyType"] = info.model_topology_type;
  if (info.model_topology_bytes) out["modelTopologyBytes"] = *info.model_topology_bytes;
  if (info.weight_specs_bytes) out["weightSpecsBytes"] = *info.weight_specs_bytes;
  if (info.weight_data_bytes) out["weightDataBytes"] = *info.weight_data_bytes;
  return out;
}

ModelArtifactsInfo model_artifacts_info_from_json(const bj::value& value, std::string_view context) {
  const bj::object* obj = value.if_object();
  if (!obj) detail::throw_corrupt(context, "model info is not a JSON object");
  ModelArtifactsInfo info;
  if (const auto* date = obj->if_contains("dateSaved")) {
    std::optional<std::chrono::system_clock::time_point> parsed;
    if (date->is_string()) parsed = parse_iso8601(date->get_string());
    if (!parsed) detail::throw_corrupt(context, "model info has a dateSaved that is not an ISO-8601 date");
    info.date_saved = *parsed;
  }
  if (const auto* type = obj->if_contains("modelTopologyType"); type && type->is_string()) {
    info.model_topology_type = type->get_string();
  }
  auto read_count = [&](const char* key, std::optional<std::uint64_t>& out) {
    const auto* v = obj->if_contains(key);
    if (!v || v->is_null()) return;
    auto n = detail::as_dimension(*v);
    if (!n || *n < 0) detail::throw_corrupt(context, std::string("model info has a ") + key + " that is not a byte count");
    out = static_cast<std::uint64_t>(*n);
  };
  read_count("modelTopologyBytes", info.model_topology_bytes);
  read_count("weightSpecsBytes", info.weight_specs_bytes);
  read_count("weightDataBytes", info.weight_data_bytes);
  return info;
}

std::string format_iso8601(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(time);
  auto days = floor<std::chrono::days>(ms);
  year_month_day ymd{days};
  hh_mm_ss hms{ms - days};
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return text;
}

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
  using namespace std::chrono;
  // JS Date#toISOString form: YYYY-MM-DDTHH:MM:SS(.sss)Z
  int y = 0;
  unsigned mo = 0, d = 0;
  int h = 0, mi = 0, s = 0, milli = 0;
  std::string copy(text);
  int consumed = 0;
  if (std::sscanf(copy.c_str(), "%4d-%2u-%2uT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int digits = 0;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      if (digits < 3) milli = milli * 10 + (rest.front() - '0');
      ++digits;
      rest.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) milli *= 10;
  }
  if (rest != "Z") return std::nullopt;
  year_month_day ymd{year{y}, month{mo}, day{d}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + milliseconds{milli};
}

}  // namespace modelport
