# porta_docs.cmake: the reference documentation (Doxygen over the public
# headers) when doxygen is installed: `cmake --build BUILD --target docs`.
# Any warning, an undocumented declaration included, fails the target.
find_program(PORTA_DOXYGEN doxygen)
if(PORTA_DOXYGEN)
  set(PORTA_DOCS_OUT ${CMAKE_CURRENT_BINARY_DIR}/docs)
  configure_file(docs/Doxyfile.in ${CMAKE_CURRENT_BINARY_DIR}/Doxyfile @ONLY)
  add_custom_target(docs COMMAND ${CMAKE_COMMAND} -E make_directory ${PORTA_DOCS_OUT}
                    COMMAND ${PORTA_DOXYGEN} ${CMAKE_CURRENT_BINARY_DIR}/Doxyfile
                    COMMENT "Doxygen: the public headers (warnings are errors)" VERBATIM)
endif()
