# Embeds the monitor's page (engine/monitor/page/*) into the binary as the
# table ds_monitor_assets (engine/monitor/assets.h).
set(DS_MONITOR_ASSETS_C ${DS_GENERATED_DIR}/ds_monitor_assets.c)
file(GLOB DS_MONITOR_PAGE CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/engine/monitor/page/*)
list(SORT DS_MONITOR_PAGE)
add_custom_command(
  OUTPUT ${DS_MONITOR_ASSETS_C}
  COMMAND ${CMAKE_COMMAND} -DBASE=${CMAKE_CURRENT_SOURCE_DIR}/engine/monitor/page
          -DOUT=${DS_MONITOR_ASSETS_C} -DSYMBOL=ds_monitor_assets "-DSOURCES=${DS_MONITOR_PAGE}"
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_files_run.cmake
  DEPENDS ${DS_MONITOR_PAGE} ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_files_run.cmake
  COMMENT "Embedding the monitor page"
  VERBATIM)
