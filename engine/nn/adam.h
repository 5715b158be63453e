/* Adam with Keras semantics (engine/model/MODEL.md) over one contiguous range
 * [offset, offset + n) of the parameter, gradient and moment buffers. */
#ifndef DS_ENGINE_NN_ADAM_H
#define DS_ENGINE_NN_ADAM_H

#include <CL/cl.h>
#include <stddef.h>

#include "host/runtime.h"

typedef struct ds_adam {
  float lr, beta1, beta2, epsilon;
} ds_adam;

/* lr_s = lr sqrt(1 - beta2^s) / (1 - beta1^s) for step s >= 1 */
double ds_adam_lr(const ds_adam *a, long long step);

ds_status ds_adam_step(ds_runtime *rt, const ds_adam *a, long long step, cl_mem p, cl_mem g,
                       cl_mem m, cl_mem v, size_t offset, size_t n, ds_error *err);
void ds_adam_step_reference(const ds_adam *a, long long step, float *p, const float *g, float *m,
                            float *v, size_t n);

#endif
