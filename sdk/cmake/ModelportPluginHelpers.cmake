# modelport_add_plugin(<target> NAME <name> SOURCES <src>... [LINK_LIBRARIES <lib>...] [NO_INSTALL])
#
# Builds a scheme plugin the only way the core accepts one: a MODULE library named
# libmodelport_plugin_<name>.so, hidden visibility (only the entry point is exported), linked
# with -Wl,--no-undefined so it cannot lean on symbols of the host, and installed into the plugin
# folder of ABI 1. It links the SDK's headers only, never the core.
#
# MODELPORT_PLUGIN_OUTPUT_DIR, when set, is where the built module is placed (the modelport build
# puts its own plugins next to the core library so that discovery finds them without install).
function(modelport_add_plugin target)
  cmake_parse_arguments(ARG "NO_INSTALL" "NAME" "SOURCES;LINK_LIBRARIES" ${ARGN})
  if(NOT ARG_NAME)
    message(FATAL_ERROR "modelport_add_plugin(${target}): NAME is required")
  endif()
  if(NOT ARG_NAME MATCHES "^[a-z0-9_-]+$")
    message(FATAL_ERROR "modelport_add_plugin(${target}): NAME '${ARG_NAME}' must match [a-z0-9_-]+")
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "modelport_plugin_${ARG_NAME}"
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(MODELPORT_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${MODELPORT_PLUGIN_OUTPUT_DIR}")
  endif()
  target_compile_features(${target} PRIVATE cxx_std_20)
  target_compile_definitions(${target} PRIVATE MODELPORT_PLUGIN_NAME="${ARG_NAME}")
  if(APPLE)
    target_link_options(${target} PRIVATE "LINKER:-undefined,error")
  elseif(NOT WIN32)
    target_link_options(${target} PRIVATE "LINKER:--no-undefined")
    # Hidden visibility does not cover code instantiated from the standard library; a version
    # script keeps the entry point the module's only exported symbol.
    set(exports "${CMAKE_CURRENT_BINARY_DIR}/${target}.exports")
    file(WRITE "${exports}" "{\n  global: modelport_plugin_entry_v*;\n  local: *;\n};\n")
    target_link_options(${target} PRIVATE "LINKER:--version-script=${exports}")
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${exports}")
  endif()
  target_link_libraries(${target} PRIVATE modelport::plugin_sdk ${ARG_LINK_LIBRARIES})
  if(NOT ARG_NO_INSTALL)
    include(GNUInstallDirs)
    install(TARGETS ${target} LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}/modelport/plugins/abi1")
  endif()
endfunction()

# modelport_add_plugin_conformance_test(<target> [URL_BASE <url>] [CAPABILITIES <cap>...]
#                                       [MAX_WEIGHT_BYTES <n>] [EXTRA_ARGS <arg>...])
#
# Registers the CTest test <target>.conformance: the conformance kit's runner applied to the
# plugin built by <target>, which it loads through the production loader:
#   modelport-plugin-conformance -- --plugin=$<TARGET_FILE:<target>> [--url-base=...] [--caps=...] ...
# CAPABILITIES takes "save,load" or "save load"; left out, the runner tests what the plugin
# declares. EXTRA_ARGS are passed to the runner after these (runner options, see its --help);
# Boost.Test's own options can be set through its environment variables (BOOST_TEST_LOG_LEVEL...)
# with set_tests_properties(<target>.conformance PROPERTIES ENVIRONMENT ...).
#
# The runner is the target modelport::modelport-plugin-conformance: an alias in the modelport
# build tree, an imported target in an installed modelport package. When tests are turned off
# (MODELPORT_BUILD_TESTS or BUILD_TESTING OFF) the call does nothing.
function(modelport_add_plugin_conformance_test target)
  cmake_parse_arguments(ARG "" "URL_BASE;MAX_WEIGHT_BYTES" "CAPABILITIES;EXTRA_ARGS" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "modelport_add_plugin_conformance_test(${target}): unexpected arguments '${ARG_UNPARSED_ARGUMENTS}'")
  endif()
  if((DEFINED MODELPORT_BUILD_TESTS AND NOT MODELPORT_BUILD_TESTS) OR (DEFINED BUILD_TESTING AND NOT BUILD_TESTING))
    return()
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "modelport_add_plugin_conformance_test(${target}): no target named '${target}' (define the plugin first)")
  endif()
  if(NOT TARGET modelport::modelport-plugin-conformance)
    message(FATAL_ERROR "modelport_add_plugin_conformance_test(${target}): the conformance runner "
                        "modelport::modelport-plugin-conformance is not available (find_package(modelport) "
                        "with the conformance kit installed, or a modelport build with tests on)")
  endif()

  set(args "--plugin=$<TARGET_FILE:${target}>")
  if(DEFINED ARG_URL_BASE)
    list(APPEND args "--url-base=${ARG_URL_BASE}")
  endif()
  if(ARG_CAPABILITIES)
    string(JOIN "," caps ${ARG_CAPABILITIES})
    list(APPEND args "--caps=${caps}")
  endif()
  if(DEFINED ARG_MAX_WEIGHT_BYTES)
    if(NOT ARG_MAX_WEIGHT_BYTES MATCHES "^[0-9]+$")
      message(FATAL_ERROR "modelport_add_plugin_conformance_test(${target}): MAX_WEIGHT_BYTES must be a number, got '${ARG_MAX_WEIGHT_BYTES}'")
    endif()
    list(APPEND args "--max-weight-bytes=${ARG_MAX_WEIGHT_BYTES}")
  endif()
  # $<TARGET_FILE:...> works the same for the in-tree alias and the installed imported target.
  add_test(NAME ${target}.conformance
           COMMAND $<TARGET_FILE:modelport::modelport-plugin-conformance> -- ${args} ${ARG_EXTRA_ARGS})
  set_tests_properties(${target}.conformance PROPERTIES LABELS "conformance")
endfunction()
