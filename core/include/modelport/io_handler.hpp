// An IOHandler saves and/or loads one model (spec §2.1).
#pragma once

#include <modelport/export.hpp>
#include <modelport/model_artifacts.hpp>

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
};

using HandlerPtr = std::unique_ptr<IOHandler>;

}  // namespace modelport
