# CLOUDIFY_SANITIZE=address,undefined | thread applies to every target of the project (so that
# the library, tests and programs agree on the runtime).
if(CLOUDIFY_SANITIZE)
  if(CLOUDIFY_SANITIZE MATCHES "thread" AND CLOUDIFY_SANITIZE MATCHES "address")
    message(FATAL_ERROR "ThreadSanitizer cannot be combined with AddressSanitizer")
  endif()
  add_compile_options(-fsanitize=${CLOUDIFY_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -D_GLIBCXX_ASSERTIONS)
  if(CLOUDIFY_SANITIZE MATCHES "undefined")
    # UBSan's vptr check needs the typeinfo of every polymorphic class it meets, and Debian's
    # SOCI does not export it for its internal statement classes: the link fails.
    add_compile_options(-fno-sanitize=vptr)
  endif()
  add_link_options(-fsanitize=${CLOUDIFY_SANITIZE})
endif()
