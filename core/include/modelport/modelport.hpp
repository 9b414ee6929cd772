// Everything an embedder needs, in one include.
#pragma once

#include <modelport/buffer.hpp>
#include <modelport/dtype.hpp>
#include <modelport/error.hpp>
#include <modelport/float16.hpp>
#include <modelport/io_handler.hpp>
#include <modelport/weight_stream.hpp>
#include <modelport/json.hpp>
#include <modelport/memory_handlers.hpp>
#include <modelport/model_artifacts.hpp>
#include <modelport/model_json.hpp>
#include <modelport/options.hpp>
#include <modelport/quantization.hpp>
#include <modelport/router_registry.hpp>
#include <modelport/weight_data.hpp>
#include <modelport/weight_spec.hpp>
#include <modelport/weights_codec.hpp>
#include <modelport/weight_stats.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>
#include <modelport/browser_files.hpp>
#include <modelport/digests.hpp>
#include <modelport/limits.hpp>
