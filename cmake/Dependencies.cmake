# Every dependency is a Debian 12 package; a missing one stops configure with
# the package to install. scripts/packages.txt lists the same names.
find_package(PkgConfig QUIET)

function(ds_missing what package)
  message(FATAL_ERROR "dsengine: ${what} not found. Install it with:\n"
                      "  apt-get install ${package}\n"
                      "(or run scripts/setup, which installs everything the build needs)")
endfunction()

find_package(OpenCL QUIET)
if(NOT OpenCL_FOUND)
  ds_missing("OpenCL ICD loader and headers" "ocl-icd-opencl-dev opencl-headers")
endif()

find_package(CLBlast QUIET CONFIG)
if(NOT CLBlast_FOUND)
  ds_missing("CLBlast" "libclblast-dev")
endif()

find_package(clFFT QUIET CONFIG)
if(NOT clFFT_FOUND)
  ds_missing("clFFT" "libclfft-dev")
endif()

find_package(PNG QUIET)
if(NOT PNG_FOUND)
  ds_missing("libpng" "libpng-dev")
endif()

if(NOT PKG_CONFIG_FOUND)
  ds_missing("pkg-config" "pkg-config")
endif()
foreach(lib libavformat libavcodec libswscale libavutil)
  pkg_check_modules(${lib} QUIET IMPORTED_TARGET ${lib})
  if(NOT ${lib}_FOUND)
    ds_missing("${lib}" "${lib}-dev")
  endif()
endforeach()
pkg_check_modules(cjson QUIET IMPORTED_TARGET libcjson)
if(NOT cjson_FOUND)
  ds_missing("cJSON" "libcjson-dev")
endif()

pkg_check_modules(microhttpd QUIET IMPORTED_TARGET libmicrohttpd)
if(NOT microhttpd_FOUND)
  ds_missing("libmicrohttpd" "libmicrohttpd-dev")
endif()

# One interface target carrying the domain libraries, so engine targets link
# them with a single name.
add_library(ds_deps INTERFACE)
target_link_libraries(ds_deps INTERFACE
  clblast ${CLFFT_LIBRARIES} PNG::PNG
  PkgConfig::libavformat PkgConfig::libavcodec PkgConfig::libswscale PkgConfig::libavutil
  PkgConfig::cjson PkgConfig::microhttpd m)
target_include_directories(ds_deps INTERFACE ${CLFFT_INCLUDE_DIRS})
