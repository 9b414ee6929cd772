#!/usr/bin/env bash
# install.out_of_tree_plugin: install the built tree into a scratch prefix, then use ONLY that
# prefix, the way a plugin author and an embedder would:
#
#   1. cmake --install <build> --prefix <work>/prefix, and check the layout and RPATHs;
#   2. copy sdk/template elsewhere, configure it with -DCMAKE_PREFIX_PATH=<work>/prefix, build
#      libmodelport_plugin_memstore.so (and run its conformance test when the install has the kit);
#   3. an embedder program, built once with find_package(modelport) and once with pkg-config,
#      parses a model.json through the installed libmodelport.so;
#   4. the INSTALLED `modelport plugins --json` lists the plugin from a MODELPORT_PLUGIN_PATH
#      folder, and then from <prefix>/<libdir>/modelport/plugins/abi1 with no environment at all;
#      the built-in plugins the install put there load without error.
#
# Registered by tests/install/CMakeLists.txt; every path and tool comes in as an option:
#   --source-dir DIR --build-dir DIR --work-dir DIR --config CFG --generator NAME
#   [--make-program PATH] --cxx PATH [--cxx-launcher PATH] [--cxx-flags F] [--exe-linker-flags F]
#   [--module-linker-flags F] [--shared-linker-flags F] --libdir DIR --bindir DIR
set -euo pipefail

fail() {
  echo
  echo "install.out_of_tree_plugin: FAILED: $*" >&2
  exit 1
}
step() { echo; echo "=== $*"; }
# Run a command, keep its output in a log, and on failure show the log and stop.
run_logged() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "--- command: $*" >&2
    echo "--- output ($log):" >&2
    tail -n 80 "$log" >&2
    return 1
  fi
}

source_dir="" build_dir="" work="" config="" generator="" make_program="" cxx="" cxx_launcher=""
cxx_flags="" exe_linker_flags="" module_linker_flags="" shared_linker_flags="" libdir="" bindir=""
while (($#)); do
  [[ $# -ge 2 ]] || fail "option $1 needs a value"
  case $1 in
    --source-dir) source_dir=$2 ;;
    --build-dir) build_dir=$2 ;;
    --work-dir) work=$2 ;;
    --config) config=$2 ;;
    --generator) generator=$2 ;;
    --make-program) make_program=$2 ;;
    --cxx) cxx=$2 ;;
    --cxx-launcher) cxx_launcher=$2 ;;
    --cxx-flags) cxx_flags=$2 ;;
    --exe-linker-flags) exe_linker_flags=$2 ;;
    --module-linker-flags) module_linker_flags=$2 ;;
    --shared-linker-flags) shared_linker_flags=$2 ;;
    --libdir) libdir=$2 ;;
    --bindir) bindir=$2 ;;
    *) fail "unknown option $1" ;;
  esac
  shift 2
done
for v in source_dir build_dir work generator cxx libdir bindir; do
  [[ -n ${!v} ]] || fail "missing --${v//_/-}"
