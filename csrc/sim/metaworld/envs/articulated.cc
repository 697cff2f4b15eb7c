// Meta-World v3 environments: door-close, door-lock, door-open, door-unlock, drawer-close, drawer-open, faucet-open, faucet-close, window-open, window-close, dial-turn (metaworld/envs/sawyer_*_v3.py).
#include "sim/metaworld/sawyer.h"

namespace metarl::metaworld {

std::vector<SawyerEnvDef> articulated_envs() { return {}; }

}  // namespace metarl::metaworld
