// Meta-World v3 environments: coffee-pull, coffee-push, plate-slide, plate-slide-side, plate-slide-back, plate-slide-back-side (metaworld/envs/sawyer_*_v3.py).
#include "sim/metaworld/sawyer.h"

namespace metarl::metaworld {

std::vector<SawyerEnvDef> coffee_plate_envs() { return {}; }

}  // namespace metarl::metaworld
