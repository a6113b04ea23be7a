/**
 * The small dense linear algebra of the exact solvers (exact.ts), on typed arrays: a
 * weighted Gram matrix of rows with an intercept, from the rows' columns, and a Cholesky
 * solve that drops linearly dependent columns. Dropping is
 * what least squares needs: one-hot columns over a whole vocabulary sum to the intercept, and
 * a constant feature standardises to a column of zeros. A dropped column gets coefficient 0
 * and the fit over the others is exact, so the predictions equal the minimum-norm
 * least-squares ones (the coefficients differ only in how the dependent part is split).
 */

/** Σ a_i·b_i over the first n entries. */
export function dot(a: Float64Array, b: Float32Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Σ a[i]·b[from + i] for i < n: a block's dot product, in four independent sums (they pipeline). */
function blockDot(a: Float64Array, b: Float32Array, from: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += (a[i] as number) * (b[from + i] as number);
    s1 += (a[i + 1] as number) * (b[from + i + 1] as number);
    s2 += (a[i + 2] as number) * (b[from + i + 2] as number);
    s3 += (a[i + 3] as number) * (b[from + i + 3] as number);
  }
  for (; i < n; i++) s0 += (a[i] as number) * (b[from + i] as number);
  return s0 + s1 + s2 + s3;
}

/** Rows per block of weightedGram: a block of every column stays in the CPU's cache. */
const BLOCK = 2048;

/**
 * The Gram matrix Σ_i w_i z_i z_iᵀ of rows z_i = [1, c_0[i], …, c_{p−1}[i]] given column by
 * column (`cols`, n values each; all weights 1 when `w` is absent), as a (p + 1)² row-major
 * matrix of which the upper triangle is filled. Rows go in blocks small enough that every
 * column's block stays in cache while all its products are summed: column by column over
 * all rows, the same sums read each column p times from memory and ran several times
 * slower (measured). `checkpoint` runs every 64 blocks, so a job's guard can stop a pass.
 */
export async function weightedGram(
  cols: readonly Float32Array[],
  n: number,
  w: Float64Array | undefined,
  checkpoint?: () => Promise<void>,
): Promise<Float64Array> {
  const p = cols.length;
  const q = p + 1;
  const gram = new Float64Array(q * q);
  const tmp = new Float64Array(BLOCK);
  for (let from = 0, b = 0; from < n; from += BLOCK, b++) {
    if (b % 64 === 0) await checkpoint?.();
    const len = Math.min(BLOCK, n - from);
    let s = 0;
    if (w) for (let i = 0; i < len; i++) s += w[from + i] as number;
    else s = len;
    gram[0] = (gram[0] as number) + s;
    for (let j = 0; j < p; j++) {
      const c = cols[j] as Float32Array;
      if (w) for (let i = 0; i < len; i++) tmp[i] = (w[from + i] as number) * (c[from + i] as number);
      else for (let i = 0; i < len; i++) tmp[i] = c[from + i] as number;
      let t = 0;
      for (let i = 0; i < len; i++) t += tmp[i] as number;
      gram[j + 1] = (gram[j + 1] as number) + t;
      const row = (j + 1) * q + 1;
      for (let k = j; k < p; k++)
        gram[row + k] = (gram[row + k] as number) + blockDot(tmp, cols[k] as Float32Array, from, len);
    }
  }
  return gram;
}

/** [Σ r_i, Σ r_i·c_0[i], …]: the gradient-like vector Zᵀr of rows given by columns. */
export function transposeTimes(cols: readonly Float32Array[], n: number, r: Float64Array): Float64Array {
  const out = new Float64Array(cols.length + 1);
  let s = 0;
  for (let i = 0; i < n; i++) s += r[i] as number;
  out[0] = s;
  cols.forEach((c, j) => {
    out[j + 1] = dot(r, c, n);
  });
  return out;
}

/** out_i = beta_0 + Σ_j beta_{j+1}·c_j[i]: the linear predictor of rows given by columns. */
export function linearPredictor(
  cols: readonly Float32Array[],
  n: number,
  beta: Float64Array,
  out: Float64Array,
): Float64Array {
  out.fill(beta[0] as number, 0, n);
  cols.forEach((c, j) => {
    const b = beta[j + 1] as number;
    if (b === 0) return;
    for (let i = 0; i < n; i++) out[i] = (out[i] as number) + b * (c[i] as number);
  });
  return out;
}

/**
 * Solve A x = b for a symmetric positive semi-definite q × q matrix A (row-major; only its
 * upper triangle is read) by Cholesky, in order, dropping each column whose pivot is not
 * above `tol` times its diagonal (it depends linearly on the columns before it): its x is
 * 0. Returns x and how many columns were dropped; a non-finite A or b gives NaN in x.
 */
export function solveDropping(
  a: Float64Array,
  b: Float64Array,
  q: number,
  tol = 1e-10,
): { x: Float64Array; dropped: number } {
  const l = new Float64Array(q * q);
  const kept = new Uint8Array(q);
  let dropped = 0;
  for (let j = 0; j < q; j++) {
    const ajj = a[j * q + j] as number;
    let d = ajj;
    for (let k = 0; k < j; k++) d -= (l[j * q + k] as number) ** 2;
    if (!(ajj > 0) || !(d > tol * ajj)) {
      dropped++;
      continue;
    }
    kept[j] = 1;
    const ljj = Math.sqrt(d);
    l[j * q + j] = ljj;
    for (let i = j + 1; i < q; i++) {
      let s = a[j * q + i] as number;
      for (let k = 0; k < j; k++) s -= (l[i * q + k] as number) * (l[j * q + k] as number);
      l[i * q + j] = s / ljj;
    }
  }
  const y = new Float64Array(q);
  for (let j = 0; j < q; j++) {
    if (!kept[j]) continue;
    let s = b[j] as number;
    for (let k = 0; k < j; k++) s -= (l[j * q + k] as number) * (y[k] as number);
    y[j] = s / (l[j * q + j] as number);
  }
  const x = new Float64Array(q);
  for (let j = q - 1; j >= 0; j--) {
    if (!kept[j]) continue;
    let s = y[j] as number;
    for (let k = j + 1; k < q; k++) s -= (l[k * q + j] as number) * (x[k] as number);
    x[j] = s / (l[j * q + j] as number);
  }
  return { x, dropped };
}
