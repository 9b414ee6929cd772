# validate_plugin_descriptor is declared in the core's private header plugin_descriptor.hpp.
modelport_add_fuzzer(fuzz_plugin_descriptor SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_plugin_descriptor.cpp
                     LIBS modelport::core INCLUDES ${PROJECT_SOURCE_DIR}/core/src)
