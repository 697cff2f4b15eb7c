#include "sim/model_overlay.h"

namespace metarl {
namespace {

mjtNum* own(std::vector<mjtNum>& storage, const mjtNum* values, int n) {
  storage.assign(values, values + n);
  return storage.data();
}

}  // namespace

ModelOverlay::ModelOverlay(const mjModel* base) : base_(base), m_(*base) {
  m_.body_pos = own(body_pos_, base->body_pos, 3 * base->nbody);
  m_.body_quat = own(body_quat_, base->body_quat, 4 * base->nbody);
  m_.site_pos = own(site_pos_, base->site_pos, 3 * base->nsite);
  m_.site_quat = own(site_quat_, base->site_quat, 4 * base->nsite);
}

}  // namespace metarl
