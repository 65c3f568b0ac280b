// C[M,N] = op(A)·op(B), the fast path, tuned for llvmpipe: there every storage read of an invocation costs a
// scalar loop over the SIMD lanes, so each invocation computes a block of C (32×16 with TALL, else 8×16) and
// reuses each read many times. The block is a grid of 4×4 tiles held as mat4x4f accumulators
// cIJ = (tile I,J of C)ᵀ, so column r of cIJ is a piece of a row of C. Per step of 4 along K the invocation
// reads the op(A)ᵀ and op(B)ᵀ tiles as four vec4 reads each along the operand's contiguous dimension
// (transpose() when that is the wrong orientation) and accumulates cIJ += op(B)ᵀ·op(A)ᵀ.
// Defines: TA (A stored [K,M]), TB (B stored [N,K]); VA / VB when that operand's contiguous dimension is a
// multiple of 4, so it binds as array<vec4f> (else array<f32>, each vec4 gathered from 4 scalars); VC when
// N is a multiple of 4 (C rows are written as vec4); SPLIT to store C's column blocks as planes (see matmul_columns.wgsl);
// TALL for the 32-row block, which runs faster but takes
// LLVM several times longer to compile than the 8-row one. Rows and columns past M and N are clamped when
// read (those results are never stored); reads past K are zero-filled.
// TEX reads both operands from rgba32float textures instead (texel (c/4, r) holds storage row r, columns
// c..c+3, zero past the last column): llvmpipe fetches a texel for all lanes at once, where a storage read is
// a loop over lanes, so the same block runs about 1.5× faster. VA and VB then don't matter.
#if VA
alias AT = vec4f;
#else
alias AT = f32;
#endif
#if VB
alias BT = vec4f;
#else
alias BT = f32;
#endif
#if VC
alias CT = vec4f;
#else
alias CT = f32;
#endif

struct Params { M: u32, N: u32, K: u32, colBlocks: u32, blocks: u32, S: u32 }
@group(0) @binding(0) var<uniform> u: Params;
#if TEX
@group(0) @binding(1) var ta: texture_2d<f32>;
@group(0) @binding(2) var tb: texture_2d<f32>;
#else
@group(0) @binding(1) var<storage, read> a: array<AT>;
@group(0) @binding(2) var<storage, read> b: array<BT>;
#endif
@group(0) @binding(3) var<storage, read_write> c: array<CT>;

const WG = ${WG}u;
#if TALL
const BM = 32u;
#else
const BM = 8u;
#endif
const BN = 16u;

var<private> c00: mat4x4f; var<private> c01: mat4x4f; var<private> c02: mat4x4f; var<private> c03: mat4x4f;
var<private> c10: mat4x4f; var<private> c11: mat4x4f; var<private> c12: mat4x4f; var<private> c13: mat4x4f;
#if TALL
var<private> c20: mat4x4f; var<private> c21: mat4x4f; var<private> c22: mat4x4f; var<private> c23: mat4x4f;
var<private> c30: mat4x4f; var<private> c31: mat4x4f; var<private> c32: mat4x4f; var<private> c33: mat4x4f;
var<private> c40: mat4x4f; var<private> c41: mat4x4f; var<private> c42: mat4x4f; var<private> c43: mat4x4f;
var<private> c50: mat4x4f; var<private> c51: mat4x4f; var<private> c52: mat4x4f; var<private> c53: mat4x4f;
var<private> c60: mat4x4f; var<private> c61: mat4x4f; var<private> c62: mat4x4f; var<private> c63: mat4x4f;
var<private> c70: mat4x4f; var<private> c71: mat4x4f; var<private> c72: mat4x4f; var<private> c73: mat4x4f;
#endif

