# Locate MuJoCo inside its pip wheel (mujoco-core) and expose it as the IMPORTED target
# mujoco::mujoco. The wheel ships mujoco/include/mujoco/*.h and mujoco/libmujoco.so.X.Y.Z but no
# CMake config. At run time _C finds the library through its RPATH ($ORIGIN/../mujoco).

find_package(Python 3.10 REQUIRED COMPONENTS Interpreter)
execute_process(
  COMMAND "${Python_EXECUTABLE}" -c
    "import importlib.util, os; s = importlib.util.find_spec('mujoco'); print(os.path.dirname(s.origin) if s and s.origin else '')"
  OUTPUT_VARIABLE MUJOCO_WHEEL_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT MUJOCO_WHEEL_DIR OR NOT EXISTS "${MUJOCO_WHEEL_DIR}/include/mujoco/mujoco.h")
  message(FATAL_ERROR
    "MuJoCo headers not found (looked for mujoco/include/mujoco/mujoco.h via ${Python_EXECUTABLE}). "
    "Install the engine first: pip install 'mujoco-core>=4.0.0,<4.1'")
endif()
file(GLOB MUJOCO_LIBRARY "${MUJOCO_WHEEL_DIR}/libmujoco.so.*")
list(LENGTH MUJOCO_LIBRARY n_mujoco_libs)
if(NOT n_mujoco_libs EQUAL 1)
  message(FATAL_ERROR "Expected exactly one libmujoco.so.* in ${MUJOCO_WHEEL_DIR}, found: ${MUJOCO_LIBRARY}")
endif()
string(REGEX MATCH "libmujoco\\.so\\.([0-9]+\\.[0-9]+\\.[0-9]+)$" _ "${MUJOCO_LIBRARY}")
set(MUJOCO_BUILD_VERSION "${CMAKE_MATCH_1}")
if(NOT MUJOCO_BUILD_VERSION MATCHES "^4\\.0\\.")
  message(FATAL_ERROR "metarl_fast builds against MuJoCo 4.0.x; found ${MUJOCO_LIBRARY}")
endif()
message(STATUS "MuJoCo wheel: ${MUJOCO_WHEEL_DIR} (${MUJOCO_LIBRARY}, version ${MUJOCO_BUILD_VERSION})")

add_library(mujoco::mujoco SHARED IMPORTED GLOBAL)
set_target_properties(mujoco::mujoco PROPERTIES
  IMPORTED_LOCATION "${MUJOCO_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${MUJOCO_WHEEL_DIR}/include")
