# Precompiled headers: nlohmann/json and the standard headers nearly every translation unit
# includes. Parsing json.hpp alone costs a few seconds per file, which on a 2-core CI machine is
# most of a cold build.
# Debug builds only: with optimization g++ 12 reports false warnings (-Warray-bounds,
# -Wstringop-overflow) from inlined standard-library code that a precompiled header no longer
# marks as a system header.
if(CMAKE_BUILD_TYPE STREQUAL "Debug")
  set(cloudify_pch_default ON)
else()
  set(cloudify_pch_default OFF)
endif()
option(CLOUDIFY_PCH "Precompile the common heavy headers" ${cloudify_pch_default})

set(CLOUDIFY_PCH_HEADERS <nlohmann/json.hpp> <string> <string_view> <vector> <map>
    <unordered_map> <memory> <optional> <functional> <chrono> <mutex>)

# cloudify_use_pch(target [extra headers...]): the target precompiles the common set.
function(cloudify_use_pch target)
  if(CLOUDIFY_PCH)
    target_precompile_headers(${target} PRIVATE ${CLOUDIFY_PCH_HEADERS} ${ARGN})
  endif()
endfunction()

# cloudify_reuse_pch(target owner): the target uses the owner's precompiled header (same flags).
function(cloudify_reuse_pch target owner)
  if(CLOUDIFY_PCH)
    target_precompile_headers(${target} REUSE_FROM ${owner})
  endif()
endfunction()
