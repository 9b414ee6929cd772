// Plugin descriptor validation (core/src/plugin_manager.cpp, validate_plugin_descriptor) on
// descriptors built from the input: sizes, ABI versions, names, prefixes, capabilities, and
// which function pointers are set, as a broken or hostile plugin could hand them over.
//
// Invariants: only PluginError comes out; validation never calls into the plugin; a descriptor
// that passes has one scheme per declared scheme, each with a valid prefix and the operations
// its capabilities need.
#include "fuzz_support.hpp"

#include "plugin_descriptor.hpp"

#include <modelport/plugin_abi.h>
#include <modelport/plugins.hpp>

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

namespace {

using modelport::fuzz::ByteReader;

// Set wherever the fuzzer asks for a function: validation must never call one.
void never_destroy(modelport_handler*) { modelport::fuzz::invariant_failed("validation called destroy"); }
int never_save(modelport_handler*, const modelport_artifacts_view*, modelport_save_sink*, modelport_status*) {
  modelport::fuzz::invariant_failed("validation called save");
}
int never_load(modelport_handler*, modelport_load_sink*, modelport_status*) {
  modelport::fuzz::invariant_failed("validation called load");
}
int never_create(void*, const char*, const modelport_request_options*, modelport_handler*, modelport_status*) {
  modelport::fuzz::invariant_failed("validation called create_handler");
}
int never_list(void*, const char*, const modelport_request_options*, modelport_list_sink*, modelport_status*) {
  modelport::fuzz::invariant_failed("validation called list_models");
}
int never_remove(void*, const char*, const modelport_request_options*, modelport_info_sink*, modelport_status*) {
  modelport::fuzz::invariant_failed("validation called remove_model");
}
int never_init(void**, const modelport_host_api*, modelport_status*) { modelport::fuzz::invariant_failed("validation called init"); }
void never_shutdown(void*) { modelport::fuzz::invariant_failed("validation called shutdown"); }

// A struct_size: mostly right, sometimes a cut-off older struct, sometimes anything.
std::uint32_t struct_size(ByteReader& in, std::size_t real) {
  const std::uint8_t kind = in.u8();
  if (kind < 160) return static_cast<std::uint32_t>(real);
  if (kind < 224) return static_cast<std::uint32_t>(in.u8() % (real + 8));
  return in.u32();
}

// Owns the strings and tables a descriptor points into.
struct Storage {
  std::deque<std::string> strings;
  std::deque<modelport_handler_ops> ops;
  std::vector<modelport_scheme_descriptor> schemes;

  const char* text(ByteReader& in) {
    if (in.u8() % 8 == 0) return nullptr;
    strings.push_back(in.text(80));
    return strings.back().c_str();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  Storage storage;
  modelport_plugin_descriptor d{};
  d.struct_size = struct_size(in, sizeof d);
  d.abi_major = in.u8() < 240 ? MODELPORT_PLUGIN_ABI_MAJOR : in.u32();
  d.abi_minor = in.u8() % 4;
  d.plugin_name = storage.text(in);
  d.plugin_version = storage.text(in);
  d.sdk_version = storage.text(in);
  d.build_info = storage.text(in);
  const std::uint8_t flags = in.u8();
  if (flags & 1) d.init = never_init;
  if (flags & 2) d.shutdown = never_shutdown;
  const std::size_t count = in.u8() % 70;
  storage.schemes.resize(count);
  for (auto& s : storage.schemes) {
    s.struct_size = struct_size(in, sizeof s);
    s.prefix = storage.text(in);
    const std::uint8_t caps = in.u8();
    s.capabilities = caps < 250 ? caps & 0xF : in.u32();
    const std::uint8_t set = in.u8();
    if (set & 1) s.create_handler = never_create;
    if (set & 2) s.list_models = never_list;
    if (set & 4) s.remove_model = never_remove;
    if (set & 8) {
      modelport_handler_ops ops{};
      ops.struct_size = struct_size(in, sizeof ops);
      if (set & 16) ops.destroy = never_destroy;
      if (set & 32) ops.save = never_save;
      if (set & 64) ops.load = never_load;
      storage.ops.push_back(ops);
      s.handler_ops = &storage.ops.back();
    }
  }
  d.schemes = (flags & 4) || count == 0 ? nullptr : storage.schemes.data();
  // Beyond the limit of 64 the count alone must be refused, whatever the table holds.
  d.scheme_count = (flags & 8) ? count + 1000 : count;

  modelport::detail::ValidatedDescriptor valid;
  try {
    valid = modelport::detail::validate_plugin_descriptor(&d, "fuzz/plugin.so");
  } catch (const modelport::PluginError& e) {
    MODELPORT_FUZZ_CHECK(std::string(e.what()).find("fuzz/plugin.so") != std::string::npos, e.what());
    return 0;
  }
  MODELPORT_FUZZ_CHECK(valid.info.schemes.size() == count && count >= 1 && count <= 64, std::to_string(count));
  MODELPORT_FUZZ_CHECK(valid.schemes.size() == count && valid.ops.size() == count, "tables");
  for (std::size_t i = 0; i < count; ++i) {
    const auto& prefix = valid.info.schemes[i].prefix;
    MODELPORT_FUZZ_CHECK(prefix.size() > 3 && prefix.ends_with("://"), prefix);
    const std::uint32_t caps = valid.info.schemes[i].capabilities;
    if (caps & (MODELPORT_CAP_SAVE | MODELPORT_CAP_LOAD)) MODELPORT_FUZZ_CHECK(valid.ops[i].destroy != nullptr, prefix);
    if (caps & MODELPORT_CAP_SAVE) MODELPORT_FUZZ_CHECK(valid.ops[i].save != nullptr, prefix);
    if (caps & MODELPORT_CAP_LOAD) MODELPORT_FUZZ_CHECK(valid.ops[i].load != nullptr, prefix);
    if (caps & MODELPORT_CAP_LIST) MODELPORT_FUZZ_CHECK(valid.schemes[i].list_models != nullptr, prefix);
  }
  return 0;
}
