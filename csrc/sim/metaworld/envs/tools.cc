// Meta-World v3 environments: assembly, disassemble, hammer, peg-insert-side, peg-unplug-side, stick-push, stick-pull, basketball, box-close, shelf-place, soccer (metaworld/envs/sawyer_*_v3.py).
#include "sim/metaworld/sawyer.h"

namespace metarl::metaworld {

std::vector<SawyerEnvDef> tools_envs() { return {}; }

}  // namespace metarl::metaworld
