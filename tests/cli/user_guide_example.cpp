// The C++ snippets of docs/user-guide.md, as one program that CTest builds and runs, so the
// guide's code keeps compiling and doing what the guide says. Keep the two in step: each
// section below is one snippet of the guide (marked "guide: ...").
//
//   user_guide_example <model.json of a fixture> <work dir>
#include <modelport/digests.hpp>
#include <modelport/modelport.hpp>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>

namespace {

int failures = 0;
void expect(bool ok, const char* what) {
  if (!ok) {
    std::cerr << "FAIL: " << what << '\n';
    ++failures;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: user_guide_example MODEL_JSON WORK_DIR\n";
    return 2;
  }
  const std::string source = std::string("file://") + argv[1];
  const std::filesystem::path work = argv[2];
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  // Test set-up, not in the guide: the stores of indexeddb:// live under the work dir.
  ::setenv("MODELPORT_DATA_DIR", (work / "data").c_str(), 1);
  const std::string backup = "file://" + (work / "backup").string();

  try {
    // guide: load and decode
    modelport::PluginManager::global().discover_plugins();
    modelport::ModelArtifacts model = modelport::load(source);
    std::vector<modelport::Tensor> tensors = modelport::decode_weights(*model.weight_specs, *model.weight_data);
    for (const modelport::Tensor& t : tensors) {
      if (t.dtype == modelport::DType::float32 && t.elements > 0) std::cout << t.name << "[0] = " << t.at<float>(0) << '\n';
    }
    // end guide
    expect(tensors.size() == model.weight_specs->size(), "every weight decodes");

    // guide: save with options
    modelport::SaveOptions options;
    options.plugin_options["shard_bytes"] = "65536";          // file://: converter-style shards
    options.digests = modelport::DigestPolicy::record;        // SHA-256 per shard in model.json
    options.on_progress = [](const modelport::Progress& p) {  // may run on another thread
      std::cerr << p.bytes_done << " / " << p.bytes_total.value_or(0) << " bytes\r";
    };
    modelport::SaveResult saved = modelport::save(backup, model, options);
    std::cout << "saved " << saved.model_artifacts_info.weight_data_bytes.value_or(0) << " weight bytes\n";
    // end guide
    expect(std::filesystem::exists(work / "backup" / "group1-shard3of3.bin"), "three 64 KiB shards");

    // guide: copy and move between schemes
    modelport::copy_model(backup, "indexeddb://age");   // digests are checked, then recomputed
    modelport::move_model("indexeddb://age", "indexeddb://age-v2");  // the source goes only after a check
    for (const modelport::ListedModel& m : modelport::list_models("indexeddb://")) {
      std::cout << m.url << "  " << m.info.weight_data_bytes.value_or(0) << " bytes\n";
    }
    // end guide
    expect(modelport::list_models("indexeddb://").size() == 1, "one model after the move");
    expect(modelport::same_model(model, modelport::load("indexeddb://age-v2")), "the moved copy is the model");

    // guide: errors
    try {
      modelport::load("indexeddb://no-such-model");
    } catch (const modelport::Error& e) {
      if (e.code() == modelport::ErrorCode::not_found) std::cout << "not there: " << e.what() << '\n';
    }
    // end guide
    bool threw = false;
    try {
      modelport::load("indexeddb://no-such-model");
    } catch (const modelport::Error& e) {
      threw = e.code() == modelport::ErrorCode::not_found;
    }
    expect(threw, "a missing model is not_found");

    // guide: skip the digest check
    modelport::LoadOptions fast;
    fast.verify_digests = false;
    modelport::ModelArtifacts unchecked = modelport::load(backup, fast);
    // end guide
    expect(unchecked.extra_fields.contains(modelport::kDigestsKey), "the record is loaded along");

    // guide: threads
    auto a = std::async(std::launch::async, [&] { return modelport::load(backup); });
    auto b = std::async(std::launch::async, [&] { return modelport::load("indexeddb://age-v2"); });
    bool same = modelport::same_model(a.get(), b.get());  // true: one model in two schemes
    // end guide
    expect(same, "two threads, two schemes, one model");

    // guide: in memory
    modelport::ModelArtifacts captured;
    modelport::HandlerPtr sink = modelport::with_save_handler([&](const modelport::ModelArtifacts& artifacts) {
      captured = artifacts;
      return modelport::SaveResult{modelport::get_model_artifacts_info(artifacts), std::nullopt, std::nullopt};
    });
    sink->save(model);
    modelport::ModelArtifacts again = modelport::from_memory(captured)->load();
    // end guide
    expect(modelport::same_model(model, again), "the in-memory round trip keeps the model");
  } catch (const modelport::Error& e) {
    std::cerr << "FAIL: " << e.what() << " [" << modelport::to_string(e.code()) << "]\n";
    return 1;
  }
  std::filesystem::remove_all(work);
  if (failures == 0) std::cout << "user guide example: all snippets ran\n";
  return failures == 0 ? 0 : 1;
}
