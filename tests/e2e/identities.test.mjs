// identities.test.mjs - machine identities beyond the first login: trusted
// address ranges, an access token's number of uses, renewing and revoking
// tokens over HTTP, further client secrets (made with the CLI by an admin, with a
// new key pair; never by the identity itself), a client secret's number of uses, and the audit
// records of identity logins, which never hold a client secret or a token.
//
// Two servers of their own, so that the logins of one test file stay well
// inside the per-address login rate limit.  The HTTP logins derive the auth key
// from the client secret as the client does: BLAKE2b-512 with the personal
// string "arca-secret-kdf" over the secret's hex text, first 32 bytes (the same
// construction tests/e2e/seal_vectors.test.mjs checks against known answers).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { blake2b } from '@noble/hashes/blake2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

import {
    apiCall, assertApiError, assertErrorOutput, bootstrapAndLogin, createProject, newCli,
    readCredentialMatching, removeTempDirs, startServer, waitFor,
} from './harness.mjs';

const T = { timeout: 300000 };
const V1 = '/api/arca/v1';
const PERSONAL_SECRET = concatBytes(utf8ToBytes('arca-secret-kdf'), new Uint8Array([0]));

let a; /* {srv, owner}: trusted IPs, access tokens */
let b; /* {srv, owner}: client secrets, audit */
const seen = {}; /* every client secret and access token handed out on server b */

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

async function setup() {
    const srv = await startServer();
    const owner = await newCli(srv);
    await bootstrapAndLogin(owner);
    return { srv, owner };
}

/* `arca identities create NAME ... --format json`: {identityId, clientId, clientSecret, ...}. */
async function createIdentity(s, name, extra = []) {
    const r = await ok(s.owner, ['identities', 'create', name, ...extra, '--format', 'json']);
    const j = JSON.parse(r.stdout);
    assert.match(j.clientSecret, /^[0-9a-f]{64}$/);
    return j;
}

function authKey(clientSecret) {
    const out = blake2b(utf8ToBytes(clientSecret.toLowerCase()), { dkLen: 64,
        personalization: PERSONAL_SECRET });
    return Buffer.from(out.subarray(0, 32)).toString('base64');
}

/* POST /auth/identity/login with the auth key of clientSecret. */
function login(srv, clientId, clientSecret) {
    return apiCall(srv, 'POST', `${V1}/auth/identity/login`,
        { body: { clientId, authKey: authKey(clientSecret) } });
}

async function loginOk(srv, ident, secret = ident.clientSecret) {
    const r = await login(srv, ident.clientId, secret);
    assert.equal(r.status, 200, `identity login: ${r.text}`);
    assert.match(r.json.accessToken, /^arca_i_/);
    assert.equal(r.json.tokenType, 'Bearer');
    return r.json;
}

/* An authenticated request any identity may make. */
function authed(srv, token) {
    return apiCall(srv, 'GET', `${V1}/identities`, { token });
}

const renew = (srv, accessToken) => apiCall(srv, 'POST', `${V1}/auth/token/renew`,
    { body: { accessToken } });

/* `arca login --method=universal-auth` in a fresh CLI context. */
async function cliLogin(srv, ident, secret = ident.clientSecret) {
    const c = await newCli(srv);
    const r = await c.arca(['login', '--method=universal-auth', '--client-id', ident.clientId,
        '--client-secret', secret]);
    return { c, r };
}

before(async () => {
    [a, b] = await Promise.all([setup(), setup()]);
});

after(async () => {
    for (const s of [a, b])
        if (s)
            await s.srv.stop();
    await removeTempDirs();
});

