// Copies a row-major matrix [rows, cols] from a storage buffer into an rgba32float texture of
// ceil(cols/4) × rows texels: texel (q, r) = row r, columns 4q..4q+3, zero past the last column.
// VEC4 (cols, or with CHANNEL_MAJOR S, a multiple of 4) reads each texel as one vec4. CHANNEL_MAJOR reads the source as [B, rows, S]
// (an NCHW tensor with B = N, rows = C, S = H·W) and writes it as [rows, cols = B·S]: matrix (r, b·S + s) =
// src[b, r, s], the channel-major layout conv GEMMs take, in the same pass.
// The shape is fixed per pipeline (override constants): LLVM turns the divisions by it into multiplies.
override ROWS: u32;
override COLS: u32;
override WIDTH: u32;
override S: u32 = 1u;
#if VEC4
@group(0) @binding(1) var<storage, read> src: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> src: array<f32>;
#endif
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  let r = i / WIDTH;
  if (r >= ROWS) { return; }
  let q = i - r * WIDTH;
#if CHANNEL_MAJOR && VEC4
  // S a multiple of 4: the texel's four columns share b and are contiguous in the source
  let c = 4u * q;
  let b = c / S;
  let v = src[((b * ROWS + r) * S + c - b * S) / 4u];
#elif CHANNEL_MAJOR
  let c = 4u * q;
  var b = c / S;
  var j = c - b * S;
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) {
    if (c + i < COLS) { v[i] = src[(b * ROWS + r) * S + j]; }
    j++;
    if (j == S) { j = 0u; b++; }
  }
#elif VEC4
  let v = src[r * WIDTH + q];
#else
  let c = 4u * q;
  let row = r * COLS;
  var v = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (c + j < COLS) { v[j] = src[row + c + j]; }
  }
#endif
  textureStore(dst, vec2u(q, r), v);
}
