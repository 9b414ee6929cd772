# localstorage:// interop with real TensorFlow.js 4.22 (ctest -R localstorage.interop_tfjs):
#   1. modelport cp the golden tfjs-node model into localstorage://interop/model-1 (origin interop);
#   2. modelport localstorage export the origin;
#   3. node tfjs_localstorage.mjs: tfjs loads it through its own localStorage handler, checks
#      weights and predictions against the original files, saves it again and checks that its
#      values are modelport's, and dumps its storage;
#   4. modelport localstorage import that dump into origin from-tfjs, and cp the model tfjs saved
#      back to files: model.json and weights.bin byte-identical to the originals.
# Variables: CLI, NODE, SCRIPT, NODE_MODULES, GOLDEN, WORK.
foreach(var CLI SCRIPT NODE_MODULES GOLDEN WORK)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_interop.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT NODE)
  message(FATAL_ERROR "Node.js was not found when the build was configured: install it (tools/install-deps), "
                      "run  npm ci --prefix tests/interop  and configure again")
endif()
if(NOT EXISTS "${NODE_MODULES}/@tensorflow/tfjs/package.json")
  message(FATAL_ERROR "TensorFlow.js is not installed in ${NODE_MODULES}: run  npm ci --prefix tests/interop")
endif()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(ENV{MODELPORT_DATA_DIR} "${WORK}/data")
set(ENV{MODELPORT_ORIGIN} "interop")
unset(ENV{MODELPORT_LOCALSTORAGE_QUOTA})

function(step)
  string(JOIN " " shown ${ARGN})
  message(STATUS "$ ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(out)
    message(STATUS "${out}")
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${shown}\n${out}${err}")
  endif()
endfunction()

step("${CLI}" cp "${GOLDEN}" localstorage://interop/model-1)
step("${CLI}" localstorage export "${WORK}/modelport-dump.json")
step("${NODE}" "${SCRIPT}" --node-modules "${NODE_MODULES}" --dump "${WORK}/modelport-dump.json" --model interop/model-1
     --golden "${GOLDEN}" --resave from-tfjs/model-1 --out "${WORK}/tfjs-dump.json")
step("${CLI}" localstorage import --origin from-tfjs "${WORK}/tfjs-dump.json")
step("${CLI}" -o origin=from-tfjs cp localstorage://from-tfjs/model-1 "${WORK}/back")
foreach(file model.json weights.bin)
  execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${GOLDEN}/${file}" "${WORK}/back/${file}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${WORK}/back/${file} (tfjs's localStorage save, through modelport) differs from ${GOLDEN}/${file}")
  endif()
endforeach()
message(STATUS "interop: modelport -> TensorFlow.js -> modelport, byte for byte")
