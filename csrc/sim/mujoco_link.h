// MuJoCo linkage check: the engine loaded at run time must be the one whose headers _C was built
// against (the wheel pins mujoco-core exactly; metarl_fast/__init__.py compares the two).
#pragma once

namespace metarl {

int mujoco_header_version();   // mjVERSION_HEADER at build time, e.g. 4000000
int mujoco_library_version();  // mj_version() of the loaded libmujoco
const char* mujoco_version_string();

}  // namespace metarl
