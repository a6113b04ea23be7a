/**
 * DCAP collateral: the Intel-signed documents a quote is verified against (TCB info, QE
 * identity, the root CA and PCK CA CRLs, and their issuer chains), in the JSON shape
 * @phala/dcap-qvl takes (and `getCollateral` returns), and the dates that say how fresh it is.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ObscuraError } from '../../common/errors.ts';
import { type CrlInfo, parseCrl } from './crl.ts';

const bytesField = z.union([
  z.string().regex(/^([0-9a-fA-F]{2})*$/, 'expected hex'),
  z.array(z.number().int().min(0).max(255)),
]);

/** Collateral as @phala/dcap-qvl's `verify` takes it (byte fields as hex or byte arrays). */
export const CollateralSchema = z.object({
  pck_crl_issuer_chain: z.string().min(1),
  root_ca_crl: bytesField,
  pck_crl: bytesField,
  tcb_info_issuer_chain: z.string().min(1),
  /** The TCB info JSON, byte for byte as Intel signed it. */
  tcb_info: z.string().min(2),
  tcb_info_signature: bytesField,
  qe_identity_issuer_chain: z.string().min(1),
  /** The QE identity JSON, byte for byte as Intel signed it. */
  qe_identity: z.string().min(2),
  qe_identity_signature: bytesField,
  /** PCK chain fetched for quotes that carry an encrypted PPID instead (dcap-qvl's getCollateral). */
  pck_certificate_chain: z.string().nullable().optional(),
});
export type Collateral = z.infer<typeof CollateralSchema>;

const SignedDocSchema = z.looseObject({
  id: z.string(),
  version: z.number(),
  issueDate: z.iso.datetime({ offset: true }),
  nextUpdate: z.iso.datetime({ offset: true }),
});
const TcbInfoHeadSchema = SignedDocSchema.extend({ fmspc: z.string() });

/** Issue and expiry of one signed collateral document, in Unix seconds. */
export interface Dated {
  name: string;
  issued: number;
  /** Undefined only for a CRL without nextUpdate. */
  nextUpdate: number | undefined;
  /** Whether `max_collateral_age` bounds it (not the root CA CRL, which Intel reissues yearly). */
  ageBound: boolean;
}

/** What Obscura reads from collateral before verifying with it. */
export interface CollateralFacts {
  tcbInfo: { id: string; version: number; fmspc: string };
  qeIdentity: { id: string; version: number };
  rootCaCrl: CrlInfo;
  pckCrl: CrlInfo;
  /** Every dated document: TCB info, QE identity, PCK CRL, root CA CRL. */
  dated: Dated[];
}

/** Bytes of a collateral byte field (hex text or a byte array). */
export function collateralBytes(field: string | number[]): Buffer {
  return typeof field === 'string' ? Buffer.from(field, 'hex') : Buffer.from(field);
}

const seconds = (iso: string) => Date.parse(iso) / 1000;
const factsCache = new WeakMap<Collateral, { of: unknown[]; facts: CollateralFacts }>();

/** The fields facts are read from; a memo holds only while they are the very same values. */
export function memoFields(c: Collateral): unknown[] {
  return [c.tcb_info, c.qe_identity, c.root_ca_crl, c.pck_crl, c.pck_crl_issuer_chain];
}

/** Whether two field lists hold the same values (references, so strings compare in O(1) when unchanged). */
export function sameFields(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function parseDoc<T extends z.ZodType>(schema: T, json: string, what: string): z.infer<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ObscuraError('collateral_invalid', `${what} is not JSON`, 422);
  }
  const r = schema.safeParse(raw);
  if (!r.success)
    throw new ObscuraError(
      'collateral_invalid',
      `${what}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      422,
    );
  return r.data;
}

function crl(field: string | number[], what: string): CrlInfo {
  try {
    return parseCrl(collateralBytes(field));
  } catch (e) {
    throw new ObscuraError(
      'collateral_invalid',
      `${what}: ${e instanceof Error ? e.message : String(e)}`,
      422,
    );
  }
}

/** The facts of a collateral (memoised per object and contents); throws 'collateral_invalid' (422). */
export function collateralFacts(c: Collateral): CollateralFacts {
  const hit = factsCache.get(c);
  if (hit && sameFields(hit.of, memoFields(c))) return hit.facts;
  const tcb = parseDoc(TcbInfoHeadSchema, c.tcb_info, 'TCB info');
  const qe = parseDoc(SignedDocSchema, c.qe_identity, 'QE identity');
  const rootCaCrl = crl(c.root_ca_crl, 'root CA CRL');
  const pckCrl = crl(c.pck_crl, 'PCK CRL');
  const facts: CollateralFacts = {
    tcbInfo: { id: tcb.id, version: tcb.version, fmspc: tcb.fmspc.toLowerCase() },
    qeIdentity: { id: qe.id, version: qe.version },
    rootCaCrl,
    pckCrl,
    dated: [
      {
        name: 'TCBInfo',
        issued: seconds(tcb.issueDate),
        nextUpdate: seconds(tcb.nextUpdate),
        ageBound: true,
      },
      {
        name: 'QE Identity',
        issued: seconds(qe.issueDate),
        nextUpdate: seconds(qe.nextUpdate),
        ageBound: true,
      },
      { name: 'PCK CRL', issued: pckCrl.thisUpdate, nextUpdate: pckCrl.nextUpdate, ageBound: true },
      {
        name: 'Root CA CRL',
        issued: rootCaCrl.thisUpdate,
        nextUpdate: rootCaCrl.nextUpdate,
        ageBound: false,
      },
    ],
  };
  factsCache.set(c, { of: memoFields(c), facts });
  return facts;
}

/** The span in which every document of the collateral is valid (start > end: never). */
export function validityWindow(facts: CollateralFacts): { start: number; end: number } {
  const start = Math.max(...facts.dated.map((d) => d.issued));
  const end = Math.min(...facts.dated.map((d) => d.nextUpdate ?? Number.POSITIVE_INFINITY));
  return { start, end };
}

/** Parse collateral JSON (from a file or a cache); throws 'collateral_invalid' (422). */
export function parseCollateral(raw: unknown, source: string): Collateral {
  const r = CollateralSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new ObscuraError(
      'collateral_invalid',
      `${source}: ${first?.path.join('.') || '(root)'}: ${first?.message}`,
      422,
    );
  }
  collateralFacts(r.data); // fail early on unreadable documents
  return r.data;
}

/** Read a collateral JSON file (as `--collateral` takes it). */
export async function loadCollateralFile(path: string): Promise<Collateral> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ObscuraError('file_unreadable', `cannot read collateral file ${path}`, 400, undefined, {
      cause: e,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ObscuraError('collateral_invalid', `${path} is not JSON`, 422);
  }
  return parseCollateral(raw, path);
}