done
[[ -n $config ]] || config=Release
[[ -f $build_dir/CMakeCache.txt ]] || fail "$build_dir is not a CMake build directory"
[[ $work == "$build_dir"/* ]] || fail "refusing to use work dir '$work' outside the build directory"

# Installed programs must find their libraries through their own RPATH, not through the caller's.
unset LD_LIBRARY_PATH MODELPORT_PLUGIN_PATH MODELPORT_PLUGIN_SKIP || true

prefix=$work/prefix
[[ $libdir == /* ]] && fail "an absolute CMAKE_INSTALL_LIBDIR ($libdir) cannot be installed under a scratch prefix"
[[ $bindir == /* ]] && fail "an absolute CMAKE_INSTALL_BINDIR ($bindir) cannot be installed under a scratch prefix"
lib=$prefix/$libdir
bin=$prefix/$bindir
plugin_name=memstore
plugin_file_name=libmodelport_plugin_$plugin_name.so

# Same toolchain as the main build for every nested CMake project.
cmake_args=(-G "$generator" "-DCMAKE_CXX_COMPILER=$cxx" "-DCMAKE_BUILD_TYPE=$config" "-DCMAKE_PREFIX_PATH=$prefix"
            -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
[[ -n $make_program ]] && cmake_args+=("-DCMAKE_MAKE_PROGRAM=$make_program")
[[ -n $cxx_launcher ]] && cmake_args+=("-DCMAKE_CXX_COMPILER_LAUNCHER=$cxx_launcher")
[[ -n $cxx_flags ]] && cmake_args+=("-DCMAKE_CXX_FLAGS=$cxx_flags")
[[ -n $exe_linker_flags ]] && cmake_args+=("-DCMAKE_EXE_LINKER_FLAGS=$exe_linker_flags")
[[ -n $module_linker_flags ]] && cmake_args+=("-DCMAKE_MODULE_LINKER_FLAGS=$module_linker_flags")
[[ -n $shared_linker_flags ]] && cmake_args+=("-DCMAKE_SHARED_LINKER_FLAGS=$shared_linker_flags")

step "0. fresh work dir $work"
rm -rf "$work"
mkdir -p "$work"

# ------------------------------------------------------------------------------------------------
step "1. cmake --install $build_dir --prefix $prefix"
run_logged "$work/install.log" cmake --install "$build_dir" --prefix "$prefix" --config "$config" ||
  fail "cmake --install failed (is the build complete? run 'cmake --build $build_dir' first)"

expect_file() { [[ -e $1 ]] || fail "the install has no $1${2:+ ($2)}"; }
expect_file "$bin/modelport" "the CLI, target modelport_cli"
expect_file "$lib/libmodelport.so" "the development symlink of the core"
soname=$(readelf -d "$lib/libmodelport.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ -n $soname ]] || fail "$lib/libmodelport.so has no SONAME"
expect_file "$lib/$soname" "the SONAME link"
[[ -L $lib/libmodelport.so && -L $lib/$soname ]] || fail "libmodelport.so and $soname should be symlinks to the versioned file"
for h in modelport.hpp model_json.hpp plugins.hpp export.hpp plugin_abi.h plugin.hpp; do
  expect_file "$prefix/include/modelport/$h" "public header"
done
cmakedir=$lib/cmake/modelport
for f in modelportConfig.cmake modelportConfigVersion.cmake modelportTargets.cmake ModelportPluginHelpers.cmake; do
  expect_file "$cmakedir/$f" "CMake package"
done
expect_file "$lib/pkgconfig/modelport.pc" "pkg-config file"
if [[ -e $prefix/include/modelport/testkit ]]; then
  grep -q 'modelport::plugin_testkit' "$cmakedir"/modelportTargets*.cmake ||
    fail "testkit headers are installed but modelport::plugin_testkit is not exported"
fi
# memstore is the template (NO_INSTALL): installed, it would collide with every copy of it.
[[ -e $lib/modelport/plugins/abi1/$plugin_file_name ]] &&
  fail "the main install contains $plugin_file_name; the template plugin must be NO_INSTALL"
builtin=$(find "$lib/modelport/plugins" -name 'libmodelport_plugin_*.so' -printf '%f ' 2>/dev/null || true)
builtin=${builtin% }
echo "  layout ok (core SONAME $soname; built-in plugins: ${builtin:-none})"

# No installed binary may point back into the build tree, and the CLI must reach the core by RPATH.
for f in "$bin"/* "$lib"/libmodelport.so.* "$lib"/modelport/plugins/abi*/*.so; do
  [[ -f $f && ! -L $f ]] || continue
  rpath=$(readelf -d "$f" | sed -n 's/.*(\(RPATH\|RUNPATH\)).*\[\(.*\)\]/\2/p')
  [[ $rpath != *"$build_dir"* ]] || fail "$f still has the build tree in its RPATH: $rpath"
done
cli_rpath=$(readelf -d "$bin/modelport" | sed -n 's/.*(\(RPATH\|RUNPATH\)).*\[\(.*\)\]/\2/p')
# shellcheck disable=SC2016  # a literal $ORIGIN
[[ $cli_rpath == *'$ORIGIN'* ]] || fail "$bin/modelport has no \$ORIGIN-relative RPATH (got '$cli_rpath')"
if command -v ldd >/dev/null; then
  resolved=$(ldd "$bin/modelport" | sed -n "s/.*$soname => \([^ ]*\).*/\1/p")
  [[ -n $resolved ]] || fail "ldd cannot resolve $soname for $bin/modelport"
  [[ $(readlink -f "$resolved") == $(readlink -f "$lib")/* ]] ||
    fail "$bin/modelport loads $resolved instead of the installed core in $lib"
fi
echo "  RPATH ok ($cli_rpath)"

# ------------------------------------------------------------------------------------------------
step "2. out-of-tree build of sdk/template against $prefix"
cp -R "$source_dir/sdk/template" "$work/template"
rm -rf "$work/template/build"
run_logged "$work/template-configure.log" \
  cmake -S "$work/template" -B "$work/template-build" "${cmake_args[@]}" "-DCMAKE_INSTALL_PREFIX=$work/plugin-prefix" ||
  fail "configuring the template against the installed package failed"
found_dir=$(sed -n 's/^modelport_DIR:PATH=//p' "$work/template-build/CMakeCache.txt")
[[ $(readlink -f "$found_dir") == $(readlink -f "$cmakedir") ]] ||
  fail "the template found modelport in '$found_dir', not in the scratch install $cmakedir"
run_logged "$work/template-build.log" cmake --build "$work/template-build" ||
  fail "building the template plugin failed"
built=$(find "$work/template-build" -name "$plugin_file_name" -type f | head -n 1)
[[ -n $built ]] || fail "the template build produced no $plugin_file_name"
echo "  built $built"

# The plugin must stand alone: the entry point exported, the core never linked.
readelf -d "$built" | grep -q 'NEEDED.*libmodelport\.so' && fail "$built links libmodelport.so; plugins must never link the core"
nm -D --defined-only "$built" | grep -q ' modelport_plugin_entry_v1$' || fail "$built does not export modelport_plugin_entry_v1"
exported=$(nm -D --defined-only "$built" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^modelport_plugin_entry_v1$' |
           grep -v '^_\(init\|fini\|edata\|end\|_bss_start\)$' || true)
[[ -z $exported ]] || echo "  note  $built also exports: $(echo "$exported" | head -n 5 | tr '\n' ' ')"

# The plugin's own install rule puts it into the ABI folder under its prefix.
run_logged "$work/template-install.log" cmake --install "$work/template-build" ||
  fail "installing the template plugin failed"
expect_file "$work/plugin-prefix/$libdir/modelport/plugins/abi1/$plugin_file_name" "modelport_add_plugin's install rule"

# The conformance kit, when this modelport install ships it and the helper registered a test.
ntests=$(ctest --test-dir "$work/template-build" -N 2>/dev/null | sed -n 's/^Total Tests: //p')
if [[ ${ntests:-0} -gt 0 ]]; then
  echo "  running the installed conformance kit ($ntests test(s))"
  run_logged "$work/template-ctest.log" ctest --test-dir "$work/template-build" --output-on-failure ||
    fail "the template's conformance test failed against the installed kit"
  echo "  conformance ok"
else
  echo "  note  no conformance test registered (no modelport_add_plugin_conformance_test or no installed runner)"
fi

# ------------------------------------------------------------------------------------------------
step "3. embedder programs against the installed core"
run_logged "$work/consumer-configure.log" \
  cmake -S "$source_dir/tests/install/cmake_consumer" -B "$work/consumer-build" "${cmake_args[@]}" ||
  fail "find_package(modelport) + modelport::core: configuring the consumer failed"
run_logged "$work/consumer-build.log" cmake --build "$work/consumer-build" ||
  fail "find_package(modelport) + modelport::core: building the consumer failed"
cmake_consumer=$(find "$work/consumer-build" -name consumer -type f -perm -u+x | head -n 1)
[[ -n $cmake_consumer ]] || fail "the find_package consumer was not built"
"$cmake_consumer" || fail "the find_package consumer failed against the installed core"
echo "  find_package(modelport) consumer ok"
testkit_consumer=$(find "$work/consumer-build" -name testkit_consumer -type f -perm -u+x | head -n 1)
if [[ -n $testkit_consumer ]]; then
  run_logged "$work/testkit-consumer.log" env "MODELPORT_INSTALL_TEST_PLUGIN=$built" "$testkit_consumer" ||
    fail "an author's own Boost.Test executable around the installed modelport::plugin_testkit failed"
  echo "  modelport::plugin_testkit consumer ok"
elif grep -q 'modelport::plugin_testkit' "$cmakedir"/modelportTargets.cmake; then
  fail "the install exports modelport::plugin_testkit but the testkit consumer was not built"
else
  echo "  note  this install has no modelport::plugin_testkit"
fi

command -v pkg-config >/dev/null || fail "pkg-config is not installed (tools/install-deps installs it)"
export PKG_CONFIG_PATH=$lib/pkgconfig
pc_flags=$(pkg-config --cflags --libs modelport) || fail "pkg-config --cflags --libs modelport failed"
echo "  pkg-config --cflags --libs modelport: $pc_flags"
pc_libdir=$(pkg-config --variable=libdir modelport)
[[ $(readlink -f "$pc_libdir") == $(readlink -f "$lib") ]] || fail "modelport.pc says libdir=$pc_libdir, expected $lib"
pc_plugindir=$(pkg-config --variable=plugindir modelport)
[[ $(readlink -m "$pc_plugindir") == $(readlink -m "$lib/modelport/plugins/abi1") ]] ||
  fail "modelport.pc says plugindir=$pc_plugindir, expected $lib/modelport/plugins/abi1"
# Word splitting of the flag strings is intended: that is how pkg-config output is used.
# shellcheck disable=SC2086,SC2046
run_logged "$work/pkgconfig-consumer.log" \
  "$cxx" -std=c++20 $cxx_flags "$source_dir/tests/install/consumer.cpp" -o "$work/pc-consumer" \
  $(pkg-config --cflags modelport) $exe_linker_flags $(pkg-config --libs modelport) "-Wl,-rpath,$pc_libdir" ||
  fail "compiling a program with \`pkg-config --cflags --libs modelport\` failed"
"$work/pc-consumer" || fail "the pkg-config consumer failed against the installed core"
echo "  pkg-config consumer ok"

# ------------------------------------------------------------------------------------------------
step "4. the installed CLI discovers the out-of-tree plugin"
plugin_dir=$work/plugin-folder
mkdir -p "$plugin_dir"
cp "$built" "$plugin_dir/"

if [[ -x $bin/modelport-plugin-info ]]; then
  if ! "$bin/modelport-plugin-info" "$plugin_dir/$plugin_file_name" --json >"$work/plugin-info.json" 2>&1; then
    cat "$work/plugin-info.json" >&2
    fail "the installed modelport-plugin-info rejects $plugin_dir/$plugin_file_name"
  fi
  grep -q '"memstore://"' "$work/plugin-info.json" ||
    fail "modelport-plugin-info does not show the memstore:// prefix: $(cat "$work/plugin-info.json")"
  echo "  modelport-plugin-info --json: $(cat "$work/plugin-info.json")"
else
  echo "  note  no modelport-plugin-info in $bin"
fi

list_plugins() {  # <output file> [env assignments...]
  local out=$1
  shift
  if ! env "$@" "$bin/modelport" plugins --json >"$out" 2>"$out.stderr"; then
    echo "--- stdout:" >&2; cat "$out" >&2
    echo "--- stderr:" >&2; cat "$out.stderr" >&2
    if grep -qi 'unknown command\|usage' "$out.stderr" "$out" 2>/dev/null; then
      fail "the installed CLI has no 'plugins' command yet (expected: modelport plugins [--json])"
    fi
    fail "'modelport plugins --json' failed"
  fi
}

list_plugins "$work/plugins-env.json" "MODELPORT_PLUGIN_PATH=$plugin_dir"
echo "  MODELPORT_PLUGIN_PATH=$plugin_dir modelport plugins --json:"
sed 's/^/    /' "$work/plugins-env.json"
"$cmake_consumer" --plugins "$work/plugins-env.json" --name "$plugin_name" --prefix memstore:// \
  --file "$plugin_dir/$plugin_file_name" --installed-plugins "$lib/modelport/plugins/abi1" ||
  fail "the plugin in MODELPORT_PLUGIN_PATH (or an installed built-in plugin) was not listed as expected"

# Dropped into the installed ABI folder, the core finds it beside itself with no environment.
abi_dir=$lib/modelport/plugins/abi1
mkdir -p "$abi_dir"
cp "$built" "$abi_dir/"
list_plugins "$work/plugins-installed.json"
echo "  modelport plugins --json (no MODELPORT_PLUGIN_PATH):"
sed 's/^/    /' "$work/plugins-installed.json"
"$cmake_consumer" --plugins "$work/plugins-installed.json" --name "$plugin_name" --prefix memstore:// \
  --file "$abi_dir/$plugin_file_name" --installed-plugins "$abi_dir" ||
  fail "the plugins in $abi_dir were not all discovered beside the installed core"
rm -f "$abi_dir/$plugin_file_name"

echo
echo "install.out_of_tree_plugin: PASSED"
