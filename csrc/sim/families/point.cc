// The point families (no MuJoCo model): SG-MRL's 2D navigation (Point2DNav) and ProMP's
// MetaPointEnvCorner / MetaPointEnvMomentum. The state is the position (and, with momentum, the
// velocity); actions are clipped to ±0.1 (±0.2 for the corner task).
#include <algorithm>
#include <cmath>

#include "sim/families/mujoco_common.h"

namespace metarl {
namespace {

enum class Kind { kNav, kCorner, kMomentum };

template <Kind kKind>
void configure(FamilyModel& fm, const mjModel*) {
  fm.act_dim = 2;
  fm.obs_dim = kKind == Kind::kMomentum ? 4 : 2;
  fm.dt = 1.0;
  fm.own_ctrl_range = true;
  const double bound = kKind == Kind::kCorner ? 0.2 : 0.1;
  for (int j = 0; j < 2; ++j) {
    fm.ctrl_lo[j] = -bound;
    fm.ctrl_hi[j] = bound;
  }
}

// Point2DNav starts at the origin; the others at U(±0.2)² (with momentum: velocity U(±0.1)²).
template <Kind kKind>
void reset(const FamilyModel&, const mjModel*, EnvSlot& env, Rng& rng) {
  double* p = env.point;
  p[0] = p[1] = p[2] = p[3] = 0.0;
  if (kKind != Kind::kNav) {
    p[0] = rng.uniform(-0.2, 0.2);
    p[1] = rng.uniform(-0.2, 0.2);
  }
  if (kKind == Kind::kMomentum) {
    p[2] = rng.uniform(-0.1, 0.1);
    p[3] = rng.uniform(-0.1, 0.1);
  }
}

void observe(const FamilyModel& fm, const mjModel*, const EnvSlot& env, double* obs) {
  std::copy(env.point, env.point + fm.obs_dim, obs);
}

const double kCorners[4][2] = {{-2, -2}, {2, -2}, {-2, 2}, {2, 2}};

template <Kind kKind>
StepOutcome step(const FamilyModel& fm, const mjModel*, EnvSlot& env, const double* goal, const double* action) {
  StepOutcome out;
  double* p = env.point;
  const double prev[2] = {p[0], p[1]};
  const double a[2] = {clip(action[0], fm.ctrl_lo[0], fm.ctrl_hi[0]), clip(action[1], fm.ctrl_lo[1], fm.ctrl_hi[1])};
  if (kKind == Kind::kNav) {
    for (int j = 0; j < 2; ++j) p[j] = clip(p[j] + a[j], -0.5, 0.5);
  } else if (kKind == Kind::kCorner) {
    for (int j = 0; j < 2; ++j) p[j] += a[j];
  } else {  // momentum: the action accelerates
    for (int j = 0; j < 2; ++j) {
      p[2 + j] += a[j];
      p[j] += p[2 + j];
    }
  }
  const double dist = std::hypot(p[0] - goal[0], p[1] - goal[1]);
  out.infos[0] = dist;
  if (kKind == Kind::kNav) {
    // SG-MRL's point_env_2d_v2: −Euclidean distance; the episode ends within 0.01 of the goal per
    // coordinate (the stored code compares with the goal's coordinates).
    out.reward = -dist;
    out.terminated = std::abs(p[0] - goal[0]) < 0.01 && std::abs(p[1] - goal[1]) < 0.01;
  } else if (kKind == Kind::kCorner) {
    // sparse progress reward outside the L1 ball of radius 0.5, only when the goal is the nearest
    // corner
    if (!(std::abs(p[0]) + std::abs(p[1]) < 0.5)) {
      double nearest = 1e300;
      for (const auto& c : kCorners) nearest = std::min(nearest, std::hypot(p[0] - c[0], p[1] - c[1]));
      if (dist == nearest) out.reward = std::hypot(prev[0] - goal[0], prev[1] - goal[1]) - dist;
    }
  } else {
    out.reward = std::max(2.0 - dist, 0.0);  // sparse, radius 2
  }
  if (!std::isfinite(p[0]) || !std::isfinite(p[1]) || !std::isfinite(p[2]) || !std::isfinite(p[3])) {
    out.nonfinite = true;
    out.terminated = true;
  }
  return out;
}

}  // namespace

extern const FamilyOps kPoint2DNav{"Point2DNav", "", 1, 2, {"goal_distance"}, false, configure<Kind::kNav>,
                                   nullptr, reset<Kind::kNav>, observe, step<Kind::kNav>};
extern const FamilyOps kMetaPointEnvCorner{"MetaPointEnvCorner", "", 1, 2, {"goal_distance"}, false,
                                           configure<Kind::kCorner>, nullptr, reset<Kind::kCorner>, observe,
                                           step<Kind::kCorner>};
extern const FamilyOps kMetaPointEnvMomentum{"MetaPointEnvMomentum", "", 1, 2, {"goal_distance"}, false,
                                             configure<Kind::kMomentum>, nullptr, reset<Kind::kMomentum>, observe,
                                             step<Kind::kMomentum>};

}  // namespace metarl
