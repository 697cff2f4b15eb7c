// Meta-World v3 environments: button-press-topdown, button-press-topdown-wall, button-press, button-press-wall, coffee-button, handle-press-side, handle-press, handle-pull-side, handle-pull, lever-pull (metaworld/envs/sawyer_*_v3.py).
#include "sim/metaworld/sawyer.h"

namespace metarl::metaworld {

std::vector<SawyerEnvDef> buttons_handles_envs() { return {}; }

}  // namespace metarl::metaworld
