#include "engine/tensor/umeyama.h"

#include <assert.h>
#include <math.h>

void ds_umeyama2d(const float *src_xy, const float *dst_xy, int n, float out[6]) {
  assert(n > 0);
  double smx = 0, smy = 0, dmx = 0, dmy = 0;
  for (int i = 0; i < n; i++) {
    smx += src_xy[2 * i];
    smy += src_xy[2 * i + 1];
    dmx += dst_xy[2 * i];
    dmy += dst_xy[2 * i + 1];
  }
  smx /= n, smy /= n, dmx /= n, dmy /= n;
  /* A = cov(dst, src) (eq. 38) and the source variance (eq. 42's σ²). */
  double a00 = 0, a01 = 0, a10 = 0, a11 = 0, var = 0;
  for (int i = 0; i < n; i++) {
    double sx = src_xy[2 * i] - smx, sy = src_xy[2 * i + 1] - smy;
    double dx = dst_xy[2 * i] - dmx, dy = dst_xy[2 * i + 1] - dmy;
    a00 += dx * sx, a01 += dx * sy, a10 += dy * sx, a11 += dy * sy;
    var += sx * sx + sy * sy;
  }
  a00 /= n, a01 /= n, a10 /= n, a11 /= n, var /= n;
  if (var == 0.0 || (a00 == 0.0 && a01 == 0.0 && a10 == 0.0 && a11 == 0.0)) {
    for (int k = 0; k < 6; k++)
      out[k] = NAN;
    return;
  }
  /* Umeyama's R = U·diag(1, ±1)·Vᵀ is the rotation that maximises tr(Rᵀ A);
   * in 2-D that is the rotation by atan2(A10 - A01, A00 + A11), and the
   * maximum, tr(D S) of eq. (42), is hypot(A00 + A11, A10 - A01). With no
   * rotation part (a pure reflection) the scale is 0 and R is arbitrary. */
  double p = a00 + a11, q = a10 - a01, norm = hypot(p, q);
  double c = norm > 0 ? p / norm : 1.0, s = norm > 0 ? q / norm : 0.0;
  double scale = norm / var;
  out[0] = (float)(scale * c);
  out[1] = (float)(-scale * s);
  out[2] = (float)(dmx - scale * (c * smx - s * smy));
  out[3] = (float)(scale * s);
  out[4] = (float)(scale * c);
  out[5] = (float)(dmy - scale * (s * smx + c * smy));
}
