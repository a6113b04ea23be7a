export { parseResultDocument, verifyResultDocument, type ResultVerdict } from './verify.ts';
