// Shapes: row-major extents of an array, shared by every layer.
export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}
