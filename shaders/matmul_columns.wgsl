// Included by matmul and matmul_subgroup: where column n0 + q (q < STORE_COLUMNS, the columns one invocation
// stores) goes. C[row, j] is stored at rowStride·row + column[j − n0]; SPLIT reads C's columns as j = b·S + s and
// stores C[row, b·S + s] at [b, row, s], so a conv's [Cout, N·OH·OW] product lands in NCHW order with no
// separate transpose pass. `partial` offsets the whole output (split K). The offsets are computed once per
// invocation: integer division is slow on CPU backends. Needs u.M, u.N, u.S.
var<private> column: array<u32, STORE_COLUMNS>;
var<private> rowStride: u32;

fn columnOffsets(n0: u32, partial: u32) {
#if SPLIT
  rowStride = u.S;
  var b = n0 / u.S;
  var s = n0 - b * u.S;
  for (var q = 0u; q < STORE_COLUMNS; q++) {
    column[q] = partial + b * u.M * u.S + s;
    s++;
    if (s == u.S) { s = 0u; b++; }
  }
#else
  rowStride = u.N;
  for (var q = 0u; q < STORE_COLUMNS; q++) { column[q] = partial + n0 + q; }
#endif
}
