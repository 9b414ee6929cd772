// Helpers for plugins that keep models in a data folder per origin (localstorage://,
// indexeddb://): one set of rules, so that every store of an origin sits in the same place.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <pwd.h>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace modelport::sdk {

// MODELPORT_DATA_DIR, else $XDG_DATA_HOME/modelport, else <home>/.local/share/modelport (home from
// HOME, else the password database); nullopt when none of them is known.
inline std::optional<std::filesystem::path> default_data_folder() {
  auto env = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v && *v ? std::optional<std::string>(v) : std::nullopt;
  };
  if (auto dir = env("MODELPORT_DATA_DIR")) return std::filesystem::path(*dir);
  if (auto xdg = env("XDG_DATA_HOME")) return std::filesystem::path(*xdg) / "modelport";
  std::optional<std::string> home = env("HOME");
  if (!home) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(::geteuid(), &pw, buffer.data(), buffer.size(), &found) == 0 && found && pw.pw_dir && *pw.pw_dir) {
      home = pw.pw_dir;
    }
  }
  if (!home) return std::nullopt;
  return std::filesystem::path(*home) / ".local" / "share" / "modelport";
}

// An origin (any text, e.g. "https://example.com") as one file or folder name: letters, digits,
// '_', '-' and a non-leading '.' stay, every other byte becomes %XX.
inline std::string escape_origin(std::string_view origin) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < origin.size(); ++i) {
    const auto c = static_cast<unsigned char>(origin[i]);
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                      (c == '.' && i > 0);
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace modelport::sdk
