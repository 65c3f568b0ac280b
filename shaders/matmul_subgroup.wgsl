// C[M,N] = op(A)·op(B) with both operands in rgba32float textures (texel (c/4, r) holds storage row r,
// columns c..c+3, zero past the last column), for adapters whose subgroups are 8 lanes wide (llvmpipe's
// 256-bit SIMD). A workgroup is one subgroup. Its 8 lanes share 64 rows of C and each owns 8 of its columns,
// so every lane needs the same 64 rows of op(A) at each step: each lane fetches an eighth of them and
// subgroupBroadcast hands them round. On llvmpipe a texel fetch costs a loop over lanes while a broadcast is
// a register shuffle, so this block runs about 1.3× faster than matmul.wgsl's TALL one.
// Same defines as matmul.wgsl (TA, TB, VC, SPLIT), and KTAIL when K is not a multiple of 4.
// Split K: workgroup z sums only k in [z·kChunk, (z+1)·kChunk) and writes its partial C at offset z·M·N, for
// the caller to add up; products with few blocks and a long K (a weight gradient over the batch) would
// otherwise leave all but one core idle.
enable subgroups;

#if VC
alias CT = vec4f;
#else
alias CT = f32;
#endif

struct Params { M: u32, N: u32, K: u32, colBlocks: u32, blocks: u32, S: u32, kChunk: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var ta: texture_2d<f32>;
@group(0) @binding(2) var tb: texture_2d<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<CT>;

const BM = 64u;
const LANE_COLUMNS = 8u;
const BN = 64u; // 8 lanes × LANE_COLUMNS

// rIcJ = (rows 4I..4I+3, columns 4J..4J+3 of the lane's block of C)ᵀ, as in matmul.wgsl
var<private> r0c0: mat4x4f; var<private> r0c1: mat4x4f; var<private> r1c0: mat4x4f; var<private> r1c1: mat4x4f;
var<private> r2c0: mat4x4f; var<private> r2c1: mat4x4f; var<private> r3c0: mat4x4f; var<private> r3c1: mat4x4f;
var<private> r4c0: mat4x4f; var<private> r4c1: mat4x4f; var<private> r5c0: mat4x4f; var<private> r5c1: mat4x4f;
var<private> r6c0: mat4x4f; var<private> r6c1: mat4x4f; var<private> r7c0: mat4x4f; var<private> r7c1: mat4x4f;
var<private> r8c0: mat4x4f; var<private> r8c1: mat4x4f; var<private> r9c0: mat4x4f; var<private> r9c1: mat4x4f;
var<private> r10c0: mat4x4f; var<private> r10c1: mat4x4f; var<private> r11c0: mat4x4f; var<private> r11c1: mat4x4f;
var<private> r12c0: mat4x4f; var<private> r12c1: mat4x4f; var<private> r13c0: mat4x4f; var<private> r13c1: mat4x4f;
var<private> r14c0: mat4x4f; var<private> r14c1: mat4x4f; var<private> r15c0: mat4x4f; var<private> r15c1: mat4x4f;

// The block needs 64 texels of A per step of 4 along K; lane `lane` fetches numbers 8i + lane, i = 0..7.
// Without TA texel t is op(A)[m0 + t, k..k+3]; with TA it is op(A)[m0 + 4(t/4) .. +3, k + t%4].
// Either way texels 4I..4I+3 make row tile I, and they sit in lanes 4(I%2)..4(I%2)+3 of share I/2.
fn share(m0: u32, k: u32, i: u32, lane: u32) -> vec4f {
  let t = 8u * i + lane;
#if TA
  let kk = k + (t & 3u);
  let v = textureLoad(ta, vec2u(m0 / 4u + (t >> 2u), kk), 0);
#if KTAIL
  return select(v, vec4f(0.0), kk >= u.K);
#else
  return v;
#endif
#else
  return textureLoad(ta, vec2u(k / 4u, m0 + t), 0);
#endif
}

// op(A)ᵀ for row tile I from its share s (column r is op(A)[m0 + 4I + r, k..k+3]); I even takes lanes 0–3.
fn evenTile(s: vec4f) -> mat4x4f {
  return orient(mat4x4f(subgroupBroadcast(s, 0u), subgroupBroadcast(s, 1u), subgroupBroadcast(s, 2u), subgroupBroadcast(s, 3u)));
}

fn oddTile(s: vec4f) -> mat4x4f {
  return orient(mat4x4f(subgroupBroadcast(s, 4u), subgroupBroadcast(s, 5u), subgroupBroadcast(s, 6u), subgroupBroadcast(s, 7u)));
}

fn orient(m: mat4x4f) -> mat4x4f {
#if TA
  return transpose(m);
#else
  return m;
#endif
}

// Reads past M or N (rows or columns of C that are never stored) are left out of bounds: WGSL then returns
// some texel of the texture or zeros, either of which is harmless. Reads past K must be zeros: with TA or
// without TB they are rows of the texture, selected away when K is not a multiple of 4 (KTAIL).

// op(B)ᵀ for k..k+3 and columns n..n+3 (column q is op(B)[k + q, n..n+3]).
fn tileB(k: u32, n: u32) -> mat4x4f {
#if TB
  return transpose(mat4x4f(loadBt(k, n), loadBt(k, n + 1u), loadBt(k, n + 2u), loadBt(k, n + 3u)));
#else
  return mat4x4f(loadB(k, n), loadB(k + 1u, n), loadB(k + 2u, n), loadB(k + 3u, n));
#endif
}

// op(B)[k, n..n+3] from B stored [K, N]; zero past K.
fn loadB(k: u32, n: u32) -> vec4f {
  let v = textureLoad(tb, vec2u(n / 4u, k), 0);
#if KTAIL
  return select(v, vec4f(0.0), k >= u.K);
#else
  return v;
#endif
}

// op(B)[k..k+3, n] from B stored [N, K] (zero past K: the texture is zero-padded there).
fn loadBt(k: u32, n: u32) -> vec4f {
  return textureLoad(tb, vec2u(k / 4u, n), 0);
}

// acc + b·a, written as fused multiply-adds chained along k: LLVM keeps each column of acc in registers for
// all four.
fn mac(acc: mat4x4f, b: mat4x4f, a: mat4x4f) -> mat4x4f {
  return mat4x4f(column4(acc[0], b, a[0]), column4(acc[1], b, a[1]), column4(acc[2], b, a[2]), column4(acc[3], b, a[3]));
}

fn column4(acc: vec4f, b: mat4x4f, a: vec4f) -> vec4f {
  return fma(b[3], vec4f(a.w), fma(b[2], vec4f(a.z), fma(b[1], vec4f(a.y), fma(b[0], vec4f(a.x), acc))));
}

fn step(m0: u32, n0: u32, k: u32, lane: u32) {
  let s0 = share(m0, k, 0u, lane);
  let s1 = share(m0, k, 1u, lane);
  let s2 = share(m0, k, 2u, lane);
  let s3 = share(m0, k, 3u, lane);
  let s4 = share(m0, k, 4u, lane);
  let s5 = share(m0, k, 5u, lane);
  let s6 = share(m0, k, 6u, lane);
  let s7 = share(m0, k, 7u, lane);
  let b0 = tileB(k, n0);
  let b1 = tileB(k, n0 + 4u);
  var a = evenTile(s0); r0c0 = mac(r0c0, b0, a); r0c1 = mac(r0c1, b1, a);
  a = oddTile(s0); r1c0 = mac(r1c0, b0, a); r1c1 = mac(r1c1, b1, a);
  a = evenTile(s1); r2c0 = mac(r2c0, b0, a); r2c1 = mac(r2c1, b1, a);
  a = oddTile(s1); r3c0 = mac(r3c0, b0, a); r3c1 = mac(r3c1, b1, a);
  a = evenTile(s2); r4c0 = mac(r4c0, b0, a); r4c1 = mac(r4c1, b1, a);
  a = oddTile(s2); r5c0 = mac(r5c0, b0, a); r5c1 = mac(r5c1, b1, a);
  a = evenTile(s3); r6c0 = mac(r6c0, b0, a); r6c1 = mac(r6c1, b1, a);
  a = oddTile(s3); r7c0 = mac(r7c0, b0, a); r7c1 = mac(r7c1, b1, a);
  a = evenTile(s4); r8c0 = mac(r8c0, b0, a); r8c1 = mac(r8c1, b1, a);
  a = oddTile(s4); r9c0 = mac(r9c0, b0, a); r9c1 = mac(r9c1, b1, a);
  a = evenTile(s5); r10c0 = mac(r10c0, b0, a); r10c1 = mac(r10c1, b1, a);
  a = oddTile(s5); r11c0 = mac(r11c0, b0, a); r11c1 = mac(r11c1, b1, a);
  a = evenTile(s6); r12c0 = mac(r12c0, b0, a); r12c1 = mac(r12c1, b1, a);
  a = oddTile(s6); r13c0 = mac(r13c0, b0, a); r13c1 = mac(r13c1, b1, a);
  a = evenTile(s7); r14c0 = mac(r14c0, b0, a); r14c1 = mac(r14c1, b1, a);
  a = oddTile(s7); r15c0 = mac(r15c0, b0, a); r15c1 = mac(r15c1, b1, a);
}

const STORE_COLUMNS = LANE_COLUMNS;
#include matmul_columns

// Rows m..m+3, columns n0..n0+7 of C from one row of tiles.
fn storeTiles(m: u32, n0: u32, t0: mat4x4f, t1: mat4x4f) {
  for (var r = 0u; r < 4u; r++) {
    let row = m + r;
    if (row >= u.M) { return; }
    let base = row * rowStride;
#if VC
    if (n0 < u.N) { c[(base + column[0]) / 4u] = t0[r]; }
    if (n0 + 4u < u.N) { c[(base + column[4]) / 4u] = t1[r]; }
#else
    for (var q = 0u; q < 4u; q++) {
      if (n0 + q < u.N) { c[base + column[q]] = t0[r][q]; }
      if (n0 + 4u + q < u.N) { c[base + column[4u + q]] = t1[r][q]; }
    }
#endif
  }
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  // block is the same for the whole subgroup, so this return keeps the broadcasts in uniform control flow
  let block = wg.x + wg.y * nwg.x;
  if (block >= u.blocks) { return; }
  let m0 = (block / u.colBlocks) * BM;
  let n0 = (block % u.colBlocks) * BN + lane * LANE_COLUMNS;
  let kEnd = min(u.K, (wg.z + 1u) * u.kChunk);
  for (var k = wg.z * u.kChunk; k < kEnd; k += 4u) { step(m0, n0, k, lane); }

  // store the first row of tiles, then shift the rest up (one copy of the store code compiles much faster)
  columnOffsets(n0, wg.z * u.M * u.N);
  let rowTiles = (min(BM, u.M - m0) + 3u) / 4u;
  for (var i = 0u; i < rowTiles; i++) {
    storeTiles(m0 + 4u * i, n0, r0c0, r0c1);
    r0c0 = r1c0; r0c1 = r1c1; r1c0 = r2c0; r1c1 = r2c1; r2c0 = r3c0; r2c1 = r3c1; r3c0 = r4c0; r3c1 = r4c1;
    r4c0 = r5c0; r4c1 = r5c1; r5c0 = r6c0; r5c1 = r6c1; r6c0 = r7c0; r6c1 = r7c1; r7c0 = r8c0; r7c1 = r8c1;
    r8c0 = r9c0; r8c1 = r9c1; r9c0 = r10c0; r9c1 = r10c1; r10c0 = r11c0; r10c1 = r11c1; r11c0 = r12c0; r11c1 = r12c1;
    r12c0 = r13c0; r12c1 = r13c1; r13c0 = r14c0; r13c1 = r14c1; r14c0 = r15c0; r14c1 = r15c1;
  }
}
