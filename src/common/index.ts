export { ObscuraError, isObscuraError, errorMessage, type HttpStatus } from './errors.ts';
export { sha256Hex, canonicalJson, hashJson } from './hash.ts';
export { parseOrThrow } from './validate.ts';