// Four consecutive elements of A's storage row: op(A)[m, k..k+3], or with TA op(A)[m..m+3, k].
fn loadA(m: u32, k: u32) -> vec4f {
  let mm = min(m, u.M - 1u);
#if TA
  let kk = min(k, u.K - 1u);
#if TEX
  let v = textureLoad(ta, vec2u(mm / 4u, kk), 0);
#elif VA
  let v = a[kk * (u.M / 4u) + mm / 4u];
#else
  let row = kk * u.M;
  let v = vec4f(a[row + mm], a[row + min(m + 1u, u.M - 1u)], a[row + min(m + 2u, u.M - 1u)], a[row + min(m + 3u, u.M - 1u)]);
#endif
  return select(v, vec4f(0.0), k >= u.K);
#else
#if TEX
  return textureLoad(ta, vec2u(k / 4u, mm), 0);
#elif VA
  return a[mm * (u.K / 4u) + k / 4u];
#else
  let row = mm * u.K;
  let last = u.K - 1u;
  let v = vec4f(a[row + min(k, last)], a[row + min(k + 1u, last)], a[row + min(k + 2u, last)], a[row + min(k + 3u, last)]);
  return select(v, vec4f(0.0), k + vec4u(0u, 1u, 2u, 3u) >= vec4u(u.K));
#endif
#endif
}

// Four consecutive elements of B's storage row: op(B)[k, n..n+3], or with TB op(B)[k..k+3, n].
fn loadB(k: u32, n: u32) -> vec4f {
  let nn = min(n, u.N - 1u);
#if TB
#if TEX
  return textureLoad(tb, vec2u(k / 4u, nn), 0);
#elif VB
  return b[nn * (u.K / 4u) + k / 4u];
#else
  let row = nn * u.K;
  let last = u.K - 1u;
  let v = vec4f(b[row + min(k, last)], b[row + min(k + 1u, last)], b[row + min(k + 2u, last)], b[row + min(k + 3u, last)]);
  return select(v, vec4f(0.0), k + vec4u(0u, 1u, 2u, 3u) >= vec4u(u.K));
#endif
#else
  let kk = min(k, u.K - 1u);
#if TEX
  let v = textureLoad(tb, vec2u(nn / 4u, kk), 0);
#elif VB
  let v = b[kk * (u.N / 4u) + nn / 4u];
#else
  let row = kk * u.N;
  let v = vec4f(b[row + nn], b[row + min(n + 1u, u.N - 1u)], b[row + min(n + 2u, u.N - 1u)], b[row + min(n + 3u, u.N - 1u)]);
#endif
  return select(v, vec4f(0.0), k >= u.K);
#endif
}

// op(A)ᵀ for rows m..m+3 and k..k+3: column r is op(A)[m + r, k..k+3].
fn tileA(m: u32, k: u32) -> mat4x4f {
#if TA
  return transpose(mat4x4f(loadA(m, k), loadA(m, k + 1u), loadA(m, k + 2u), loadA(m, k + 3u)));
#else
  return mat4x4f(loadA(m, k), loadA(m + 1u, k), loadA(m + 2u, k), loadA(m + 3u, k));
#endif
}

// op(B)ᵀ for k..k+3 and columns n..n+3: column q is op(B)[k + q, n..n+3].
fn tileB(k: u32, n: u32) -> mat4x4f {
#if TB
  return transpose(mat4x4f(loadB(k, n), loadB(k, n + 1u), loadB(k, n + 2u), loadB(k, n + 3u)));
#else
  return mat4x4f(loadB(k, n), loadB(k + 1u, n), loadB(k + 2u, n), loadB(k + 3u, n));
#endif
}

