#!/usr/bin/env -S node --max-old-space-size=256
// Entry point for `npx leadbridge`: runs the TypeScript CLI through tsx's loader. The heap cap keeps a long-running
// worker's memory near its live set (tens of MB); without it V8 lets garbage grow to hundreds of MB before collecting.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
