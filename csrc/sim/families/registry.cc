// Every C++ task family, found by name (and Meta-World's environments, csrc/sim/metaworld). A new family: its FamilyOps in the file of its group (or a
// new file added to CMakeLists.txt), one line here, and its Python definition (task distribution,
// horizon) in metarl_fast/envs/registry.py.
#include <stdexcept>
#include <string>

#include "sim/families/family.h"
#include "sim/metaworld/sawyer.h"

namespace metarl {

extern const FamilyOps kHalfCheetahRandDirec, kHalfCheetahRandVel;
extern const FamilyOps kAntRandDirec, kAntRandDirec2D, kAntRandGoal, kAntGoalArc, kAntGoalArcSparse;
extern const FamilyOps kWalker2DRandDirec, kHopperRandParams, kWalker2DRandParams;
extern const FamilyOps kHumanoidRandDirec, kHumanoidRandDirec2D;
extern const FamilyOps kPoint2DNav, kMetaPointEnvCorner, kMetaPointEnvMomentum;

const std::vector<const FamilyOps*>& all_families() {
  static const std::vector<const FamilyOps*> families = {
      &kHalfCheetahRandDirec, &kHalfCheetahRandVel, &kAntRandDirec,       &kAntRandDirec2D,
      &kAntRandGoal,          &kWalker2DRandDirec,  &kHumanoidRandDirec,  &kHumanoidRandDirec2D,
      &kHopperRandParams,     &kWalker2DRandParams, &kPoint2DNav,         &kMetaPointEnvCorner,
      &kMetaPointEnvMomentum, &kAntGoalArc,         &kAntGoalArcSparse,
  };
  return families;
}

const FamilyOps& find_family(const std::string& name) {
  std::string known;
  for (const FamilyOps* f : all_families()) {
    if (name == f->name) return *f;
    known += (known.empty() ? "" : ", ") + std::string(f->name);
  }
  for (const FamilyOps* f : metaworld::metaworld_families())
    if (name == f->name) return *f;
  throw std::invalid_argument("unknown task family '" + name + "'; known: " + known +
                              ", and the Meta-World environments metaworld/<env>");
}

}  // namespace metarl
