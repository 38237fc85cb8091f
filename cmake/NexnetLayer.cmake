# nexnet_add_layer(NAME): an object library nexnet_NAME made of every .cpp below this folder.
# New files are picked up without editing CMake (CONFIGURE_DEPENDS).
function(nexnet_add_layer name)
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  add_library(nexnet_${name} OBJECT ${sources})
  target_include_directories(nexnet_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(nexnet_${name} PRIVATE nexnet_options PUBLIC Boost::headers)
endfunction()
