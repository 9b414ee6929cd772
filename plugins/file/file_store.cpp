#include "file_store.hpp"

#include "deferred_shards.hpp"
#include "shard_writer.hpp"

#include <modelport/plugin_model_json.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <random>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace modelport::file_plugin {

using sdk::Code;
using sdk::Error;
using sdk::Field;

namespace {

constexpr const char* kModelJson = "model.json";

bool option_true(const sdk::Context& context, std::string_view key, bool fallback) {
  auto value = context.option(key);
  if (!value) return fallback;
  if (*value == "true" || *value == "1" || *value == "yes") return true;
  if (*value == "false" || *value == "0" || *value == "no") return false;
  throw Error(Code::invalid_argument, "option " + std::string(key) + "=" + std::string(*value) + " must be true or false");
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(rng()));
  return text;
}

// The files that make up the model stored in `folder`: model.json and the shards its manifest
// names (inside the folder). Empty when there is no readable model there.
std::set<std::string> own_files(const fs::path& folder) {
  std::set<std::string> names;
  std::error_code ec;
  if (!fs::is_regular_file(folder / kModelJson, ec)) return names;
  names.insert(kModelJson);
  try {
    boost::json::value json = boost::json::parse(read_text_file(folder / kModelJson, "model JSON"));
    const boost::json::value* manifest = json.is_array() ? &json : json.as_object().if_contains("weightsManifest");
    if (manifest && manifest->is_array()) {
      for (const auto& group : manifest->as_array()) {
        const auto* paths = group.is_object() ? group.as_object().if_contains("paths") : nullptr;
        if (!paths || !paths->is_array()) continue;
        for (const auto& p : paths->as_array()) {
          if (!p.is_string()) continue;
          // Only plain names of this folder count, so nothing outside it is ever selected.
          fs::path name = fs::path(std::string(p.as_string())).lexically_normal();
          if (!name.is_absolute() && name.has_filename() && name.parent_path().empty()) names.insert(name.filename().string());
        }
      }
    }
  } catch (const std::exception&) {
    // An unreadable model.json still marks model.json itself as the model's.
  }
  return names;
}

void remove_tree_quietly(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

}  // namespace

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

fs::path path_from_url(const std::string& url) {
  std::string rest = url.starts_with("file://") ? url.substr(7) : url;
  if (rest.empty()) throw Error(Code::invalid_argument, "file URL '" + url + "' names no path");
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(rest), ec);
  if (ec) throw Error(Code::invalid_argument, "cannot make '" + rest + "' absolute: " + ec.message());
  return p.lexically_normal();
}

SaveSettings save_settings(const sdk::Context& context) {
  SaveSettings s;
  if (auto v = context.option("shard_bytes")) {
    std::uint64_t n = 0;
    auto [end, err] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (err != std::errc() || end != v->data() + v->size() || n == 0) {
      throw Error(Code::invalid_argument, "option shard_bytes=" + std::string(*v) + " must be a positive integer");
    }
    s.shard_bytes = n;
  }
  s.create_parents = option_true(context, "create_parents", true);
  s.durable = option_true(context, "durable", true);
  return s;
}

LoadSettings load_settings(const sdk::Context& context) {
  LoadSettings s;
  s.allow_outside = option_true(context, "allow_outside", false);
  s.map = option_true(context, "mmap", true);
  return s;
}

