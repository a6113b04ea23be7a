#!/usr/bin/env node
// The `obscura` command: runs the TypeScript sources through tsx's loader, so what runs is
// exactly the measured source tree (see src/enclave/measurement.ts).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
