#include <modelport/error.hpp>
#include <modelport/io_handler.hpp>

namespace modelport {

IOHandler::~IOHandler() = default;

SaveResult IOHandler::save(const ModelArtifacts&) {
  throw Error(ErrorCode::unimplemented, "this IOHandler cannot save (it has no save operation)");
}

ModelArtifacts IOHandler::load() {
  throw Error(ErrorCode::unimplemented, "this IOHandler cannot load (it has no load operation)");
}

StreamedModel IOHandler::load_streamed() {
  StreamedModel model;
  model.artifacts = load();
  if (model.artifacts.weight_data) {
    model.weights = stream_of(std::move(*model.artifacts.weight_data));
    model.artifacts.weight_data.reset();
  }
  return model;
}

SaveResult IOHandler::save_streamed(const ModelArtifacts& artifacts, WeightStream* weights) {
  if (!weights) {
    if (!artifacts.weight_data) return save(artifacts);
    ModelArtifacts without = artifacts;
    without.weight_data.reset();
    return save(without);
  }
  ModelArtifacts whole = artifacts;
  whole.weight_data = drain(*weights);
  return save(whole);
}

}  // namespace modelport
