// Elementwise float32 vector operations: buffer fills and y = a*x + y.
// One work-item per element; n guards the rounded-up global size.

kernel void fill_f32(global float *restrict x, const float value, const uint n) {
  const uint i = get_global_id(0);
  if (i < n) x[i] = value;
}

kernel void axpy_f32(global float *restrict y, global const float *restrict x, const float a,
                     const uint n) {
  const uint i = get_global_id(0);
  if (i < n) y[i] = fma(a, x[i], y[i]);
}
