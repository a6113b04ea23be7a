/**
 * The hardware's view of an enclave (registers read from a quote it makes of itself), and
 * the rule for the measurement a worker goes by — the one its state is sealed to, that its
 * results carry and that owners list in their manifests:
 *   - SGX under Gramine: MRENCLAVE. It covers the Gramine manifest and, through the
 *     manifest's trusted files, Obscura's code; it is what the hardware itself vouches for.
 *   - TDX (configfs-tsm or dstack): the code measurement (src/contracts/measurement.ts). MRTD
 *     measures only the TD's firmware, the same for every TD booted from it; the RTMRs
 *     measure the boot chain and, under dstack, the app compose; none is a 32-byte identity
 *     of Obscura's code. The code measurement of such a worker is only as trustworthy as the
 *     measured TD image that runs it, so MRTD and RTMR0-3 are reported beside it
 *     (`hardware`) for attestation policies to pin.
 *   - simulated: the code measurement.
 */
import { z } from 'zod';

const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes} bytes of lower-case hex`);

/** Registers of an enclave as its own quote states them. */
export const HardwareIdentitySchema = z.discriminatedUnion('tee', [
  z.object({
    tee: z.literal('tdx'),
    mrtd: hex(48),
    rtmr0: hex(48),
    rtmr1: hex(48),
    rtmr2: hex(48),
    rtmr3: hex(48),
  }),
  z.object({ tee: z.literal('sgx'), mrenclave: hex(32), mrsigner: hex(32) }),
]);
export type HardwareIdentity = z.infer<typeof HardwareIdentitySchema>;

/** Where a worker's measurement comes from: the hardware (SGX MRENCLAVE) or the hash of its code. */
export const MeasurementSourceSchema = z.enum(['hardware', 'code']);
export type MeasurementSource = z.infer<typeof MeasurementSourceSchema>;

/** The measurement a worker goes by, given its hardware registers (if any) and its code measurement. */
export function enclaveMeasurement(
  hardware: HardwareIdentity | undefined,
  codeMeasurement: string,
): { measurement: string; source: MeasurementSource } {
  if (hardware?.tee === 'sgx') return { measurement: hardware.mrenclave, source: 'hardware' };
  return { measurement: codeMeasurement, source: 'code' };
}
