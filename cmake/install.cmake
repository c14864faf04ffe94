# `cmake --install build [--prefix P]`: the libraries, the public headers and a CMake package, so
# another project can `find_package(Cherry)` and link `Cherry::cherry` (tests/install_consumer/
# builds apps/cherry_demo.cpp that way). The kernels' own headers (backends/cpu, cuda, reference)
# stay private.
include(CMakePackageConfigHelpers)

set(CHERRY_INSTALL_TARGETS cherry cherry_backends cherry_core cherry_autograd cherry_layers cherry_models cherry_optim cherry_datasets)
set(CHERRY_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Cherry)

install(TARGETS ${CHERRY_INSTALL_TARGETS} EXPORT CherryTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY core autograd layers models optim datasets DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cherry
        FILES_MATCHING PATTERN "*.h")
install(FILES backends/arg.h backends/backend.h backends/custom_kernel.h backends/ops.def
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cherry/backends)
install(FILES include/cherry/cherry.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cherry)
install(EXPORT CherryTargets NAMESPACE Cherry:: DESTINATION ${CHERRY_CMAKE_DIR})

configure_package_config_file(cmake/CherryConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/CherryConfig.cmake
                              INSTALL_DESTINATION ${CHERRY_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/CherryConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/CherryConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/CherryConfigVersion.cmake
        DESTINATION ${CHERRY_CMAKE_DIR})