void save_model(const fs::path& folder, const sdk::ArtifactsView& artifacts, const SaveSettings& settings,
                const sdk::Context& context, sdk::SaveResult& result) {
  if (artifacts.topology_is_binary()) {
    throw Error(Code::invalid_argument, "NodeFileSystem.save() does not support saving model topology in binary format yet.");
  }
  const bool has_specs = artifacts.field(Field::weight_specs).has_value();
  if (artifacts.has_weight_data() != has_specs && !(artifacts.has_weight_data() && artifacts.weight_data_size() == 0)) {
    throw Error(Code::invalid_argument, std::string("cannot save to '") + folder.string() + "': " +
                                            (has_specs ? "weight specs without weight data" : "weight data without weight specs"));
  }
  std::error_code ec;
  if (fs::exists(folder, ec) && !fs::is_directory(folder, ec)) {
    throw Error(Code::already_exists, "Path " + folder.string() +
                                          " exists as a file. The path must be nonexistent or point to a directory.");
  }
  const fs::path parent = folder.parent_path();
  if (!fs::is_directory(parent, ec)) {
    if (!settings.create_parents) {
      throw Error(Code::not_found, "cannot save to '" + folder.string() + "': its parent folder does not exist (create_parents=false)");
    }
    fs::create_directories(parent, ec);
    if (ec) throw_errno(ec.value(), "cannot create the parent folder", parent);
  }

  // Shard plan: the weight bytes cut at fixed offsets, planned from their total size alone so
  // that model.json is known before the first byte arrives.
  const ShardPlan plan = artifacts.has_weight_data() ? plan_shards(artifacts.weight_data_size(), settings.shard_bytes) : ShardPlan{};
  const std::string manifest = sdk::single_group_manifest(plan.names, artifacts);
  const std::string json = sdk::model_json_text(artifacts, manifest, sdk::ModelJsonLayout::node_file);

  // Everything is written into a fresh folder beside the target, then switched into place in one
  // step: a reader sees the old model or the new one, and a crash leaves the old one. The weight
  // bytes go to disk as they arrive (a streamed save reads them from its source meanwhile, and
  // may fail mid-way: the staging folder is then removed like after any other failure).
  const fs::path staging = parent / (".modelport-tmp-" + folder.filename().string() + "-" + random_suffix());
  if (::mkdir(staging.c_str(), 0777) != 0) throw_errno(errno, "cannot create a staging folder", staging);
  try {
    if (artifacts.has_weight_data()) {
      const std::uint64_t total = artifacts.weight_data_size();
      write_shards(staging, plan, artifacts, settings.durable, [&](const std::string& file, std::uint64_t written) {
        context.progress(written, total, file);
        context.throw_if_cancelled("saving '" + folder.string() + "'");
      });
    }
    std::span<const std::byte> json_bytes(reinterpret_cast<const std::byte*>(json.data()), json.size());
    write_new_file(staging / kModelJson, std::span(&json_bytes, 1), settings.durable);
    if (settings.durable) fsync_directory(staging);

    if (::rename(staging.c_str(), folder.c_str()) != 0) {
      if (errno != EEXIST && errno != ENOTEMPTY) throw_errno(errno, "cannot move the saved model into place at", folder);
      // The target folder exists: keep whatever in it is not the old model, then swap.
      std::set<std::string> old_model = own_files(folder);
      std::vector<std::string> moved_later;
      for (const auto& entry : fs::directory_iterator(folder)) {
        std::string name = entry.path().filename().string();
        if (old_model.count(name) || fs::exists(staging / name, ec)) continue;
        if (!entry.is_directory(ec) && ::link(entry.path().c_str(), (staging / name).c_str()) == 0) continue;
        moved_later.push_back(name);  // folders (and files that cannot be linked) follow the swap
      }
      if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, folder.c_str(), RENAME_EXCHANGE) != 0) {
        if (errno != EINVAL && errno != ENOSYS) throw_errno(errno, "cannot switch the saved model into place at", folder);
        // No atomic exchange on this file system: move the old folder aside, then the new in.
        fs::path aside = parent / (".modelport-old-" + folder.filename().string() + "-" + random_suffix());
        if (::rename(folder.c_str(), aside.c_str()) != 0) throw_errno(errno, "cannot move the old model aside at", folder);
        if (::rename(staging.c_str(), folder.c_str()) != 0) {
          int err = errno;
          ::rename(aside.c_str(), folder.c_str());
          throw_errno(err, "cannot move the saved model into place at", folder);
        }
        if (::rename(aside.c_str(), staging.c_str()) != 0) throw_errno(errno, "cannot clean up", aside);
      }
      // `staging` now holds the old model.
      bool kept_everything = true;
      for (const auto& name : moved_later) {
        if (::rename((staging / name).c_str(), (folder / name).c_str()) != 0) kept_everything = false;
      }
      if (kept_everything) {
        remove_tree_quietly(staging);
      } else {
        sdk::log(MODELPORT_LOG_WARNING, "some files of the old folder could not be moved back into '" + folder.string() +
                                            "'; they were kept in '" + staging.string() + "'");
      }
    }
    if (settings.durable) fsync_directory(parent);
  } catch (...) {
    std::error_code cleanup;
    if (fs::exists(staging, cleanup)) remove_tree_quietly(staging);
    throw;
  }
  sdk::ModelInfo info;
  info.date_saved_ms = now_ms();
  result.set_info(info);
}

