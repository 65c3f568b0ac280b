// Included by kernels whose VEC4 define reads four elements per load: T is the element type (vec4f or f32) and
// hsum adds one up to an f32.
#if VEC4
alias T = vec4f;
fn hsum(v: vec4f) -> f32 { return v.x + v.y + v.z + v.w; }
#else
alias T = f32;
fn hsum(v: f32) -> f32 { return v; }
#endif