test('trusted IPs: an identity trusted only from 10.0.0.0/8 cannot log in from 127.0.0.1', T, async () => {
    const far = await createIdentity(a, 'far-bot', ['--trusted-ips', '10.0.0.0/8']);
    const r = await login(a.srv, far.clientId, far.clientSecret);
    const body = assertApiError(r, 403, 'PermissionDenied', r.text);
    assert.ok(!body.message.includes(far.clientSecret));
    assert.equal(r.json.accessToken, undefined);
    const { r: cr } = await cliLogin(a.srv, far);
    assertErrorOutput(cr, 3);
    assert.ok(!cr.stderr.includes(far.clientSecret), 'the error never repeats the secret');

    const near = await createIdentity(a, 'near-bot', ['--trusted-ips', '127.0.0.0/8']);
    const t = await loginOk(a.srv, near);
    assert.equal((await authed(a.srv, t.accessToken)).status, 200);
});

test('an access token with --access-token-num-uses-limit 2 serves two requests, then 401', T, async () => {
    const ident = await createIdentity(a, 'twice-bot', ['--access-token-num-uses-limit', '2']);
    const l = await ok(a.owner, ['identities', 'list', '--format', 'json']);
    const listed = JSON.parse(l.stdout).find((i) => i.id === ident.identityId);
    assert.equal(listed?.accessTokenNumUsesLimit, 2, l.stdout);

    const t = await loginOk(a.srv, ident);
    assert.equal((await authed(a.srv, t.accessToken)).status, 200, 'first use');
    assert.equal((await authed(a.srv, t.accessToken)).status, 200, 'second use');
    const third = await authed(a.srv, t.accessToken);
    assertApiError(third, 401, 'UnauthorizedError', third.text);

    const bad = await a.owner.arca(['identities', 'create', 'bad-bot',
        '--access-token-num-uses-limit', 'two']);
    assertErrorOutput(bad, 2, { hint: /whole number/ });
});

test('token renew: at most one TTL ahead, refused once past the max TTL', T, async () => {
    const ident = await createIdentity(a, 'renew-bot', ['--access-token-ttl', '1h']);
    const t = await loginOk(a.srv, ident);
    assert.equal(t.expiresIn, 3600);
    const r = await renew(a.srv, t.accessToken);
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.accessToken, /^arca_i_/);
    assert.ok(r.json.expiresIn > 0 && r.json.expiresIn <= 3600, `expiresIn ${r.json.expiresIn}`);
    assert.equal((await authed(a.srv, r.json.accessToken)).status, 200);

    /* TTL 1 s, max TTL 2 s: renewing keeps it alive until the max, then 401 */
    const short = await createIdentity(a, 'short-bot',
        ['--access-token-ttl', '1s', '--access-token-max-ttl', '2s']);
    const s = await loginOk(a.srv, short);
    assert.equal(s.accessTokenMaxTTL, 2);
    const refused = await waitFor(async () => {
        const x = await renew(a.srv, s.accessToken);
        if (x.status === 200) {
            assert.ok(x.json.expiresIn <= 1, `expiresIn ${x.json.expiresIn} within the 1 s TTL`);
            return null;
        }
        return x;
    }, { timeoutMs: 20000, intervalMs: 100, what: 'renewal refused past the max TTL' });
    assertApiError(refused, 401, 'UnauthorizedError', refused.text);
    assert.equal((await authed(a.srv, s.accessToken)).status, 401);
    assert.equal((await renew(a.srv, s.accessToken)).status, 401, 'still refused');
});

