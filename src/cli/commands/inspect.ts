/** `obscura inspect`: what a sealed file and its manifest say, without any key. */
import { existsSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { ObscuraError } from '../../common/errors.ts';
import { sha256Hex } from '../../common/hash.ts';
import { cryptoReady, inspectHeader } from '../../crypto/index.ts';
import { assertManifestSignature, parseSignedManifest } from '../../crypto/manifest.ts';
import { emit, type GlobalOptions } from '../output.ts';
import { manifestPathFor } from '../paths.ts';

async function head(file: string): Promise<Buffer> {
  const fh = await open(file, 'r').catch((e: unknown) => {
    throw new ObscuraError('file_unreadable', `cannot read ${file}`, 400, undefined, { cause: e });
  });
  try {
    const buf = Buffer.alloc(65536);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Register `inspect`. */
export function inspectCommand(program: Command): void {
  program
    .command('inspect')
    .argument('<file>', 'a sealed file')
    .option('--manifest <file>', 'the manifest (default: <file>.manifest.json if present)')
    .action(async (file: string, opts: { manifest?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const header = inspectHeader(await head(file));
      const size = (await stat(file)).size;
      const lines = [`${file}: age v1 file, ${size} bytes, header ${header.headerBytes} bytes`];
      lines.push(
        ...header.stanzas.map(
          (s) => `  stanza ${s.type}${s.type === 'X25519' ? ' (recipient hidden by design)' : ''}`,
        ),
      );
      const manifestPath = opts.manifest ?? manifestPathFor(file);
      let manifest: unknown;
      if (existsSync(manifestPath)) {
        await cryptoReady();
        const signed = parseSignedManifest(JSON.parse(await readFile(manifestPath, 'utf8')));
        let signatureOk = true;
        try {
          assertManifestSignature(signed);
        } catch {
          signatureOk = false;
        }
        const hashOk = sha256Hex(await readFile(file)) === signed.manifest.ciphertext.sha256;
        const m = signed.manifest;
        manifest = { ...m, signatureValid: signatureOk, ciphertextMatches: hashOk };
        lines.push(
          `manifest ${manifestPath}`,
          `  name ${m.name}, ${m.format}, ${m.rows} rows, columns ${m.schema.map((c) => `${c.name}:${c.type}`).join(', ')}`,
          `  owner ${m.owner} (signature ${signatureOk ? 'valid' : 'INVALID'})`,
          `  sealed to ${m.worker.id} ${m.worker.recipient}`,
          `  ciphertext sha256 ${m.ciphertext.sha256} (${hashOk ? 'matches the file' : 'DOES NOT match the file'})`,
          `  analysts ${m.analysts.join(', ')}`,
          `  measurements ${m.measurements.join(', ')}`,
        );
      }
      emit(g, { file, bytes: size, header, manifest }, lines.join('\n'));
    });
}
