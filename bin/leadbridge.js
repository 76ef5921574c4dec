#!/usr/bin/env node
// Entry point for `npx leadbridge`: runs the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
// The streaming commands re-execute under a heap cap; deciding before the CLI's imports keeps that
// parent light.
const { reexecWithHeapCap } = await import('../src/cli/heap-cap.ts');
const code = await reexecWithHeapCap();
if (code === null) await import('../src/cli.ts');
else process.exitCode = code;