test('token revoke: the revoked token gets 401, renewing it too', T, async () => {
    const ident = await createIdentity(a, 'revoke-bot');
    const t = await loginOk(a.srv, ident);
    assert.equal((await authed(a.srv, t.accessToken)).status, 200);
    const r = await apiCall(a.srv, 'POST', `${V1}/auth/token/revoke`,
        { body: { accessToken: t.accessToken } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {});
    const after = await authed(a.srv, t.accessToken);
    assertApiError(after, 401, 'UnauthorizedError', after.text);
    assert.equal((await renew(a.srv, t.accessToken)).status, 401);
});

test('client secrets: made by an admin with a new key pair, the older ones revoked', T, async () => {
    const project = await createProject(b.owner, 'bots');
    const pid = ['--project-id', project.id];
    await ok(b.owner, ['secrets', 'set', 'DB_URL=postgres://bots', '--env', 'dev', ...pid]);
    const ident = await createIdentity(b, 'multi-bot', [...pid, '--role', 'viewer']);
    const s1 = ident.clientSecret;
    seen['first client secret'] = s1;

    /* the identity's own session neither makes nor revokes its secrets */
    const { c: idCli, r: lr } = await cliLogin(b.srv, ident);
    assert.equal(lr.code, 0, lr.stderr);
    seen['CLI access token'] = await readCredentialMatching(idCli, /^arca_i_/);
    const self = await idCli.arca(['identities', 'client-secret', 'create', '--identity',
        'multi-bot']);
    assertErrorOutput(self, 3);
    assert.match(self.stderr, /cannot make or revoke its own client secrets/);
    const own = await ok(idCli, ['identities', 'client-secret', 'list', '--identity', 'multi-bot',
        '--format', 'json']);
    const first = JSON.parse(own.stdout)[0];
    const selfRevoke = await idCli.arca(['identities', 'client-secret', 'revoke', first.id,
        '--identity', 'multi-bot']);
    assertErrorOutput(selfRevoke, 3);
    const t1 = (await loginOk(b.srv, ident, s1)).accessToken;
    seen['first token'] = t1;
    assert.equal((await authed(b.srv, t1)).status, 200);

    /* the organization admin makes one: a new key pair, sealed to here */
    const cr = await ok(b.owner, ['identities', 'client-secret', 'create', '--identity', 'multi-bot',
        '--description', 'rotation 2', '--format', 'json']);
    const second = JSON.parse(cr.stdout);
    assert.deepEqual(Object.keys(second).sort(),
        ['clientSecret', 'clientSecretId', 'expiresAt', 'numUsesLimit', 'prefix']);
    const s2 = second.clientSecret;
    seen['second client secret'] = s2;
    assert.match(s2, /^[0-9a-f]{64}$/);
    assert.notEqual(s2, s1);
    assert.equal(second.prefix, s2.slice(0, second.prefix.length));
    assert.equal(second.expiresAt, null);
    assert.equal(second.numUsesLimit, 0);
    assert.ok(!cr.stderr.includes(s2), 'the secret is printed on stdout only');
    assert.match(cr.stderr, /new key pair: its other client secrets and their access tokens are revoked/);

    /* the first secret and its tokens are gone */
    const r1 = await login(b.srv, ident.clientId, s1);
    assertApiError(r1, 401, 'UnauthorizedError', r1.text);
    const dead = await authed(b.srv, t1);
    assertApiError(dead, 401, 'UnauthorizedError', dead.text);
    const { r: c1 } = await cliLogin(b.srv, ident, s1);
    assertErrorOutput(c1, 3);

    /* the second opens the new private key and, with it, the project key */
    const { c: id2, r: l2 } = await cliLogin(b.srv, ident, s2);
    assert.equal(l2.code, 0, `login with the second secret: ${l2.stderr}`);
    const got = await ok(id2, ['secrets', 'get', 'DB_URL', '--env', 'dev', '--plain', ...pid]);
    assert.equal(got.stdout.trim(), 'postgres://bots');
    seen['second token'] = (await loginOk(b.srv, ident, s2)).accessToken;

    /* the admin sees both, never a secret */
    const ls = await ok(b.owner, ['identities', 'client-secret', 'list', '--identity',
        ident.identityId, '--format', 'json']);
    assert.ok(!ls.stdout.includes(s1) && !ls.stdout.includes(s2), 'list shows no secret');
    const list = JSON.parse(ls.stdout);
    assert.equal(list.length, 2, ls.stdout);
    assert.equal(list.find((x) => x.id === second.clientSecretId).description, 'rotation 2');
    assert.equal(list.find((x) => x.id === first.id).revoked, true);
    assert.equal(list.find((x) => x.id === second.clientSecretId).revoked, false);

    /* the admin revokes the second: no login is left */
    const rv = await ok(b.owner, ['identities', 'client-secret', 'revoke', second.clientSecretId,
        '--identity', 'multi-bot']);
    assert.match(rv.stdout, /revoked client secret/);
    const r2 = await login(b.srv, ident.clientId, s2);
    assertApiError(r2, 401, 'UnauthorizedError', r2.text);

    /* revoking an unknown secret id: exit 4 */
    const none = await b.owner.arca(['identities', 'client-secret', 'revoke',
        '00000000-0000-4000-8000-000000000000', '--identity', 'multi-bot']);
    assertErrorOutput(none, 4);
});

test('a client secret with --num-uses-limit 1 logs in once', T, async () => {
    const ident = await createIdentity(b, 'once-bot');
    seen['once-bot first secret'] = ident.clientSecret;
    const r = await ok(b.owner, ['identities', 'client-secret', 'create', '--identity', 'once-bot',
        '--num-uses-limit', '1', '--ttl', '30d', '--format', 'json']);
    const once = JSON.parse(r.stdout);
    seen['once-bot limited secret'] = once.clientSecret;
    assert.equal(once.numUsesLimit, 1);
    assert.equal(typeof once.expiresAt, 'string');
    assert.ok(Date.parse(once.expiresAt) > Date.now(), `expiresAt ${once.expiresAt}`);

    seen['once-bot token'] = (await loginOk(b.srv, ident, once.clientSecret)).accessToken;
    const again = await login(b.srv, ident.clientId, once.clientSecret);
    assertApiError(again, 401, 'UnauthorizedError', again.text);
    const ls = JSON.parse((await ok(b.owner, ['identities', 'client-secret', 'list', '--identity',
        'once-bot', '--format', 'json'])).stdout);
    const used = ls.find((x) => x.id === once.clientSecretId);
    assert.equal(used.numUses, 1);
    assert.equal(used.numUsesLimit, 1);
});

test('audit: identity logins and failures are recorded, never with a secret or a token', T, async () => {
    /* the login refused for its address (server a) is a denial */
    const exa = await ok(a.owner, ['audit-logs', 'export', '--event', 'auth.identity.']);
    const denied = exa.stdout.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l))
        .filter((x) => x.event === 'auth.identity.login.failed' && x.outcome === 'denied');
    assert.ok(denied.length >= 1, `a denied identity login on server a: ${exa.stdout}`);

    const ex = await ok(b.owner, ['audit-logs', 'export']);
    const records = ex.stdout.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
    const events = records.map((x) => x.event);
    assert.ok(events.includes('auth.identity.login'), 'a login is recorded');
    assert.ok(events.includes('auth.identity.login.failed'), 'a failed login is recorded');
    assert.ok(events.includes('identity.client-secret.create'));
    assert.ok(events.includes('identity.client-secret.revoke'));
    assert.ok(Object.keys(seen).length >= 8);
    for (const [what, value] of Object.entries(seen)) {
        assert.ok(!ex.stdout.includes(value), `the audit log holds no ${what}`);
        if (/secret/.test(what))
            assert.ok(!ex.stdout.includes(authKey(value)), `the audit log holds no auth key of the ${what}`);
    }
});

test('a 1-second access token is refused right after it expires, with nothing written meanwhile ' +
    '(its principal cached)', T, async () => {
    const ident = await createIdentity(a, 'brief', ['--access-token-ttl', '1s', '--access-token-max-ttl', '1s']);
    const tok = (await loginOk(a.srv, ident)).accessToken;
    const issued = Date.now();
    /* served twice: the second from the principal cache (reads write nothing) */
    for (let i = 0; i < 2; i++) {
        const r = await authed(a.srv, tok);
        assert.equal(r.status, 200, r.text);
    }
    /* the token was issued before `issued`, so it has expired once a second has passed since */
    await waitFor(() => Date.now() > issued + 1050, { timeoutMs: 5000, intervalMs: 20, what: 'one second' });
    const r = await authed(a.srv, tok);
    assertApiError(r, 401, 'UnauthorizedError', r.text);
});
