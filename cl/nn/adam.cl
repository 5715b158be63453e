// Adam with Keras semantics over one contiguous range of the parameter
// buffer (the encoder, or one decoder):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr_t m / (sqrt(v) + eps)
// where lr_t = lr sqrt(1 - b2^s) / (1 - b1^s) is computed on the host.

kernel void adam_step(global float *restrict p, global const float *restrict g,
                      global float *restrict m, global float *restrict v, const ulong offset,
                      const uint n, const float lr_t, const float beta1, const float beta2,
                      const float epsilon) {
  const uint e = get_global_id(0);
  if (e >= n) return;
  const size_t i = offset + e;
  const float gi = g[i];
  const float mi = fma(beta1, m[i], (1.0f - beta1) * gi);
  const float vi = fma(beta2, v[i], (1.0f - beta2) * gi * gi);
  m[i] = mi;
  v[i] = vi;
  p[i] -= lr_t * mi / (sqrt(vi) + epsilon);
}
