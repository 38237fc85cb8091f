# Installs the build into WORK_DIR/prefix, builds the consumer with find_package(nexnet) and with
# pkg-config, and runs both.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# find_package(nexnet), shared and static
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/cmake -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake)
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib ${WORK_DIR}/cmake/consumer)
if(NOT last_output MATCHES "consumer: ok")
  message(FATAL_ERROR "unexpected consumer output: ${last_output}")
endif()
run(${WORK_DIR}/cmake/consumer_static)

# pkg-config
file(GLOB pcdir ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
run(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pcdir} pkg-config --cflags --libs nexnet)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(c++ -o ${WORK_DIR}/consumer_pc ${CONSUMER_DIR}/consumer.cpp ${flags})
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib ${WORK_DIR}/consumer_pc)
# A driver built outside the tree against the installed headers only (the sample's own header
# beside it), loaded as a plug-in by the installed nexnetctl.
run(c++ -std=c++20 -shared -fPIC -o ${WORK_DIR}/outside-vxlan.so ${SOURCE_DIR}/samples/vxlan/VxlanEthernet.cpp
    -I${prefix}/include/nexnet -I${SOURCE_DIR})
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib ${prefix}/bin/nexnetctl -d ${WORK_DIR}/outside-vxlan.so drivers)
if(NOT last_output MATCHES "vxlan:REMOTE")
  message(FATAL_ERROR "the out-of-tree plug-in was not listed: ${last_output}")
endif()
message(STATUS "install test: ok")
