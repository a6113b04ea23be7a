/**
 * The attestation policy (docs/policies.md, "Attestation policy"): which TEE kinds,
 * measurements, TCB statuses and collateral ages an owner accepts, and whether simulated
 * evidence is allowed. Written by hand in YAML; embedded in dataset policies under
 * `attestation`. Unknown keys are refused (a misspelt limit must not be silently dropped).
 * This file parses it and decides the policy-bound checks of a verdict.
 */
import { z } from 'zod';
import { ObscuraError } from '../common/errors.ts';
import { parseDocumentValue, parseYamlText, readDocumentFile } from '../common/yaml-document.ts';

// The normalised value is piped into a plain schema so that JSON Schema (the OpenAPI
// document) can say what the output is: a transform alone reads as `unknown` there.
const hexField = (bytes: number, name: string) =>
  z
    .string()
    .regex(
      new RegExp(`^(0x)?[0-9a-fA-F]{${bytes * 2}}$`),
      `${name} must be ${bytes} bytes of hex (${bytes * 2} digits)`,
    )
    .transform((s) => s.replace(/^0x/, '').toLowerCase())
    .pipe(z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`)));

/** Intel's TCB status names a policy may accept (`Revoked` never can be). */
export const TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
] as const;
const TcbStatusSchema = z.enum(TCB_STATUSES, { error: `expected one of ${TCB_STATUSES.join(', ')}` });

const TdxEntrySchema = z.strictObject({
  mrtd: hexField(48, 'mrtd'),
  rtmr0: hexField(48, 'rtmr0').optional(),
  rtmr1: hexField(48, 'rtmr1').optional(),
  rtmr2: hexField(48, 'rtmr2').optional(),
  rtmr3: hexField(48, 'rtmr3').optional(),
});
const SgxEntrySchema = z
  .strictObject({
    mrenclave: hexField(32, 'mrenclave').optional(),
    mrsigner: hexField(32, 'mrsigner').optional(),
  })
  .refine(
    (e) => e.mrenclave !== undefined || e.mrsigner !== undefined,
    'an sgx entry names mrenclave, mrsigner or both',
  );
const SimulatedEntrySchema = z.strictObject({ measurement: hexField(32, 'measurement') });

/** One accepted enclave: every field it names must match. */
export const MeasurementEntrySchema = z
  .strictObject({
    tdx: TdxEntrySchema.optional(),
    sgx: SgxEntrySchema.optional(),
    simulated: SimulatedEntrySchema.optional(),
  })
  .refine(
    (e) => [e.tdx, e.sgx, e.simulated].filter((x) => x !== undefined).length === 1,
    'an entry names exactly one of tdx, sgx, simulated',
  );
export type MeasurementEntry = z.infer<typeof MeasurementEntrySchema>;

const DURATION = /^([1-9]\d*)(s|m|h|d|w)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;

/** Seconds in a duration like `30d`, `12h`, `90m`, `45s`, `2w`. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text);
  if (!m)
    throw new ObscuraError('duration_invalid', `not a duration: ${text} (expected e.g. 30d, 12h, 90m)`, 400);
  return Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
}

/** An attestation policy document (version 1 of policies.md). */
export const AttestationPolicySchema = z
  .strictObject({
    tee: z
      .array(z.enum(['tdx', 'sgx', 'simulated']))
      .min(1, 'accept at least one TEE kind')
      .default(['tdx', 'sgx']),
    measurements: z.array(MeasurementEntrySchema).default([]),
    tcb: z.array(TcbStatusSchema).min(1, 'accept at least one TCB status').default(['UpToDate']),
    max_collateral_age: z.string().regex(DURATION, 'expected a duration such as 30d, 12h or 90m').optional(),
    allow_simulated: z.boolean().default(false),
  })
  .refine((p) => !p.tee.includes('simulated') || p.allow_simulated, {
    message: '`simulated` is accepted only with allow_simulated: true',
    path: ['tee'],
  });
export type AttestationPolicy = z.infer<typeof AttestationPolicySchema>;

/** The policy of a document that says nothing: TDX or SGX, UpToDate only, no enclave accepted. */
export const DEFAULT_POLICY: AttestationPolicy = AttestationPolicySchema.parse({});

const KIND = { code: 'policy_invalid', what: 'policy' };

/** Validate a parsed policy value; throws 'policy_invalid' (400) naming each bad path. */
export function parsePolicyValue(value: unknown, source = 'policy'): AttestationPolicy {
  return parseDocumentValue(AttestationPolicySchema, value ?? {}, KIND, source);
}

/** Parse a policy from YAML (or JSON) text. */
export function parsePolicy(text: string, source = 'policy'): AttestationPolicy {
  return parsePolicyValue(parseYamlText(text, KIND, source), source);
}

/** Read and parse a policy file. */
export async function loadPolicy(path: string): Promise<AttestationPolicy> {
  return parsePolicy(await readDocumentFile(path, KIND), path);
}

/** The registers a verdict measured, by TEE kind (hex, lower case). */
export type MeasuredEnclave =
  | { tee: 'tdx'; mrtd: string; rtmr0: string; rtmr1: string; rtmr2: string; rtmr3: string }
  | { tee: 'sgx'; mrenclave: string; mrsigner: string }
  | { tee: 'simulated'; measurement: string };

/** Which policy entry accepts `m`, or why none does. */
export function matchMeasurement(
  policy: AttestationPolicy,
  m: MeasuredEnclave,
): { ok: true; entry: number } | { ok: false; reason: string } {
  const candidates = policy.measurements
    .map((e, i) => ({ i, fields: e[m.tee] as Record<string, string | undefined> | undefined }))
    .filter((c) => c.fields);
  if (policy.measurements.length === 0)
    return { ok: false, reason: 'the policy lists no accepted measurements, so it accepts no enclave' };
  if (candidates.length === 0) return { ok: false, reason: `the policy lists no ${m.tee} measurements` };
  const misses: string[] = [];
  for (const c of candidates) {
    const differing = Object.entries(c.fields ?? {})
      .filter(([k, v]) => v !== undefined && (m as Record<string, string>)[k] !== v)
      .map(([k]) => k);
    if (differing.length === 0) return { ok: true, entry: c.i + 1 };
    misses.push(`entry ${c.i + 1}: ${differing.join(', ')} differ${differing.length === 1 ? 's' : ''}`);
  }
  return { ok: false, reason: `matches none of the policy's ${m.tee} entries (${misses.join('; ')})` };
}

/** Whether the policy accepts a TEE kind (simulated also needs allow_simulated or an override). */
export function acceptsTee(
  policy: AttestationPolicy,
  tee: 'tdx' | 'sgx' | 'simulated',
  allowSimulated = false,
): boolean {
  if (tee === 'simulated') return policy.allow_simulated || allowSimulated;
  return policy.tee.includes(tee);
}

/** Whether the policy accepts a TCB status. */
export function acceptsTcb(policy: AttestationPolicy, status: string): boolean {
  return (policy.tcb as readonly string[]).includes(status);
}

/** The policy's collateral age limit in seconds, if any. */
export function maxCollateralAge(policy: AttestationPolicy): number | undefined {
  return policy.max_collateral_age === undefined ? undefined : parseDuration(policy.max_collateral_age);
}
