# FindSOCI: Debian's libsoci-dev ships no CMake config. Defines SOCI::core, SOCI::sqlite3 and
# SOCI::postgresql. soci-config.h defines SOCI_HAVE_BOOST, so Boost headers must be present.
find_path(SOCI_INCLUDE_DIR soci/soci.h)
find_library(SOCI_CORE_LIBRARY NAMES soci_core)
find_library(SOCI_SQLITE3_LIBRARY NAMES soci_sqlite3)
find_library(SOCI_POSTGRESQL_LIBRARY NAMES soci_postgresql)
find_package(Boost QUIET)
find_package(SQLite3 QUIET)
find_package(PostgreSQL QUIET)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(SOCI REQUIRED_VARS SOCI_INCLUDE_DIR SOCI_CORE_LIBRARY
                                  SOCI_SQLITE3_LIBRARY SOCI_POSTGRESQL_LIBRARY Boost_FOUND)

if(SOCI_FOUND AND NOT TARGET SOCI::core)
  add_library(SOCI::core UNKNOWN IMPORTED)
  set_target_properties(SOCI::core PROPERTIES IMPORTED_LOCATION ${SOCI_CORE_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES "${SOCI_INCLUDE_DIR}")
  target_link_libraries(SOCI::core INTERFACE Boost::headers ${CMAKE_DL_LIBS})
  add_library(SOCI::sqlite3 UNKNOWN IMPORTED)
  set_target_properties(SOCI::sqlite3 PROPERTIES IMPORTED_LOCATION ${SOCI_SQLITE3_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES "${SOCI_INCLUDE_DIR}/soci/sqlite3")
  target_link_libraries(SOCI::sqlite3 INTERFACE SOCI::core)
  if(TARGET SQLite::SQLite3)
    target_link_libraries(SOCI::sqlite3 INTERFACE SQLite::SQLite3)
  endif()
  add_library(SOCI::postgresql UNKNOWN IMPORTED)
  set_target_properties(SOCI::postgresql PROPERTIES IMPORTED_LOCATION ${SOCI_POSTGRESQL_LIBRARY})
  target_link_libraries(SOCI::postgresql INTERFACE SOCI::core)
  if(TARGET PostgreSQL::PostgreSQL)
    target_link_libraries(SOCI::postgresql INTERFACE PostgreSQL::PostgreSQL)
  endif()
endif()
mark_as_advanced(SOCI_INCLUDE_DIR SOCI_CORE_LIBRARY SOCI_SQLITE3_LIBRARY SOCI_POSTGRESQL_LIBRARY)
