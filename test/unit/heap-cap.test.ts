// Which command lines the CLI re-executes under a heap cap.
import { describe, expect, it } from 'vitest';
import { commandOf, needsHeapCap } from '../../src/cli/heap-cap.js';

describe('commandOf', () => {
  it('skips global options and their values', () => {
    expect(commandOf(['--config', 'sync', 'status'])).toBe('status');
    expect(commandOf(['--log-level', 'debug', '--log-format', 'json', 'run'])).toBe('run');
    expect(commandOf(['--config=x.yaml', 'retry', '--all-failed'])).toBe('retry');
    expect(commandOf(['--version'])).toBeUndefined();
  });
});

describe('needsHeapCap', () => {
  it('caps run, sync, resync and retry', () => {
    for (const command of ['run', 'sync', 'resync', 'retry'])
      expect(needsHeapCap([command], [], undefined)).toBe(true);
    expect(
      needsHeapCap(
        ['--config', 'c.yaml', 'sync', '--once'],
        ['--require', '/x/tsx/preflight.cjs'],
        '--enable-source-maps',
      ),
    ).toBe(true);
  });

  it('leaves simulate (it holds every record), the read-only commands and --help alone', () => {
    for (const args of [
      ['simulate'],
      ['status'],
      ['trace', 'id'],
      ['quarantine', 'list'],
      ['mappings', 'check'],
      ['config', 'check'],
      ['--help'],
      [],
    ]) {
      expect(needsHeapCap(args, [], undefined)).toBe(false);
    }
  });

  it('respects a heap size the user chose in NODE_OPTIONS or node flags', () => {
    expect(needsHeapCap(['run'], [], '--max-old-space-size=1024')).toBe(false);
    expect(needsHeapCap(['run'], [], '--trace-gc --max_old_space_size=512')).toBe(false);
    expect(needsHeapCap(['run'], ['--max-old-space-size=128'], undefined)).toBe(false);
  });
});
