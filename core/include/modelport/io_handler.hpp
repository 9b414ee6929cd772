// An IOHandler saves and/or loads one model (spec §2.1).
#pragma once

#include <modelport/export.hpp>
#include <modelport/model_artifacts.hpp>
#include <modelport/weight_stream.hpp>

#include <memory>
#include <string>

namespace modelport {

class MODELPORT_API IOHandler {
 public:
  virtual ~IOHandler();
  virtual bool can_save() const noexcept { return false; }
  virtual bool can_load() const noexcept { return false; }
  // Defaults throw Error(unimplemented).
  virtual SaveResult save(const ModelArtifacts& artifacts);
  virtual ModelArtifacts load();

  // Streaming copies: the weights travel part by part, so a copy never holds the whole model.
  // load_streamed's default loads everything and streams it from memory; handlers that can read
  // their shards later (the plugin schemes) override it. save_streamed saves `artifacts` (their
  // weight_data ignored) with the bytes of `weights` (null: no weight data); its default reads
  // the whole stream into memory and calls save().
  virtual StreamedModel load_streamed();
  virtual SaveResult save_streamed(const ModelArtifacts& artifacts, WeightStream* weights);
};

using HandlerPtr = std::unique_ptr<IOHandler>;

}  // namespace modelport
