// share.test.mjs - share links (arca share; docs/api.md "Share links"): a value
// handed over through a link whose key the server never sees.  Round trips with
// and without a password (a wrong one counts no view), one view among 20
// concurrent openers, expiry (the row's expiry moved into the past, as the
// clock would), revocation, organization-only shares and the organization's
// policy, the limits, the rate limit on opening, the audit records, and that
// neither the value nor the link's key is anywhere on the server's side: its
// log, its store's files, its audit log.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import {
    apiCall, assertErrorOutput, bootstrapAndLogin, inviteAndSignup, newCli, removeTempDirs,
    startServer, storeFiles, storeSql,
} from './harness.mjs';

const T = { timeout: 300000 };
const V1 = '/api/arca/v1';
const LINK_RE = /^(http:\/\/127\.0\.0\.1:\d+)\/s\/([A-Za-z0-9_-]{22})#([A-Za-z0-9_-]{43})$/;

let srv, admin, member, anon;
const values = []; /* every value shared, to look for on the server's side */
const keys = []; /* every link's key */

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

/* arca share create --value-stdin ...: the link, remembered with its value. */
async function share(c, value, extra = [], password) {
    const input = password === undefined ? value : `${password}\n${value}`;
    const r = await ok(c, ['share', 'create', '--value-stdin', ...extra,
        ...(password === undefined ? [] : ['--password-stdin'])], { input });
    const link = r.stdout.trim();
    const m = LINK_RE.exec(link);
    assert.ok(m, `share create prints <site>/s/<id>#<key>: ${link}`);
    assert.equal(m[1], srv.url, 'the link names the server it was made on');
    values.push(value);
    keys.push(m[3]);
    return { link, id: m[2], key: m[3] };
}

before(async () => {
    srv = await startServer();
    admin = await newCli(srv);
    await bootstrapAndLogin(admin);
    member = (await inviteAndSignup(admin, srv, 'member@example.com')).cli;
    anon = await newCli(srv); /* never logs in */
});

after(async () => {
    await srv?.stop();
    await removeTempDirs();
});

test('a one-view share opens once, for anyone with the link, then is gone', T, async () => {
    const s = await share(admin, 'sk_live_first-share-value');
    const first = await ok(anon, ['share', 'open', s.link]);
    assert.equal(first.stdout, 'sk_live_first-share-value');
    assert.match(first.stderr, /last view/);
    const again = await anon.arca(['share', 'open', s.link]);
    assertErrorOutput(again, 4, { hint: /does not exist, has expired or has been viewed/ });
    assert.equal((await storeSql(srv, `SELECT count(*) FROM shares WHERE id = '${s.id}'`)).trim(),
        '0', 'the store holds nothing of a used-up share');
});

