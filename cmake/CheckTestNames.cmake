# Fails when a doctest case name holds a ';': CTest splits such a name into several tests whose
# filters match no case, so the case would never run while its tests pass.
# Usage: cmake -DSOURCE_DIR=<tests folder> -P CheckTestNames.cmake
file(GLOB_RECURSE sources ${SOURCE_DIR}/*.cc)
set(bad "")
foreach(source ${sources})
  file(STRINGS ${source} lines REGEX "TEST_CASE\\(\"[^\"]*;")
  foreach(line ${lines})
    string(APPEND bad "${source}: ${line}\n")
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "test case names with ';' (CTest would never run them):\n${bad}")
endif()
