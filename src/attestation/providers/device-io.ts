/**
 * File access to TEE pseudo-filesystems (Linux configfs-tsm, Gramine's /dev/attestation)
 * and the mapping of their errno values to stable error codes. Pseudo-files exist already
 * and refuse creation and truncation, so writes open them write-only and nothing else.
 * The operations sit behind a small interface so tests can put a fake of the kernel's
 * behaviour in front of a directory of ordinary files.
 */
import { constants } from 'node:fs';
import { mkdir, open, readFile, rmdir } from 'node:fs/promises';
import { ObscuraError } from '../../common/errors.ts';

/** The file operations a provider performs on a TEE device; each throws Node's errno errors. */
export interface DeviceFs {
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  /** Write to an existing file, opened write-only: no create, no truncate. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
}

/** DeviceFs on the real filesystem. */
export const nodeDeviceFs: DeviceFs = {
  mkdir: async (path) => {
    await mkdir(path);
  },
  rmdir: (path) => rmdir(path),
  readFile: (path) => readFile(path),
  writeFile: async (path, data) => {
    const fh = await open(path, constants.O_WRONLY);
    try {
      let done = 0;
      while (done < data.length) done += (await fh.write(data, done, data.length - done)).bytesWritten;
    } finally {
      await fh.close();
    }
  },
};

/** The errno code of a Node filesystem error, if it has one. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A device failure as an ObscuraError: 'tee_device_missing' (the path does not exist),
 * 'tee_device_denied' (no permission) or 'tee_quote_failed' (anything else), each naming
 * the path, the step (`step`, e.g. "writing report data") and the errno code. `hint` is
 * appended when the path is missing.
 */
export function deviceError(e: unknown, path: string, step: string, hint = ''): ObscuraError {
  if (e instanceof ObscuraError) return e;
  const code = errnoCode(e) ?? 'unknown error';
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new ObscuraError(
      'tee_device_missing',
      `${path} does not exist (${step})${hint ? `; ${hint}` : ''}`,
      503,
      undefined,
      { cause: e },
    );
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new ObscuraError(
      'tee_device_denied',
      `permission denied on ${path} (${step}, ${code}); the worker needs read-write access to the TEE device`,
      503,
      undefined,
      { cause: e },
    );
  }
  return new ObscuraError('tee_quote_failed', `${step} failed on ${path} (${code})`, 502, undefined, {
    cause: e,
  });
}
