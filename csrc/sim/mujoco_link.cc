#include "sim/mujoco_link.h"

#include <mujoco/mujoco.h>

namespace metarl {

int mujoco_header_version() { return mjVERSION_HEADER; }
int mujoco_library_version() { return mj_version(); }
const char* mujoco_version_string() { return mj_versionString(); }

}  // namespace metarl
