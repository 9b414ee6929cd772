#include "downloads.hpp"

#include "file_store.hpp"
#include <modelport/plugin_model_json.hpp>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <unistd.h>

namespace modelport::file_plugin {

using sdk::Code;
using sdk::Error;

namespace {

fs::path home() {
  const char* h = std::getenv("HOME");
  if (!h || !*h) throw Error(Code::not_found, "cannot find a download folder: neither MODELPORT_DOWNLOADS_DIR nor HOME is set");
  return h;
}

// XDG_DOWNLOAD_DIR="$HOME/Downloads" in user-dirs.dirs.
std::optional<fs::path> xdg_user_dirs_download() {
  const char* config = std::getenv("XDG_CONFIG_HOME");
  fs::path file = (config && *config ? fs::path(config) : home() / ".config") / "user-dirs.dirs";
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("XDG_DOWNLOAD_DIR=")) continue;
    std::string value = line.substr(17);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (value.starts_with("$HOME")) value = home().string() + value.substr(5);
    if (!value.empty()) return fs::path(value);
  }
  return std::nullopt;
}

}  // namespace

fs::path downloads_folder() {
  if (const char* dir = std::getenv("MODELPORT_DOWNLOADS_DIR"); dir && *dir) return dir;
  if (const char* dir = std::getenv("XDG_DOWNLOAD_DIR"); dir && *dir) return dir;
  if (auto dir = xdg_user_dirs_download()) return *dir;
  return home() / "Downloads";
}

void save_download(const std::string& url, const sdk::ArtifactsView& artifacts, const sdk::Context& context,
                   sdk::SaveResult& result) {
  if (artifacts.topology_is_binary()) {
    throw Error(Code::invalid_argument, "BrowserDownloads.save() does not support saving model topology in binary formats yet.");
  }
  std::string name = url.substr(std::string_view("downloads://").size());
  if (name.starts_with("downloads://")) name = name.substr(12);
  if (name.empty()) name = "model";
  // A download name is one file name: a browser would not create folders either.
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  const fs::path folder = downloads_folder();
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw_errno(ec.value(), "cannot create the download folder", folder);
  const bool with_weights = artifacts.has_weight_data();

  // Like a browser, pick "name (1)", "name (2)"... until both file names are free; the JSON's
  // manifest then names the weights file that was actually written.
  for (int n = 0; n < 10000; ++n) {
    std::string base = n == 0 ? name : name + " (" + std::to_string(n) + ")";
    fs::path json_path = folder / (base + ".json");
    fs::path weights_path = folder / (base + ".weights.bin");
    if (fs::exists(json_path, ec) || (with_weights && fs::exists(weights_path, ec))) continue;
    std::vector<std::string> paths;
    if (with_weights) paths.push_back("./" + base + ".weights.bin");
    std::string json = sdk::model_json_text(artifacts, sdk::single_group_manifest(paths, artifacts), sdk::ModelJsonLayout::browser);
    std::span<const std::byte> json_bytes(reinterpret_cast<const std::byte*>(json.data()), json.size());
    try {
      write_new_file(json_path, std::span(&json_bytes, 1), true);
    } catch (const Error& e) {
      if (e.code() == Code::already_exists) continue;  // someone took the name just now
      throw;
    }
    if (with_weights) {
      // The weights file is claimed (created) before any byte is read: the weights can be read
      // only once, so a name taken meanwhile must be found out before they are.
      std::optional<NewFile> weights;
      try {
        weights.emplace(weights_path);
      } catch (const Error& e) {
        ::unlink(json_path.c_str());
        if (e.code() == Code::already_exists) continue;
        throw;
      }
      try {
        // Each chunk is written while for_each_chunk hands it out (a streamed save reads its
        // source meanwhile, and a failure there ends the save here like a failed write).
        artifacts.for_each_chunk([&](std::span<const std::byte> chunk) { weights->append(chunk); });
        weights->flush();
        weights->close();
      } catch (...) {
        weights.reset();
        ::unlink(weights_path.c_str());
        ::unlink(json_path.c_str());
        throw;
      }
      context.progress(artifacts.weight_data_size(), artifacts.weight_data_size(), weights_path.string());
    }
    sdk::ModelInfo info;
    info.date_saved_ms = now_ms();
    result.set_info(info);
    result.add_response("{\"files\":[" + sdk::json_quote(json_path.string()) +
                        (with_weights ? "," + sdk::json_quote(weights_path.string()) : std::string()) + "]}");
    return;
  }
  throw Error(Code::already_exists, "no free download name for '" + name + "' in '" + folder.string() + "'");
}

}  // namespace modelport::file_plugin
