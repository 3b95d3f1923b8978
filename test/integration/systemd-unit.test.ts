import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const UNIT = path.resolve(import.meta.dirname, '../../deploy/lectern.service');

// The packaged install's systemd unit (deploy/lectern.service, docs/install.md): it must pass
// systemd's own check without a single warning (a misspelt hardening key is only a warning to
// systemd, and the hardening it meant would silently be missing).
describe('the systemd unit', () => {
  it('passes systemd-analyze verify with no warnings', () => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.stderr.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('runs as its own user, hardened, with its state directory', () => {
    const unit = readFileSync(UNIT, 'utf8');
    const settings = new Map(
      unit
        .split('\n')
        .filter((l) => /^\w+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    expect(settings.get('User')).toBe('lectern');
    expect(settings.get('NoNewPrivileges')).toBe('yes');
    expect(settings.get('ProtectSystem')).toBe('strict');
    expect(settings.get('StateDirectory')).toBe('lectern');
    expect(settings.get('StateDirectoryMode')).toBe('0700');
    expect(settings.get('CapabilityBoundingSet')).toBe('');
    expect(settings.get('ExecStartPre')).toMatch(/ migrate$/);
  });
});
