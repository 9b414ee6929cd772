#include "json_access.hpp"

#include <modelport/error.hpp>
#include <modelport/limits.hpp>
#include <modelport/weight_spec.hpp>

#include <algorithm>
#include <cmath>
#include <array>
#include <functional>

namespace modelport {

namespace bj = boost::json;
using detail::throw_corrupt;

namespace {

std::string weight_label(std::string_view name) { return "weight '" + std::string(name) + "'"; }

// "<what> exceeds the limit of <cap> (limits::<name>)", naming the file.
[[noreturn]] void throw_over_limit(std::string_view context, const std::string& what, std::uint64_t cap,
                                   std::string_view name) {
  throw_corrupt(context, what + " exceeds the limit of " + std::to_string(cap) + " (limits::" + std::string(name) + ")");
}

// Emits keys in the remembered order, then canonical keys that were not read from a file, then
// unknown keys that are not in the remembered order.
template <std::size_t N>
bj::object ordered_object(const std::vector<std::string>& key_order,
                            const std::array<std::string_view, N>& canonical,
                            const std::function<bool(std::string_view, bj::object&)>& emit_known,
                            const bj::object& extra) {
  bj::object out;
  auto is_known = [&](std::string_view key) {
    return std::find(canonical.begin(), canonical.end(), key) != canonical.end();
  };
  for (const auto& key : key_order) {
    if (is_known(key)) {
      emit_known(key, out);
    } else if (auto it = extra.find(key); it != extra.end()) {
      out[key] = it->value();
    }
  }
  for (auto key : canonical) {
    if (!out.contains(key)) emit_known(key, out);
  }
  for (const auto& kv : extra) {
    if (!out.contains(kv.key())) out[kv.key()] = kv.value();
  }
  return out;
}

constexpr std::array<std::string_view, 5> kSpecKeys = {"name", "shape", "dtype", "group", "quantization"};
constexpr std::array<std::string_view, 4> kQuantKeys = {"dtype", "min", "scale", "original_dtype"};
constexpr std::array<std::string_view, 2> kGroupKeys = {"paths", "weights"};

Quantization quantization_from_json(const bj::value& value, std::string_view weight,
                                    std::string_view context) {
  const bj::object* obj = value.if_object();
  if (!obj) throw_corrupt(context, weight_label(weight) + " has a quantization that is not an object");
  Quantization q;
  for (const auto& kv : *obj) {
    std::string_view key = kv.key();
    q.key_order.emplace_back(key);
    if (key == "dtype") {
      if (!kv.value().is_string()) throw_corrupt(context, weight_label(weight) + " has a quantization dtype that is not a string");
      q.dtype = kv.value().get_string();
    } else if (key == "min" || key == "scale") {
      auto number = detail::as_number(kv.value());
      if (!number) throw_corrupt(context, weight_label(weight) + " has a quantization " + std::string(key) + " that is not a number");
      // A literal beyond the double range (1e999) reads as an infinity, which no reader can use and
      // JSON.stringify would write back as null: refused here rather than at decode time.
      if (!std::isfinite(*number)) {
        throw_corrupt(context, weight_label(weight) + " has a quantization " + std::string(key) + " that is not finite");
      }
      (key == "min" ? q.min : q.scale) = *number;
    } else if (key == "original_dtype") {
      if (!kv.value().is_string()) throw_corrupt(context, weight_label(weight) + " has an original_dtype that is not a string");
      q.original_dtype = std::string(kv.value().get_string());
    } else {
      q.extra[key] = kv.value();
    }
  }
  return q;
}

}  // namespace

WeightSpec weight_spec_from_json(const bj::value& value, std::string_view context) {
  const bj::object* obj = value.if_object();
  if (!obj) throw_corrupt(context, "a weights manifest entry is not an object");
  WeightSpec spec;
  const bj::value* name = obj->if_contains("name");
  if (!name || !name->is_string()) throw_corrupt(context, "a weights manifest entry has no string 'name'");
  if (name->get_string().size() > limits::max_weight_name_bytes) {
    throw_over_limit(context, "a weight name of " + std::to_string(name->get_string().size()) + " bytes",
                     limits::max_weight_name_bytes, "max_weight_name_bytes");
  }
  spec.name = name->get_string();
  bool has_shape = false;
  bool has_dtype = false;
  for (const auto& kv : *obj) {
    std::string_view key = kv.key();
    spec.key_order.emplace_back(key);
    const bj::value& v = kv.value();
    if (key == "name") {
      continue;
    } else if (key == "shape") {
      const bj::array* dims = v.if_array();
      if (!dims) throw_corrupt(context, weight_label(spec.name) + " has a shape that is not an array");
      if (dims->size() > limits::max_rank) {
        throw_over_limit(context, weight_label(spec.name) + " has rank " + std::to_string(dims->size()) + ", which",
                         limits::max_rank, "max_rank");
      }
      for (const auto& d : *dims) {
        auto dim = detail::as_dimension(d);
        if (!dim || *dim < 0) {
          throw_corrupt(context, weight_label(spec.name) + " has a shape entry that is not a non-negative integer");
        }
        spec.shape.push_back(*dim);
      }
      has_shape = true;
    } else if (key == "dtype") {
      if (!v.is_string()) throw_corrupt(context, weight_label(spec.name) + " has a dtype that is not a string");
      spec.dtype = v.get_string();
      has_dtype = true;
    } else if (key == "group") {
      if (!v.is_string()) throw_corrupt(context, weight_label(spec.name) + " has a group that is not a string");
      spec.group = std::string(v.get_string());
    } else if (key == "quantization") {
      spec.quantization = quantization_from_json(v, spec.name, context);
    } else {
      spec.extra[key] = v;
    }
  }
  if (!has_shape) throw_corrupt(context, weight_label(spec.name) + " has no 'shape'");
  if (!has_dtype) throw_corrupt(context, weight_label(spec.name) + " has no 'dtype'");
  return spec;
}

std::vector<WeightSpec> weight_specs_from_json(const bj::value& value, std::string_view context) {
  const bj::array* arr = value.if_array();
  if (!arr) throw_corrupt(context, "weight specs are not a JSON array");
  if (arr->size() > limits::max_weights) {
    throw_over_limit(context, "a list of " + std::to_string(arr->size()) + " weight specs", limits::max_weights, "max_weights");
  }
  std::vector<WeightSpec> specs;
  specs.reserve(arr->size());
  for (const auto& entry : *arr) specs.push_back(weight_spec_from_json(entry, context));
  return specs;
}

WeightsManifest weights_manifest_from_json(const bj::value& value, std::string_view context) {
  const bj::array* arr = value.if_array();
  if (!arr) throw_corrupt(context, "'weightsManifest' is not an array of groups");
  // Counts first, so that an oversized manifest is refused before any of it is read.
  std::size_t weight_count = 0;
  std::size_t path_count = 0;
  for (const auto& g : *arr) {
    const bj::object* obj = g.if_object();
    if (!obj) continue;  // reported below, with its position
    if (const auto* w = obj->if_contains("weights"); w && w->is_array()) weight_count += w->get_array().size();
    if (const auto* p = obj->if_contains("paths"); p && p->is_array()) path_count += p->get_array().size();
  }
  if (weight_count > limits::max_weights) {
    throw_over_limit(context, "a manifest of " + std::to_string(weight_count) + " weights", limits::max_weights, "max_weights");
  }
  if (path_count > limits::max_shard_paths) {
    throw_over_limit(context, "a manifest of " + std::to_string(path_count) + " shard paths", limits::max_shard_paths,
                     "max_shard_paths");
  }
  WeightsManifest manifest;
  manifest.reserve(arr->size());
  for (std::size_t g = 0; g < arr->size(); ++g) {
    const bj::object* obj = (*arr)[g].if_object();
    std::string label = "weights manifest group " + std::to_string(g + 1);
    if (!obj) throw_corrupt(context, label + " is not an object");
    WeightsGroup group;
    bool has_paths = false;
    bool has_weights = false;
    for (const auto& kv : *obj) {
      std::string_view key = kv.key();
      group.key_order.emplace_back(key);
      if (key == "paths") {
        const bj::array* paths = kv.value().if_array();
        if (!paths) throw_corrupt(context, label + " has 'paths' that is not an array");
        for (const auto& p : *paths) {
          if (!p.is_string()) throw_corrupt(context, label + " has a path that is not a string");
          if (p.get_string().size() > limits::max_shard_path_bytes) {
            throw_over_limit(context, label + " has a shard path of " + std::to_string(p.get_string().size()) + " bytes, which",
                             limits::max_shard_path_bytes, "max_shard_path_bytes");
          }
          group.paths.emplace_back(p.get_string());
        }
        has_paths = true;
      } else if (key == "weights") {
        group.weights = weight_specs_from_json(kv.value(), context);
        has_weights = true;
      } else {
        group.extra[key] = kv.value();
      }
    }
    // A topology-only save writes a group without "weights" (tfjs drops the undefined key), and
    // readers must take it back; a group without either key is no group at all.
    if (!has_paths && !has_weights) throw_corrupt(context, label + " has neither 'paths' nor 'weights'");
    manifest.push_back(std::move(group));
  }
  return manifest;
}

bj::object to_json(const Quantization& q) {
  return ordered_object(
      q.key_order, kQuantKeys,
      [&](std::string_view key, bj::object& out) {
        if (key == "dtype") out["dtype"] = q.dtype;
        else if (key == "min" && q.min) out["min"] = *q.min;
        else if (key == "scale" && q.scale) out["scale"] = *q.scale;
        else if (key == "original_dtype" && q.original_dtype) out["original_dtype"] = *q.original_dtype;
        return true;
      },
      q.extra);
}

bj::object to_json(const WeightSpec& spec) {
  return ordered_object(
      spec.key_order, kSpecKeys,
      [&](std::string_view key, bj::object& out) {
        if (key == "name") {
          out["name"] = spec.name;
        } else if (key == "shape") {
          bj::array dims;
          dims.reserve(spec.shape.size());
          for (auto d : spec.shape) dims.emplace_back(d);
          out["shape"] = std::move(dims);
        } else if (key == "dtype") {
          out["dtype"] = spec.dtype;
        } else if (key == "group" && spec.group) {
          out["group"] = *spec.group;
        } else if (key == "quantization" && spec.quantization) {
          out["quantization"] = to_json(*spec.quantization);
        }
        return true;
      },
      spec.extra);
}

bj::array to_json(const std::vector<WeightSpec>& specs) {
  bj::array out;
  out.reserve(specs.size());
  for (const auto& s : specs) out.emplace_back(to_json(s));
  return out;
}

bj::object to_json(const WeightsGroup& group) {
  return ordered_object(
      group.key_order, kGroupKeys,
      [&](std::string_view key, bj::object& out) {
        if (key == "paths") {
          bj::array paths;
          for (const auto& p : group.paths) paths.emplace_back(p);
          out["paths"] = std::move(paths);
        } else if (key == "weights") {
          out["weights"] = to_json(group.weights);
        }
        return true;
      },
      group.extra);
}

bj::array to_json(const WeightsManifest& manifest) {
  bj::array out;
  out.reserve(manifest.size());
  for (const auto& g : manifest) out.emplace_back(to_json(g));
  return out;
}

std::vector<WeightSpec> flatten(const WeightsManifest& manifest) {
  std::vector<WeightSpec> specs;
  for (const auto& g : manifest) specs.insert(specs.end(), g.weights.begin(), g.weights.end());
  return specs;
}

}  // namespace modelport
