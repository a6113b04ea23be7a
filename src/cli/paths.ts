/** File naming conventions of the CLI. */

/** Path of the manifest written beside a sealed file. */
export function manifestPathFor(sealedPath: string): string {
  return `${sealedPath}.manifest.json`;
}
