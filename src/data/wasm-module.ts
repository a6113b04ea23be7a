/**
 * A one-function WebAssembly module with one exported memory, assembled from its code's
 * bytes: for the few copy loops of the DuckDB hand-over (dictionary-expand.ts,
 * string-forms.ts) that JavaScript's typed arrays run several times slower. Each caller
 * gives its module's text (the WebAssembly text format) beside its bytes.
 */

/** The WebAssembly API as used here (the project's TypeScript libraries do not declare it). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

/** An instance's memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

/** Bytes of a memory page. */
export const WASM_PAGE = 65536;

/** Unsigned LEB128, as the binary format writes sizes and offsets. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

const name = (s: string): number[] => [s.length, ...Buffer.from(s, 'ascii')];

/** What a module is: its function's name, i32 parameters and results, and body (locals and code). */
export interface WasmFunction {
  name: string;
  params: number;
  results: number;
  /** The function body after its size: the locals' declaration, then the code, `end` included. */
  body: number[];
}

const compiled = new Map<string, object>();

/**
 * A new instance of the module of `fn` (compiled once per name) and its memory, of at
 * least `bytes`; the function takes and returns 32-bit integers.
 */
export function wasmInstance<F>(fn: WasmFunction, bytes: number): { run: F; memory: WasmMemory } {
  let module = compiled.get(fn.name);
  if (!module) {
    const i32 = 0x7f;
    const type = [0x60, fn.params, ...Array(fn.params).fill(i32), fn.results, ...Array(fn.results).fill(i32)];
    module = new wasm.Module(
      Uint8Array.from([
        ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
        ...section(1, [1, ...type]),
        ...section(3, [1, 0]),
        ...section(5, [1, 0, 1]),
        ...section(7, [2, ...name('memory'), 2, 0, ...name(fn.name), 0, 0]),
        ...section(10, [1, ...leb(fn.body.length), ...fn.body]),
      ]),
    );
    compiled.set(fn.name, module);
  }
  const instance = new wasm.Instance(module);
  const memory = instance.exports.memory as WasmMemory;
  if (bytes > memory.buffer.byteLength)
    memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / WASM_PAGE));
  return { run: instance.exports[fn.name] as F, memory };
}