test('the same answer for a share that never existed, a wrong key and a used-up one', T,
    async () => {
        const s = await share(admin, 'value-for-the-wrong-key-test', ['--max-views', '2']);
        const wrongKey = s.link.replace(/#.*/, '#' + 'A'.repeat(43));
        const r1 = await anon.arca(['share', 'open', wrongKey]);
        const never = `${srv.url}/s/${'B'.repeat(22)}#${s.key}`;
        const r2 = await anon.arca(['share', 'open', never]);
        assertErrorOutput(r1, 4, { hint: /does not exist, has expired or has been viewed/ });
        assert.equal(r1.stderr, r2.stderr, 'a wrong key and an unknown id read the same');
        /* the wrong key counted no view: both views are still there */
        const info = JSON.parse((await ok(admin, ['share', 'list', '--format', 'json'])).stdout)
            .find((x) => x.id === s.id);
        assert.equal(info.viewsLeft, 2);
        const bad = await anon.arca(['share', 'open', `${srv.url}/s/${s.id}`]);
        assertErrorOutput(bad, 2, { hint: /not a share link/ });
    });

test('with a password: a wrong one counts no view, the right one opens a multi-line value', T,
    async () => {
        const value = 'line one\nline two\n  indented "quoted" = value';
        const s = await share(admin, value, [], 'a long share password');
        const none = await anon.arca(['share', 'open', s.link]);
        assertErrorOutput(none, 3, { hint: /protected by a password/ });
        const wrong = await anon.arca(['share', 'open', s.link, '--password-stdin'],
            { input: 'not the password\n' });
        assertErrorOutput(wrong, 3, { hint: /wrong password/ });
        const r = await ok(anon, ['share', 'open', s.link, '--password-stdin', '--format', 'json'],
            { input: 'a long share password\n' });
        const j = JSON.parse(r.stdout);
        assert.equal(j.value, value);
        assert.equal(j.passwordProtected, true);
        assert.equal(j.viewsLeft, 0);
    });

test('a share of a stored secret: --secret KEY --env ENV', T, async () => {
    const p = JSON.parse((await ok(admin, ['projects', 'create', 'shop', '--format', 'json'])).stdout);
    await ok(admin, ['secrets', 'set', 'STRIPE_KEY=sk_live_from_the_store', '--env', 'prod',
        '--project-id', p.id]);
    const r = await ok(admin, ['share', 'create', '--secret', 'STRIPE_KEY', '--env', 'prod',
        '--project-id', p.id, '--max-views', 'unlimited', '--expires-in', '1h', '--format', 'json']);
    const j = JSON.parse(r.stdout);
    values.push('sk_live_from_the_store');
    keys.push(LINK_RE.exec(j.link)[3]);
    assert.equal(j.maxViews, 0);
    assert.equal(j.viewsLeft, null);
    const expires = Date.parse(j.expiresAt) - Date.parse(j.createdAt);
    assert.equal(expires, 3600 * 1000);
    for (let i = 0; i < 3; i++)
        assert.equal((await ok(anon, ['share', 'open', j.link])).stdout, 'sk_live_from_the_store');
    const missing = await admin.arca(['share', 'create', '--secret', 'NOPE', '--env', 'prod',
        '--project-id', p.id]);
    assert.notEqual(missing.code, 0);
});

test('one view among 20 concurrent openers: exactly one gets the value', T, async () => {
    const s = await share(admin, 'only-one-of-twenty-gets-this');
    const rs = await Promise.all(Array.from({ length: 20 }, () => anon.arca(['share', 'open', s.link])));
    const got = rs.filter((r) => r.code === 0);
    assert.equal(got.length, 1, rs.map((r) => `${r.code} ${r.stderr}`).join('\n'));
    assert.equal(got[0].stdout, 'only-one-of-twenty-gets-this');
    for (const r of rs.filter((x) => x.code !== 0))
        assertErrorOutput(r, 4, { hint: /does not exist, has expired or has been viewed/ });
});

test('an expired share is refused, then deleted from the store', T, async () => {
    const s = await share(admin, 'expires-soon-value', ['--expires-in', '5m', '--max-views', '3']);
    /* the clock moved past its expiry */
    await storeSql(srv, `UPDATE shares SET expires_at = 1000 WHERE id = '${s.id}'`);
    const r = await anon.arca(['share', 'open', s.link]);
    assertErrorOutput(r, 4, { hint: /does not exist, has expired or has been viewed/ });
    assert.equal((await storeSql(srv, `SELECT count(*) FROM shares WHERE id = '${s.id}'`)).trim(),
        '0', 'an expired share is wiped from the store');
    const list = JSON.parse((await ok(admin, ['share', 'list', '--format', 'json'])).stdout);
    assert.ok(!list.some((x) => x.id === s.id), 'an expired share is not listed');
});

test('share ids never start with "-", so that `arca share revoke ID` takes any of them', T,
    async () => {
        /* one id in 64 would, if nothing prevented it: 200 ids miss that with odds of 4% */
        const ids = [];
        for (let round = 0; round < 10; round++) {
            const rs = await Promise.all(Array.from({ length: 20 }, () => admin.arca(['share',
                'create', '--value-stdin', '--expires-in', '5m', '--format', 'json'],
            { input: 'id-shape' })));
            for (const r of rs) {
                assert.equal(r.code, 0, r.stderr);
                ids.push(JSON.parse(r.stdout).id);
            }
        }
        assert.equal(ids.length, 200);
        assert.deepEqual(ids.filter((id) => id.startsWith('-')), []);
        for (const id of ids)
            assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
        for (let i = 0; i < ids.length; i += 20) {
            const rs = await Promise.all(ids.slice(i, i + 20).map((id) =>
                admin.arca(['share', 'revoke', id])));
            for (const r of rs)
                assert.equal(r.code, 0, r.stderr);
        }
    });

test('list shows active shares and never a value; revoke deletes at once', T, async () => {
    const s = await share(admin, 'value-to-revoke', ['--max-views', '5']);
    const listed = await ok(admin, ['share', 'list']);
    assert.match(listed.stdout, new RegExp(`${s.id}.*\\b5\\b`));
    const json = (await ok(admin, ['share', 'list', '--format', 'json'])).stdout;
    for (const v of values)
        assert.ok(!json.includes(v), 'share list never holds a value');
    const j = JSON.parse(json).find((x) => x.id === s.id);
    assert.deepEqual(Object.keys(j).sort(), ['createdAt', 'expiresAt', 'id', 'maxViews', 'orgOnly',
        'passwordProtected', 'viewsLeft']);
    /* someone else's share: not theirs to revoke, and no oracle */
    const other = await member.arca(['share', 'revoke', s.id]);
    assertErrorOutput(other, 4, { hint: /no active share/ });
    await ok(admin, ['share', 'revoke', s.id]);
    const r = await anon.arca(['share', 'open', s.link]);
    assertErrorOutput(r, 4, { hint: /does not exist/ });
    const twice = await admin.arca(['share', 'revoke', s.id]);
    assertErrorOutput(twice, 4, { hint: /no active share/ });
});

test('org-only: refused without an account, opened by a member', T, async () => {
    const s = await share(member, 'members-only-value', ['--org-only', '--max-views', '3']);
    const r = await anon.arca(['share', 'open', s.link]);
    assertErrorOutput(r, 3, { hint: /only by members of its organization/ });
    assert.equal((await ok(admin, ['share', 'open', s.link])).stdout, 'members-only-value');
    const list = JSON.parse((await ok(member, ['share', 'list', '--format', 'json'])).stdout);
    assert.equal(list.find((x) => x.id === s.id).viewsLeft, 2, 'the refused attempt counted no view');
});

test('the organization policy: admins set the longest lifetime and anonymous opening', T,
    async () => {
        const denied = await member.arca(['share', 'policy', '--no-anonymous']);
        assertErrorOutput(denied, 3, { hint: /admins/ });
        const before = await share(member, 'made-before-the-policy');
        await ok(admin, ['share', 'policy', '--no-anonymous', '--max-lifetime', '2d']);
        const p = JSON.parse((await ok(member, ['share', 'policy', '--format', 'json'])).stdout);
        assert.deepEqual(p, { maxExpiresIn: 2 * 86400, allowAnonymous: false });
        /* a share made before is held to the new rule too */
        assertErrorOutput(await anon.arca(['share', 'open', before.link]), 3,
            { hint: /only by members/ });
        const long = await member.arca(['share', 'create', '--value-stdin', '--expires-in', '3d'],
            { input: 'too-long-lived' });
        assertErrorOutput(long, 5, { hint: /at most 172800 seconds/ });
        const s = await share(member, 'org-only-by-policy');
        const j = JSON.parse((await ok(member, ['share', 'list', '--format', 'json'])).stdout)
            .find((x) => x.id === s.id);
        assert.equal(j.orgOnly, true, 'a share made under the policy is organization-only');
        /* one boolean form: the old 'on|off' value is refused, --flag=false is accepted */
        assertErrorOutput(await admin.arca(['share', 'policy', '--anonymous', 'on']), 2,
            { hint: /--no-anonymous/ });
        await ok(admin, ['share', 'policy', '--anonymous=false']);
        await ok(admin, ['share', 'policy', '--anonymous', '--max-lifetime', '30d']);
        assert.equal((await ok(anon, ['share', 'open', before.link])).stdout, 'made-before-the-policy');
    });

test('limits: lifetime, views, size, id and body are checked', T, async () => {
    for (const [args, what] of [
        [['--expires-in', '1m'], /not a share lifetime/],
        [['--expires-in', '31d'], /not a share lifetime/],
        [['--max-views', '101'], /not a number of views/],
        [['--max-views', '0'], /not a number of views/],
    ]) {
        const r = await admin.arca(['share', 'create', '--value-stdin', ...args], { input: 'x' });
        assertErrorOutput(r, 2, { hint: what });
    }
    const big = await admin.arca(['share', 'create', '--value-stdin'], { input: 'x'.repeat(65537) });
    assertErrorOutput(big, 5, { hint: /longer than 65536 bytes/ });
    /* an empty value (nothing piped in, or only the newline echo adds): said so, not the
     * server's refusal of the ciphertext */
    for (const input of ['', '\n', 'pw\n']) {
        const extra = input === 'pw\n' ? ['--password-stdin'] : [];
        const empty = await admin.arca(['share', 'create', '--value-stdin', ...extra], { input });
        assertErrorOutput(empty, 5, { hint: /^arca: error: the value to share is empty\narca: hint: e\.g\. echo -n/ });
    }
    const both = await admin.arca(['share', 'create', '--value-stdin', '--secret', 'K'], { input: 'x' });
    assertErrorOutput(both, 2, { hint: /either --value-stdin or --secret/ });

    const token = JSON.parse(await readFile(`${admin.configDir}/credentials.json`, 'utf8')).token;
    const body = { id: 'C'.repeat(22), ciphertext: Buffer.alloc(100, 1).toString('base64'),
        accessKey: Buffer.alloc(32, 2).toString('base64') };
    for (const [patch, what] of [
        [{ id: 'short' }, /'id' must be 22 characters/],
        [{ ciphertext: Buffer.alloc(70000, 1).toString('base64') }, /'ciphertext' must be base64/],
        [{ expiresIn: 60 }, /'expiresIn' must be 5 minutes to 30 days/],
        [{ expiresIn: '1h' }, /'expiresIn' must be a number/],
        [{ maxViews: 101 }, /'maxViews' must be 1 to 100/],
        [{ accessKey: undefined }, /'accessKey' is required/],
        [{ password: { authKey: Buffer.alloc(32).toString('base64'),
            salt: Buffer.alloc(16).toString('base64'), opslimit: 1, memlimit: 1024 } },
        /Argon2id parameters/],
    ]) {
        const r = await apiCall(srv, 'POST', `${V1}/shares`, { token, body: { ...body, ...patch } });
        assert.equal(r.status, 400, `${JSON.stringify(patch).slice(0, 80)}: ${r.text}`);
        assert.match(r.json.message, what);
    }
    const anonCreate = await apiCall(srv, 'POST', `${V1}/shares`, { body });
    assert.equal(anonCreate.status, 401, 'making a share needs an account');
});

test('opening is rate-limited per address', T, async () => {
    const statuses = [];
    for (let i = 0; i < 100; i++) {
        const r = await apiCall(srv, 'POST', `${V1}/shares/${'D'.repeat(22)}/info`,
            { body: { accessKey: Buffer.alloc(32, 3).toString('base64') } });
        statuses.push(r.status);
        if (r.status === 429) {
            assert.match(r.headers.get('retry-after'), /^\d+$/);
            assert.match(r.json.message, /too many failed share look-ups/);
            break;
        }
    }
    assert.equal(statuses.at(-1), 429, `statuses: ${statuses.join(',')}`);
    assert.ok(statuses.slice(0, -1).every((s) => s === 404));
});

test('audit: created, viewed (address and agent), refused, revoked and expired; never a value or key',
    T, async () => {
        const r = await ok(admin, ['audit-logs', 'list', '--format', 'json', '--limit', '1000']);
        const recs = JSON.parse(r.stdout);
        const events = new Set(recs.map((x) => x.event));
        for (const e of ['share.create', 'share.view', 'share.revoke', 'share.expire',
            'share.policy.update'])
            assert.ok(events.has(e), `an audit record of ${e}`);
        const view = recs.find((x) => x.event === 'share.view' && x.outcome === 'success');
        assert.equal(view.ip, '127.0.0.1');
        assert.ok(view.userAgent, 'a view records the user agent');
        assert.ok(recs.some((x) => x.event === 'share.view' && x.outcome === 'failure'),
            'a wrong password or key is recorded');
        for (const v of values.concat(keys))
            assert.ok(!r.stdout.includes(v), 'no audit record holds a value or a link key');
    });

test('neither a value nor a link key reaches the server: its log and its files', T, async () => {
    const log = srv.logs.join('\n');
    const files = await storeFiles(srv);
    assert.ok(files.length > 0);
    const needles = values.concat(keys).map((s) => Buffer.from(s));
    for (const n of needles)
        assert.ok(!log.includes(n.toString()), 'the server log holds no value or key');
    for (const f of files) {
        const data = await readFile(f).catch(() => Buffer.alloc(0));
        for (const n of needles)
            assert.equal(data.indexOf(n), -1, `${f} holds no value or link key`);
    }
});