namespace {

// `real_folder` is canonical(folder), computed once per load rather than once per shard.
fs::path resolve_shard(const fs::path& folder, const fs::path& real_folder, const std::string& manifest_path,
                       const fs::path& json_path, const LoadSettings& settings) {
  fs::path relative(manifest_path);
  if (relative.is_absolute() && !settings.allow_outside) {
    throw Error(Code::permission_denied, "weight path '" + manifest_path + "' in '" + json_path.string() +
                                             "' is absolute; set the option allow_outside=true to permit it");
  }
  fs::path joined = (relative.is_absolute() ? relative : folder / relative).lexically_normal();
  if (!settings.allow_outside) {
    fs::path rel = joined.lexically_relative(folder);
    if (rel.empty() || *rel.begin() == "..") {
      throw Error(Code::permission_denied, "weight path '" + manifest_path + "' in '" + json_path.string() +
                                               "' leads outside the model folder '" + folder.string() +
                                               "'; set the option allow_outside=true to permit it");
    }
    std::error_code ec;
    fs::path real = fs::canonical(joined, ec);
    if (!real.empty() && !real_folder.empty()) {
      fs::path real_rel = real.lexically_relative(real_folder);
      if (real_rel.empty() || *real_rel.begin() == "..") {
        throw Error(Code::permission_denied, "weight file '" + joined.string() + "' is a link leading outside the model folder '" +
                                                 folder.string() + "'; set the option allow_outside=true to permit it");
      }
    }
  }
  return joined;
}

// The model.json a load reads: `name` relative to `dir_fd` (AT_FDCWD: the current folder).
void check_model_json(int dir_fd, const fs::path& name, const fs::path& json_path) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, 0) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      throw Error(Code::not_found, "Path " + json_path.string() + " does not exist: loading failed");
    }
    throw_errno(errno, "cannot read", json_path);
  }
  if (!S_ISREG(st.st_mode)) {
    throw Error(Code::invalid_argument, "The path to load from must be a file. Loading from a directory is not supported. ('" +
                                            json_path.string() + "')");
  }
}

// The source of a streaming copy: model.json now, the shards later, one at a time, all through
// one descriptor of the model folder (deferred_shards.hpp says why and what that guards against).
void load_model_deferred(const fs::path& json_path, const LoadSettings& settings, const sdk::Context& context,
                         sdk::LoadSink& sink) {
  const fs::path folder = json_path.parent_path();
  const std::shared_ptr<const OpenFolder> open = open_model_folder(folder, json_path);
  check_model_json(open->fd.get(), json_path.filename(), json_path);
  const std::string text = read_text_file_at(open->fd.get(), json_path.filename(), json_path, "model JSON");
  const std::vector<std::string> shards = sink.set_model_json(text, json_path.string());
  std::vector<fs::path> files;
  files.reserve(shards.size());
  std::error_code ec_real;
  const fs::path real_folder = fs::canonical(folder, ec_real);
  for (const auto& s : shards) files.push_back(resolve_shard(folder, real_folder, s, json_path, settings));
  for (const auto& file : files) {
    context.throw_if_cancelled("loading '" + json_path.string() + "'");
    // Inside the folder: relative to the open folder. Elsewhere (allow_outside): by its path.
    fs::path inside = file.lexically_relative(folder);
    const bool is_inside = !inside.empty() && *inside.begin() != "..";
    append_deferred_shard(sink, open, is_inside ? inside : file, file);
  }
}

}  // namespace

