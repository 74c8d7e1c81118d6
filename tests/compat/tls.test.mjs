// tls.test.mjs - Infisical's sdk5 (@infisical/sdk 5.0.2) against an arca server
// that serves HTTPS with a private CA.  The SDK runs in a child Node process,
// as a user's program would, trusting the CA through NODE_EXTRA_CA_CERTS (the
// way a Node program trusts a private CA); without it the SDK's login fails.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import {
    bootstrapAndLogin, CHILD_TIMEOUT_MS, makeTlsFiles, newCli, NODE, REPO_ROOT, removeTempDirs,
    startServer, tempDir,
} from '../e2e/harness.mjs';

const T = { timeout: 180000 };
const run = promisify(execFile);

/* Logs in with universal auth and prints the prod secrets as {KEY: value}. */
const PROGRAM = `
import { InfisicalSDK } from 'sdk5';
const sdk = new InfisicalSDK({ siteUrl: process.env.INFISICAL_URL });
await sdk.auth().universalAuth.login({ clientId: process.env.INFISICAL_CLIENT_ID,
    clientSecret: process.env.INFISICAL_CLIENT_SECRET });
const list = await sdk.secrets().listSecrets({ environment: 'prod',
    projectId: process.env.INFISICAL_PROJECT_ID });
console.log(JSON.stringify(Object.fromEntries(list.secrets.map((s) => [s.secretKey, s.secretValue]))));
`;

let srv;
let tls;
let env; /* the program's environment, without the CA */

before(async () => {
    tls = await makeTlsFiles(await tempDir('arca-tls-'));
    srv = await startServer({ tls });
    const admin = await newCli(srv);
    await bootstrapAndLogin(admin);
    const ok = async (args) => {
        const r = await admin.arca([...args, '--format', 'json']);
        assert.equal(r.code, 0, `arca ${args.join(' ')}: ${r.stderr}`);
        return JSON.parse(r.stdout);
    };
    const p = await ok(['projects', 'create', 'tls-shop', '--server-access']);
    await ok(['secrets', 'set', 'API_KEY=sk_over_tls', '--env', 'prod', '--project-id', p.id]);
    const id = await ok(['identities', 'create', 'tls-bot', '--project-id', p.id, '--role', 'member']);
    env = { PATH: process.env.PATH, INFISICAL_URL: srv.url, INFISICAL_CLIENT_ID: id.clientId,
        INFISICAL_CLIENT_SECRET: id.clientSecret, INFISICAL_PROJECT_ID: p.id };
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

/* Runs PROGRAM in tests/compat (where 'sdk5' resolves): {code, stdout, stderr}. */
async function sdkProgram(extraEnv) {
    return run(NODE, ['--input-type=module', '-e', PROGRAM],
        { cwd: path.join(REPO_ROOT, 'tests', 'compat'), env: { ...env, ...extraEnv },
            timeout: CHILD_TIMEOUT_MS })
        .then((r) => ({ code: 0, ...r }), (e) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
}

test('sdk5 over https trusting the CA with NODE_EXTRA_CA_CERTS reads the secrets', T, async () => {
    const r = await sdkProgram({ NODE_EXTRA_CA_CERTS: tls.ca });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { API_KEY: 'sk_over_tls' });
});

test('sdk5 over https without the CA fails and reads nothing', T, async () => {
    const r = await sdkProgram({});
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /InfisicalSDKError: fetch failed/, 'the login request itself fails');
    assert.doesNotMatch(r.stderr, /sk_over_tls/);
});
