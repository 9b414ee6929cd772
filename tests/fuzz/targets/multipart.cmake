# The multipart/form-data parser of `modelport serve` (tools/serve), a pure function over bytes.
if(TARGET modelport_multipart)
  modelport_add_fuzzer(fuzz_multipart SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_multipart.cpp LIBS modelport_multipart)
endif()
