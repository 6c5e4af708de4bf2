# cloudify_set_warnings(target): the warning set for our own code; -Werror with CLOUDIFY_WERROR.
function(cloudify_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
    -Wcast-align -Wimplicit-fallthrough -Wmissing-declarations
    # g++ 12 warns on designated initializers that leave fields at their defaults, which is
    # how our Options structs are meant to be used (fixed in g++ 13).
    -Wno-missing-field-initializers)
  if(CLOUDIFY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # Cheap bounds checks in libstdc++ containers for debug and sanitizer builds.
  target_compile_definitions(${target} PRIVATE $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>
                             JSON_NO_AUTOMATIC_UDLS)
endfunction()