void load_model(const fs::path& location, const LoadSettings& settings, const sdk::Context& context, sdk::LoadSink& sink) {
  std::error_code ec;
  fs::path json_path = location;
  if (fs::is_directory(location, ec)) json_path = location / kModelJson;
  if (sink.deferred_allowed()) {
    load_model_deferred(json_path, settings, context, sink);
    return;
  }
  check_model_json(AT_FDCWD, json_path, json_path);
  const std::string text = read_text_file(json_path, "model JSON");
  const std::vector<std::string> shards = sink.set_model_json(text, json_path.string());
  const fs::path folder = json_path.parent_path();

  // Resolve and check every path before mapping any file.
  std::vector<fs::path> files;
  files.reserve(shards.size());
  std::error_code ec_real;
  const fs::path real_folder = fs::canonical(folder, ec_real);
  for (const auto& s : shards) files.push_back(resolve_shard(folder, real_folder, s, json_path, settings));
  std::uint64_t done = 0;
  for (const auto& file : files) {
    context.throw_if_cancelled("loading '" + json_path.string() + "'");
    FileBytes bytes;
    try {
      bytes = read_file(file, settings.map, "weight file");
    } catch (const Error& e) {
      if (e.code() == Code::not_found) throw Error(Code::not_found, "Weight file " + file.string() + " does not exist: loading failed");
      throw;
    }
    done += bytes.size;
    auto span = std::span<const std::byte>(bytes.data, bytes.size);
    sink.append_owned(span, [bytes]() mutable { bytes.release(); });
    context.progress(done, std::nullopt, file.string());
  }
}

namespace {

std::optional<sdk::ModelInfo> info_of(const fs::path& folder) {
  const fs::path json_path = folder / kModelJson;
  std::string text = read_text_file(json_path, "model JSON");
  sdk::ModelInfo info = sdk::model_json_info(text, json_path.string());
  std::error_code ec;
  auto mtime = fs::last_write_time(json_path, ec);
  if (!ec) {
    auto since_epoch = std::chrono::file_clock::to_sys(mtime).time_since_epoch();
    info.date_saved_ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
  }
  std::int64_t bytes = 0;
  for (const auto& name : own_files(folder)) {
    if (name == kModelJson) continue;
    auto size = fs::file_size(folder / name, ec);
    if (!ec) bytes += static_cast<std::int64_t>(size);
  }
  info.weight_data_bytes = bytes;
  return info;
}

void list_into(const fs::path& folder, int depth, sdk::ListSink& sink) {
  std::error_code ec;
  if (fs::is_regular_file(folder / kModelJson, ec)) {
    try {
      if (auto info = info_of(folder)) sink.add("file://" + folder.string(), *info);
    } catch (const std::exception& e) {
      sdk::log(MODELPORT_LOG_WARNING, "skipping '" + folder.string() + "' while listing: " + e.what());
    }
  }
  if (depth == 0) return;
  std::vector<fs::path> children;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    std::string name = entry.path().filename().string();
    // Dot folders are hidden, and include the staging folders of saves in progress.
    if (!name.starts_with(".") && entry.is_directory(ec) && !entry.is_symlink(ec)) children.push_back(entry.path());
  }
  std::sort(children.begin(), children.end());
  for (const auto& child : children) list_into(child, depth - 1, sink);
}

}  // namespace

void list_models(const fs::path& root, sdk::ListSink& sink) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw Error(Code::not_found, "cannot list models: '" + root.string() + "' is not a folder");
  list_into(root, 16, sink);
}

sdk::ModelInfo remove_model(const fs::path& location) {
  std::error_code ec;
  fs::path folder = location.filename() == kModelJson ? location.parent_path() : location;
  if (!fs::is_regular_file(folder / kModelJson, ec)) {
    throw Error(Code::not_found, "Cannot find model at path '" + folder.string() + "'");
  }
  sdk::ModelInfo info = info_of(folder).value_or(sdk::ModelInfo{});
  std::set<std::string> files = own_files(folder);
  // model.json goes first: from then on nothing lists or loads a half-removed model.
  if (::unlink((folder / kModelJson).c_str()) != 0) throw_errno(errno, "cannot remove", folder / kModelJson);
  for (const auto& name : files) {
    if (name != kModelJson) fs::remove(folder / name, ec);
  }
  // The folder goes too when nothing else lives in it; other files are never touched.
  if (fs::is_empty(folder, ec)) fs::remove(folder, ec);
  return info;
}

}  // namespace modelport::file_plugin
