// login-limits.test.mjs - the login rate limits are server settings.
//
// `arca server --login-limit-ip BURST,PER_MINUTE` (ARCA_LOGIN_LIMIT_IP) and
// `--login-limit-account` (ARCA_LOGIN_LIMIT_ACCOUNT) set the token buckets of
// the login routes; the defaults (20,20 per address; 10,5 per account until a
// login succeeds) are unchanged.  A raised limit lets many real logins through
// and is still a limit; a bad value stops the server at start with exit 2.
// Each test starts its own server: the budgets are per server and per address.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';
import { ARCA_BIN, apiCall, assertApiError, bootstrapAndLogin, newCli, removeTempDirs, startServer,
    tempDir } from './harness.mjs';

const UA = '/api/v1/auth/universal-auth/login';
const servers = [];
after(async () => {
    for (const s of servers)
        await s.kill();
    await removeTempDirs();
});

async function server(opts) {
    const s = await startServer(opts);
    servers.push(s);
    return s;
}

/* r is refused with that status and error, in the JSON error shape. */
const refused = (r, status, error) => assertApiError(r, status, error, r.text);

const uaLogin = (s, clientId, clientSecret = 'f'.repeat(64)) =>
    apiCall(s, 'POST', UA, { body: { clientId, clientSecret } });

/* Sequential logins of unknown client ids (one account each: only the address
 * budget counts) until the first 429, at most max.  Returns {accepted, seconds,
 * denial}: how many got their 401 first, and the 429. */
async function untilRefused(s, max) {
    const started = Date.now();
    for (let i = 0; i < max; i++) {
        const r = await uaLogin(s, `unknown-client-${i}`);
        if (r.status === 429)
            return { accepted: i, seconds: (Date.now() - started) / 1000, denial: r };
        refused(r, 401, 'UnauthorizedError');
        assert.equal(r.json.message, 'invalid client credentials');
    }
    assert.fail(`no 429 within ${max} logins from one address`);
}

/* At least burst attempts pass, and no more than burst plus what the bucket
 * refilled meanwhile (per_minute a minute) plus one. */
function assertBudget({ accepted, seconds, denial }, burst, perMinute) {
    assert.ok(accepted >= burst, `${accepted} logins passed before the 429, expected ${burst}`);
    assert.ok(accepted <= burst + Math.ceil(seconds * perMinute / 60) + 1,
        `${accepted} logins passed in ${seconds} s with a burst of ${burst}`);
    refused(denial, 429, 'RateLimitError');
    assert.ok(Number(denial.headers.get('retry-after')) >= 1, 'Retry-After on a 429');
}

test('default: the 21st login from one address in a burst is refused with 429', async () => {
    const s = await server();
    assertBudget(await untilRefused(s, 40), 20, 20);
});

test('--login-limit-ip raised: many real universal-auth logins in a row all succeed', async () => {
    const s = await server({ args: ['--login-limit-ip', '1000,1000'] });
    const admin = await newCli(s);
    await bootstrapAndLogin(admin);
    const p = JSON.parse((await admin.arca(['projects', 'create', 'limits', '--format', 'json']))
        .stdout);
    const r = await admin.arca(['identities', 'create', 'bot', '--project-id', p.id, '--role',
        'member', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const { clientId, clientSecret } = JSON.parse(r.stdout);
    for (let i = 0; i < 60; i++) {
        const res = await uaLogin(s, clientId, clientSecret);
        assert.equal(res.status, 200, res.text);
        assert.equal(typeof res.json.accessToken, 'string');
    }
    /* a wrong secret is still refused, and still counted */
    refused(await uaLogin(s, clientId), 401, 'UnauthorizedError');
});

test('a raised limit is still a limit: ARCA_LOGIN_LIMIT_IP=30,1 refuses the 31st', async () => {
    const s = await server({ env: { ARCA_LOGIN_LIMIT_IP: '30,1' } });
    assertBudget(await untilRefused(s, 60), 30, 1);
});

test('the flag wins over the variable', async () => {
    const s = await server({ args: ['--login-limit-ip', '5,1'],
        env: { ARCA_LOGIN_LIMIT_IP: '1000,1000' } });
    assertBudget(await untilRefused(s, 20), 5, 1);
});

test('--login-limit-account: failed logins of one account, then 429', async () => {
    const s = await server({ args: ['--login-limit-account', '3,1'] });
    for (let i = 0; i < 3; i++)
        refused(await uaLogin(s, 'one-account'), 401, 'UnauthorizedError');
    refused(await uaLogin(s, 'one-account'), 429, 'RateLimitError');
    /* another account from the same address is not affected */
    refused(await uaLogin(s, 'another-account'), 401, 'UnauthorizedError');
});

test('a bad limit stops the server at start, exit 2, with the expected form', async () => {
    const dataDir = await tempDir('arca-limits-');
    const run = (args, env = {}) => new Promise((resolve) => execFile(ARCA_BIN, ['server',
        '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...args],
    { env: { PATH: process.env.PATH, ...env }, timeout: 30000 },
    (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stderr })));
    for (const v of ['0,5', '5,0', '5', '5,', ',5', 'a,b', '5,5x', '-1,5', '1000000001,1']) {
        const r = await run(['--login-limit-ip', v]);
        assert.equal(r.code, 2, `--login-limit-ip ${v}: ${r.stderr}`);
        assert.match(r.stderr, /--login-limit-ip \(or ARCA_LOGIN_LIMIT_IP\) must be BURST,PER_MINUTE/);
    }
    const r = await run([], { ARCA_LOGIN_LIMIT_ACCOUNT: '10' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /ARCA_LOGIN_LIMIT_ACCOUNT\) must be BURST,PER_MINUTE.*default 10,5/);
});
