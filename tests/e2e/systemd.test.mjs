// systemd.test.mjs - the systemd unit shipped in deploy/systemd/arca.service.
//
// `systemd-analyze security --offline=true` scores its sandbox at 2.0 or less
// ("OK"; an unhardened unit scores 9.6), `systemd-analyze verify` finds no
// unknown or misspelt setting (on a copy whose ExecStart is the built binary),
// and it keeps what operations rely on: after a local PostgreSQL, restarted
// with a delay and a start limit, files private to the service user, no
// capabilities, and the key kept out of the unit (an environment file).
// docs/deploy.md points to the file.  This container has no systemd running,
// so the unit is checked, not started.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

import { ARCA_BIN, REPO_ROOT, removeTempDirs, tempDir } from './harness.mjs';

const run = promisify(execFile);
const UNIT = path.join(REPO_ROOT, 'deploy', 'systemd', 'arca.service');

after(removeTempDirs);

/* The unit's settings: {key: [values]} of one section. */
function section(text, name) {
    const out = {};
    let cur = null;
    for (const raw of text.split('\n')) {
        const line = raw.trim();
        if (line.startsWith('['))
            cur = line;
        else if (cur === `[${name}]` && line && !line.startsWith('#')) {
            const i = line.indexOf('=');
            (out[line.slice(0, i)] ??= []).push(line.slice(i + 1));
        }
    }
    return out;
}

test('systemd-analyze security scores the unit 2.0 or less', async () => {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT],
        { cwd: await tempDir() });
    const m = stdout.match(/Overall exposure level for arca\.service: ([0-9.]+)/);
    assert.ok(m, stdout);
    assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]}:\n${stdout.split('\n').filter((l) => l.includes('✗')).join('\n')}`);
});

test('systemd-analyze verify accepts every setting', async () => {
    const dir = await tempDir();
    const unit = path.join(dir, 'arca.service');
    await writeFile(unit, (await readFile(UNIT, 'utf8')).replaceAll('/usr/bin/arca', ARCA_BIN));
    const r = await run('systemd-analyze', ['verify', unit], { cwd: dir }).catch((e) => e);
    assert.equal(r.code ?? 0, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warning');
});

test('the unit keeps start-up order, restarts, private files and no capabilities', async () => {
    const text = await readFile(UNIT, 'utf8');
    const unit = section(text, 'Unit');
    const svc = section(text, 'Service');
    assert.match(unit.After.join(' '), /postgresql\.service/);
    assert.match(unit.Wants.join(' '), /postgresql\.service/);
    assert.match(unit.After.join(' '), /network-online\.target/);
    assert.ok(Number(unit.StartLimitBurst) > 0 && Number(unit.StartLimitIntervalSec) > 0);
    assert.deepEqual(svc.Restart, ['on-failure']);
    assert.ok(Number(svc.RestartSec) > 0);
    assert.deepEqual(svc.UMask, ['0077']);
    assert.deepEqual(svc.CapabilityBoundingSet, ['']);
    assert.deepEqual(svc.RestrictAddressFamilies, ['AF_UNIX AF_INET AF_INET6']);
    assert.ok(svc.SystemCallFilter.includes('@system-service'));
    for (const k of ['PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs',
        'RestrictNamespaces', 'MemoryDenyWriteExecute', 'NoNewPrivileges'])
        assert.deepEqual(svc[k], ['yes'], k);
    assert.ok(svc.EnvironmentFile, 'settings and the key come from an environment file');
    assert.doesNotMatch(text, /ARCA_ENCRYPTION_KEY=/, 'never a key in the unit');
    assert.match(text, /SupplementaryGroups=ssl-cert/, "docs/tls.md's ssl-cert layout is explained");
    const deploy = await readFile(path.join(REPO_ROOT, 'docs', 'deploy.md'), 'utf8');
    assert.match(deploy, /deploy\/systemd\/arca\.service/, 'docs/deploy.md points to the file');
});
