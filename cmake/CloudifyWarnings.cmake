# cloudify_set_warnings(target): the warning set for our own code; -Werror with CLOUDIFY_WERROR.
function(cloudify_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
    -Wcast-align -Wimplicit-fallthrough -Wmissing-declarations
    # g++ 12 warns on designated initializers that leave fields at their defaults, which is
    # how our Options structs are meant to be used (fixed in g++ 13).
    -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # g++ 12 at -O3 reports impossible overlaps in inlined std::string concatenation
    # (GCC bug 105329); the warning is false there and fixed in g++ 13.
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(CLOUDIFY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # Cheap bounds checks in libstdc++ containers for debug and sanitizer builds.
  target_compile_definitions(${target} PRIVATE $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>
                             JSON_NO_AUTOMATIC_UDLS)
endfunction()
