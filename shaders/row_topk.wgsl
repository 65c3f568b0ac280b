// The K smallest d_ij = rowTerm_i + colTerm_j − 2·dots_ij of each row i of a block of columns, merged into the
// K best kept from earlier blocks (best/bestIndex, ascending; `first` starts them afresh). With rowTerm = ‖a_i‖²
// and colTerm = ‖b_j‖², d is the squared distance expanded around a matrix product dots = A·Bᵀ, which the
// matmul kernel computes; colTerm may also fold in a per-column offset. Indices are global: colOffset + j.
// excludeSelf skips the column whose global index equals the row's (rowOffset + i). One invocation per row.
struct Params { rows: u32, cols: u32, colOffset: u32, rowOffset: u32, first: u32, excludeSelf: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> dots: array<f32>;
@group(0) @binding(2) var<storage, read> rowTerm: array<f32>;
@group(0) @binding(3) var<storage, read> colTerm: array<f32>;
@group(0) @binding(4) var<storage, read_write> best: array<f32>;
@group(0) @binding(5) var<storage, read_write> bestIndex: array<u32>;

const K = ${K}u;
const NONE = 0xffffffffu;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= u.rows) { return; }
  var value: array<f32, K>;
  var index: array<u32, K>;
  for (var s = 0u; s < K; s++) {
    value[s] = select(best[i * K + s], 3.4028234e38, u.first != 0u);
    index[s] = select(bestIndex[i * K + s], NONE, u.first != 0u);
  }
  let own = i + u.rowOffset;
  let r = rowTerm[i];
  for (var j = 0u; j < u.cols; j++) {
    let d = r + colTerm[j] - 2.0 * dots[i * u.cols + j];
    let global = j + u.colOffset;
    if (!(d < value[K - 1u]) || (u.excludeSelf != 0u && global == own)) { continue; }
    var p = K - 1u;
    while (p > 0u && value[p - 1u] > d) {
      value[p] = value[p - 1u];
      index[p] = index[p - 1u];
      p--;
    }
    value[p] = d;
    index[p] = global;
  }
  for (var s = 0u; s < K; s++) {
    best[i * K + s] = value[s];
    bestIndex[i * K + s] = index[s];
  }
}
