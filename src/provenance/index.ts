export { parseResultDocument } from './document.ts';
export { verifyResultDocument, type ResultVerdict } from './verify.ts';