// One step of 4 along K for the whole block. All reads come first: interleaving them with the products
// measured about 25% slower.
fn step(m0: u32, n0: u32, k: u32) {
  let a0 = tileA(m0, k);
  let a1 = tileA(m0 + 4u, k);
#if TALL
  let a2 = tileA(m0 + 8u, k);
  let a3 = tileA(m0 + 12u, k);
  let a4 = tileA(m0 + 16u, k);
  let a5 = tileA(m0 + 20u, k);
  let a6 = tileA(m0 + 24u, k);
  let a7 = tileA(m0 + 28u, k);
#endif
  let b0 = tileB(k, n0);
  let b1 = tileB(k, n0 + 4u);
  let b2 = tileB(k, n0 + 8u);
  let b3 = tileB(k, n0 + 12u);
  c00 += b0 * a0; c10 += b0 * a1;
  c01 += b1 * a0; c11 += b1 * a1;
  c02 += b2 * a0; c12 += b2 * a1;
  c03 += b3 * a0; c13 += b3 * a1;
#if TALL
  c20 += b0 * a2; c30 += b0 * a3; c40 += b0 * a4; c50 += b0 * a5; c60 += b0 * a6; c70 += b0 * a7;
  c21 += b1 * a2; c31 += b1 * a3; c41 += b1 * a4; c51 += b1 * a5; c61 += b1 * a6; c71 += b1 * a7;
  c22 += b2 * a2; c32 += b2 * a3; c42 += b2 * a4; c52 += b2 * a5; c62 += b2 * a6; c72 += b2 * a7;
  c23 += b3 * a2; c33 += b3 * a3; c43 += b3 * a4; c53 += b3 * a5; c63 += b3 * a6; c73 += b3 * a7;
#endif
}

const STORE_COLUMNS = BN;
#include matmul_columns

// Writes rows m..m+3, columns n0..n0+15 of C from one row of tiles (VC with SPLIT needs S a multiple of 4).
fn storeTiles(m: u32, n0: u32, t0: mat4x4f, t1: mat4x4f, t2: mat4x4f, t3: mat4x4f) {
  for (var r = 0u; r < 4u; r++) {
    let row = m + r;
    if (row >= u.M) { return; }
    let base = row * rowStride;
#if VC
    if (n0 < u.N) { c[(base + column[0]) / 4u] = t0[r]; }
    if (n0 + 4u < u.N) { c[(base + column[4]) / 4u] = t1[r]; }
    if (n0 + 8u < u.N) { c[(base + column[8]) / 4u] = t2[r]; }
    if (n0 + 12u < u.N) { c[(base + column[12]) / 4u] = t3[r]; }
#else
    for (var q = 0u; q < 4u; q++) {
      if (n0 + q < u.N) { c[base + column[q]] = t0[r][q]; }
      if (n0 + 4u + q < u.N) { c[base + column[4u + q]] = t1[r][q]; }
      if (n0 + 8u + q < u.N) { c[base + column[8u + q]] = t2[r][q]; }
      if (n0 + 12u + q < u.N) { c[base + column[12u + q]] = t3[r][q]; }
    }
#endif
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let block = gid.x + gid.y * nwg.x * WG;
  if (block >= u.blocks) { return; }
  let m0 = (block / u.colBlocks) * BM;
  let n0 = (block % u.colBlocks) * BN;
  for (var k = 0u; k < u.K; k += 4u) { step(m0, n0, k); }

  // Store the first row of tiles, then shift the rest up: the store code is compiled once instead of once per
  // row of tiles, which more than halves the (long) pipeline compile on llvmpipe.
  columnOffsets(n0, 0u);
  let rowTiles = (min(BM, u.M - m0) + 3u) / 4u;
  for (var i = 0u; i < rowTiles; i++) {
    storeTiles(m0 + 4u * i, n0, c00, c01, c02, c03);
    c00 = c10; c01 = c11; c02 = c12; c03 = c13;
#if TALL
    c10 = c20; c11 = c21; c12 = c22; c13 = c23;
    c20 = c30; c21 = c31; c22 = c32; c23 = c33;
    c30 = c40; c31 = c41; c32 = c42; c33 = c43;
    c40 = c50; c41 = c51; c42 = c52; c43 = c53;
    c50 = c60; c51 = c61; c52 = c62; c53 = c63;
    c60 = c70; c61 = c71; c62 = c72; c63 = c73;
#endif
  }
}
