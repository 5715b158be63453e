# Embeds every cl/**/*.cl into the binary as a table of named sources, so an
# installed dsengine needs no source tree. The name of a program is its path
# under cl/ without the extension ("core/fill").
set(DS_GENERATED_DIR ${CMAKE_CURRENT_BINARY_DIR}/generated)
set(DS_KERNELS_C ${DS_GENERATED_DIR}/ds_kernels.c)
file(GLOB_RECURSE DS_CL_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cl/*.cl)
list(SORT DS_CL_SOURCES)

add_custom_command(
  OUTPUT ${DS_KERNELS_C}
  COMMAND ${CMAKE_COMMAND} -DCL_DIR=${CMAKE_CURRENT_SOURCE_DIR}/cl -DOUT=${DS_KERNELS_C}
          "-DSOURCES=${DS_CL_SOURCES}" -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_kernels_run.cmake
  DEPENDS ${DS_CL_SOURCES} ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_kernels_run.cmake
  COMMENT "Embedding OpenCL kernel sources"
  VERBATIM)
