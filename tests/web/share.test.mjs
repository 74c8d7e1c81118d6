// Share links in the web app (issue 15), real server, real Chromium, real
// crypto, the real CLI on the other side: the browser makes a link (the Share
// page, an environment's row, a grid cell) and `arca share open` reads it (with
// and without a password; a wrong one refused); the CLI makes one and a browser
// with no account reveals it once, then sees it gone (in the same words as an
// expired link and one that never existed); org-only refuses an
// anonymous browser; the list and Revoke; the admin's share policy.  The link's
// key and the value never reach the wire.  Then machine identities' client
// secrets (issue 12): a new one re-keys the identity and the CLI logs in with it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
    bootstrapAndLogin, createProject, newCli, removeTempDirs, startServer, storeSql, waitFor,
} from '../e2e/harness.mjs';
import { axe, launch, newContext, shot, watchErrors } from './browser.mjs';

const GONE = /does not exist, has expired or has been viewed already/;
const LINK_RE = /http\S+\/s\/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{43}/;
const PLAIN = []; // values shared from this browser: never on the wire in clear
const KEYS = []; // link keys: never on the wire

let unlimitedLink; // the grid's share, made before the policy changes
let server, browser, ctx, page, errors, cli, admin, projectId;

before(async () => {
    server = await startServer();
    cli = await newCli(server);
    admin = await bootstrapAndLogin(cli);
    projectId = (await createProject(cli, 'shop')).id;
    const w = await cli.arca(['secrets', 'set', '--project-id', projectId, '--env=dev', 'API_TOKEN=tok-from-the-grid']);
    assert.equal(w.code, 0, w.stderr);
    browser = await launch();
    ctx = await newContext(browser);
    page = await ctx.newPage();
    errors = watchErrors(page);
    await page.goto(server.url + '/login');
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
});
after(async () => {
    await browser?.close();
    await server?.stop();
    await removeTempDirs();
});

/* a page load forgets the keys: every goto signs in again and comes back */
async function openAt(p, route) {
    await p.goto(server.url + route);
    await p.getByRole('heading', { name: 'Sign in' }).waitFor();
    await p.getByLabel('Email').fill(admin.email);
    await p.getByLabel('Password', { exact: true }).fill(admin.password);
    await p.getByRole('button', { name: 'Sign in' }).click();
}

/* fills the share form in `scope` (the page or a dialog) and returns the link shown once */
async function makeShare(scope, { value, expires, views, unlimited, password, orgOnly } = {}) {
    if (value !== undefined) await scope.getByLabel('Value to share').fill(value);
    if (expires) await scope.getByLabel('Expires in').selectOption({ label: expires });
    if (views) await scope.getByLabel('Views', { exact: true }).fill(String(views));
    if (unlimited) await scope.getByLabel('Unlimited views (until it expires)').check();
    if (password) await scope.getByLabel('Password (optional)').fill(password);
    if (orgOnly) await scope.getByLabel(/Only members of my organization/).check();
    await scope.getByRole('button', { name: 'Create link' }).click();
    const link = (await scope.getByLabel('Share link').textContent()).trim();
    assert.match(link, LINK_RE);
    assert.ok(link.startsWith(server.url + '/s/'), `a link on the app's origin: ${link}`);
    KEYS.push(link.split('#')[1]);
    return link;
}

test('the Share page: a typed value, the CLI opens it once; then it is gone', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Share a secret' }).click();
    await page.getByRole('heading', { name: 'Share a secret' }).waitFor();
    await page.getByText('No active share.').waitFor();
    await axe(page, 'share page');
    // defaults: 1 day, 1 view
    assert.equal(await page.getByLabel('Expires in').inputValue(), '86400');
    assert.equal(await page.getByLabel('Views', { exact: true }).inputValue(), '1');
    const value = 'line one\nline two <b>bold</b> ünïcødé';
    PLAIN.push(value);
    const link = await makeShare(page, { value });
    await axe(page, 'share page with its link');
    await shot(page, 'share-link');
    const o = await cli.arca(['share', 'open', link]);
    assert.equal(o.code, 0, o.stderr);
    assert.equal(o.stdout, value);
    const again = await cli.arca(['share', 'open', link]);
    assert.equal(again.code, 4, again.stderr);
    assert.match(again.stderr, GONE);
});

test('Share on a row of an environment: a password, 2 views; a wrong password is refused and counts no view', async () => {
    await openAt(page, `/projects/${projectId}/env/dev`);
    await page.getByRole('table', { name: /Secrets in Development/ }).waitFor();
    await page.getByLabel('More for API_TOKEN').click();
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    const dlg = page.getByRole('dialog', { name: 'Share API_TOKEN' });
    await dlg.waitFor();
    assert.equal(await dlg.getByLabel('Value to share').count(), 0, 'the secret is the value: nothing to type');
    await axe(page, 'share dialog');
    await shot(page, 'share-dialog');
    const link = await makeShare(dlg, { views: 2, password: 'open sesame', expires: '1 hour' });
    PLAIN.push('tok-from-the-grid');
    const wrong = await cli.arca(['share', 'open', link, '--password-stdin'], { input: 'not it\n' });
    assert.equal(wrong.code, 3, wrong.stderr);
    const noPw = await cli.arca(['share', 'open', link]);
    assert.notEqual(noPw.code, 0);
    const ok = await cli.arca(['share', 'open', link, '--password-stdin', '--format', 'json'], { input: 'open sesame\n' });
    assert.equal(ok.code, 0, ok.stderr);
    const j = JSON.parse(ok.stdout);
    assert.equal(j.value, 'tok-from-the-grid');
    assert.equal(j.viewsLeft, 1, 'the wrong password counted no view');
    await dlg.getByRole('button', { name: 'Done' }).click();
    await dlg.waitFor({ state: 'hidden' });
});

test('Share on a grid cell: unlimited views, opened twice by the CLI', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    const c = page.getByRole('group', { name: 'API_TOKEN in Development', exact: true });
    await c.getByRole('button', { name: 'Share' }).click();
    const dlg = page.getByRole('dialog', { name: 'Share API_TOKEN in Development' });
    const link = await makeShare(dlg, { unlimited: true });
    unlimitedLink = link;
    for (let i = 0; i < 2; i++) {
        const o = await cli.arca(['share', 'open', link]);
        assert.equal(o.code, 0, o.stderr);
        assert.equal(o.stdout, 'tok-from-the-grid');
    }
    await dlg.getByRole('button', { name: 'Done' }).click();
});

test('a CLI link in a browser with no account: "Reveal secret" once, then gone in the same words as an expired link and one that never existed', async () => {
    const r = await cli.arca(['share', 'create', '--value-stdin', '--max-views', '1'], { input: 'from the cli <i>x</i>\n' });
    assert.equal(r.code, 0, r.stderr);
    const link = LINK_RE.exec(r.stdout)[0];
    const c = await newContext(browser);
    const p = await c.newPage();
    await p.goto(link);
    await p.getByRole('heading', { name: 'A shared secret' }).waitFor();
    await p.getByText('It can be opened once').waitFor();
    assert.equal(await p.getByLabel('Shared value').count(), 0, 'nothing shown before Reveal');
    await axe(p, 'share open');
    await p.getByRole('button', { name: 'Reveal secret' }).click();
    await p.getByLabel('Shared value').getByText('from the cli <i>x</i>').waitFor();
    await p.getByRole('button', { name: 'Copy' }).click();
    assert.equal(await p.evaluate(() => navigator.clipboard.readText()), 'from the cli <i>x</i>');
    assert.ok(!p.url().includes('#'), 'the key leaves the address bar');
    const p2 = await c.newPage();
    await p2.goto(link);
    const gone = await p2.getByRole('alert').filter({ hasText: GONE }).textContent();
    // a link that never existed: the same words
    const never = link.replace(/\/s\/[^#]+/, '/s/AAAAAAAAAAAAAAAAAAAAAA');
    await p2.goto(never);
    const never2 = await p2.getByRole('alert').filter({ hasText: GONE }).textContent();
    assert.equal(never2, gone);
    // an expired one (its time set in the past, as tests/e2e/share.test.mjs does): the same words
    const r2 = await cli.arca(['share', 'create', '--value-stdin'], { input: 'expires\n' });
    const expired = LINK_RE.exec(r2.stdout)[0];
    await storeSql(server, `UPDATE shares SET expires_at = 1000 WHERE id = '${expired.split('/s/')[1].split('#')[0]}'`);
    await p2.goto(expired);
    assert.equal(await p2.getByRole('alert').filter({ hasText: GONE }).textContent(), gone);
    assert.equal(await p2.getByRole('button', { name: 'Reveal secret' }).count(), 0);
    const traffic = c.traffic();
    assert.ok(!traffic.includes('from the cli') && !traffic.includes(link.split('#')[1]), 'neither the value nor the key on the wire');
    await c.close();
});

test('a password link from the CLI: the browser asks for it, a wrong one is refused', async () => {
    const r = await cli.arca(['share', 'create', '--value-stdin', '--password-stdin', '--max-views', '2'], { input: 'pw-words\nbehind a password' });
    assert.equal(r.code, 0, r.stderr);
    const link = LINK_RE.exec(r.stdout)[0];
    const c = await newContext(browser);
    const p = await c.newPage();
    await p.goto(link);
    await p.getByLabel('Password').fill('wrong words');
    await p.getByRole('button', { name: 'Reveal secret' }).click();
    await p.getByRole('alert').filter({ hasText: /wrong password/ }).waitFor();
    await p.getByLabel('Password').fill('pw-words');
    await p.getByRole('button', { name: 'Reveal secret' }).click();
    await p.getByLabel('Shared value').getByText('behind a password').waitFor();
    const traffic = c.traffic();
    assert.ok(!traffic.includes('pw-words') && !traffic.includes('behind a password'));
    await c.close();
});

test('org-only: an anonymous browser is refused, the member\'s CLI opens it', async () => {
    await openAt(page, '/share');
    await page.getByRole('heading', { name: 'Share a secret' }).waitFor();
    PLAIN.push('members only value');
    const link = await makeShare(page, { value: 'members only value', orgOnly: true });
    const c = await newContext(browser);
    const p = await c.newPage();
    await p.goto(link);
    await p.getByRole('alert').filter({ hasText: /only by members of its organization/ }).waitFor();
    assert.equal(await p.getByRole('button', { name: 'Reveal secret' }).count(), 0);
    await p.getByRole('link', { name: 'Sign in' }).waitFor();
    await c.close();
    const anon = await newCli(server);
    const a = await anon.arca(['share', 'open', link]);
    assert.notEqual(a.code, 0);
    assert.ok(!a.stdout.includes('members only value'));
    const o = await cli.arca(['share', 'open', link]);
    assert.equal(o.code, 0, o.stderr);
    assert.equal(o.stdout, 'members only value');
});

test('Your shares: listed without values; Revoke makes the link gone', async () => {
    await page.getByRole('button', { name: 'Done' }).click();
    PLAIN.push('to be revoked');
    const link = await makeShare(page, { value: 'to be revoked', views: 5 });
    const id = link.split('/s/')[1].split('#')[0];
    await page.getByRole('button', { name: 'Done' }).click();
    const row = page.getByRole('table', { name: 'Your active shares' }).getByRole('row', { name: new RegExp(id) });
    await row.getByText('5 of 5').waitFor();
    // the grid's unlimited share is listed too; the value never is
    await page.getByRole('table', { name: 'Your active shares' }).getByText('unlimited').waitFor();
    assert.ok(!(await page.content()).includes('to be revoked'));
    await page.getByRole('table', { name: 'Your active shares' }).scrollIntoViewIfNeeded();
    await shot(page, 'your-shares');
    await row.getByRole('button', { name: `Revoke share ${id}` }).click();
    const dlg = page.getByRole('dialog', { name: 'Revoke share' });
    await axe(page, 'revoke share');
    await dlg.getByRole('button', { name: 'Revoke' }).click();
    await row.waitFor({ state: 'detached' });
    const o = await cli.arca(['share', 'open', link]);
    assert.equal(o.code, 4, o.stderr);
    assert.match(o.stderr, GONE);
    const l = await cli.arca(['share', 'list', '--format', 'json']);
    assert.ok(!l.stdout.includes(id), 'revoked: gone from the list');
});

test('the admin\'s share policy: anonymous opening off refuses an anonymous browser; longest lifetime', async () => {
    const pol = page.getByRole('form', { name: 'Share policy' });
    await pol.waitFor();
    await axe(page, 'share policy');
    await pol.getByLabel('Longest lifetime').selectOption({ label: '7 days' });
    await pol.getByLabel(/Anyone with the link may open/).uncheck();
    await pol.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Share policy saved.').waitFor();
    const r = await cli.arca(['share', 'policy', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const p0 = j.policy ?? j;
    assert.equal(p0.maxExpiresIn, 7 * 86400);
    assert.equal(p0.allowAnonymous, false);
    // 30 days is now beyond the policy: the server says so
    await page.getByLabel('Value to share').fill('too long');
    await page.getByLabel('Expires in').selectOption({ label: '30 days' });
    await page.getByRole('button', { name: 'Create link' }).click();
    await page.getByRole('form', { name: 'New share' }).getByRole('alert').waitFor();
    // a share made before, not org-only, now needs a member; one made now is org-only for good
    await page.getByLabel('Expires in').selectOption({ label: '1 day' });
    PLAIN.push('too long');
    const link = await makeShare(page, {});
    await page.getByRole('button', { name: 'Done' }).click();
    const c = await newContext(browser);
    const p = await c.newPage();
    for (const l of [unlimitedLink, link]) {
        await p.goto(l);
        await p.getByRole('alert').filter({ hasText: /only by members of its organization/ }).waitFor();
    }
    await pol.getByLabel(/Anyone with the link may open/).check();
    await pol.getByRole('button', { name: 'Save policy' }).click();
    // the saved message is on the page already: wait for the server to hold the new policy
    await waitFor(async () => {
        const q = await cli.arca(['share', 'policy', '--format', 'json']);
        return q.code === 0 && (JSON.parse(q.stdout).policy ?? JSON.parse(q.stdout)).allowAnonymous;
    }, { what: 'the policy saved with anonymous opening on' });
    await p.goto(unlimitedLink);
    await p.getByRole('button', { name: 'Reveal secret' }).waitFor();
    await p.goto(link);
    await p.getByRole('alert').filter({ hasText: /only by members of its organization/ }).waitFor();
    await c.close();
});

test('the command palette opens the Share page', async () => {
    await page.getByRole('link', { name: 'Projects', exact: true }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    await page.keyboard.press('Control+k');
    await page.getByRole('combobox', { name: 'Command' }).fill('share');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Share a secret' }).waitFor();
});

test('machine identities: a new client secret re-keys the identity, the CLI logs in with it and reads; revoke; delete', async () => {
    await openAt(page, `/projects/${projectId}/access`);
    await page.getByRole('heading', { name: 'Machine identities' }).waitFor();
    await page.getByLabel('Identity name').fill('ci-bot');
    await page.getByRole('button', { name: 'Create identity' }).click();
    const once = page.getByRole('dialog', { name: 'Client secret' });
    const first = (await once.getByLabel('Client secret').textContent()).trim();
    await once.getByRole('button', { name: 'Done' }).click();
    const ids = await cli.arca(['identities', 'list', '--format', 'json']);
    const ident = JSON.parse(ids.stdout).find((i) => i.name === 'ci-bot');
    await page.getByRole('button', { name: 'Client secrets of ci-bot' }).click();
    const dlg = page.getByRole('dialog', { name: 'Client secrets of ci-bot' });
    await dlg.getByRole('table').getByText(`${first.slice(0, 6)}…`).waitFor();
    await axe(page, 'client secrets');
    await shot(page, 'client-secrets');
    await dlg.getByLabel('Description (optional)').fill('rotated');
    await dlg.getByRole('button', { name: 'New client secret' }).click();
    const once2 = page.getByRole('dialog', { name: 'Client secret' });
    await once2.getByText('Its other client secrets were revoked.').waitFor();
    const second = (await once2.getByLabel('Client secret').textContent()).trim();
    assert.notEqual(second, first);
    await once2.getByRole('button', { name: 'Done' }).click();

    const bot = await newCli(server);
    const old = await bot.arca(['login', '--method=universal-auth', '--client-id', ident.clientId, '--client-secret', first]);
    assert.notEqual(old.code, 0, 'the first secret was revoked');
    const l = await bot.arca(['login', '--method=universal-auth', '--client-id', ident.clientId, '--client-secret', second]);
    assert.equal(l.code, 0, l.stderr);
    const rd = await bot.arca(['secrets', 'get', 'API_TOKEN', '--project-id', projectId, '--env=dev', '--plain']);
    assert.equal(rd.code, 0, rd.stderr);
    assert.equal(rd.stdout.trim(), 'tok-from-the-grid', 'the project key was sealed to the new key pair in the browser');

    // revoke it: the identity cannot log in any more
    await page.getByRole('button', { name: 'Client secrets of ci-bot' }).click();
    await dlg.getByRole('button', { name: `Revoke client secret ${second.slice(0, 6)}` }).click();
    await dlg.getByText('No active client secret').waitFor();
    await dlg.getByRole('button', { name: 'Close' }).click();
    const l2 = await newCli(server).then((c) => c.arca(['login', '--method=universal-auth', '--client-id', ident.clientId, '--client-secret', second]));
    assert.notEqual(l2.code, 0);

    await page.getByRole('button', { name: 'Delete identity ci-bot' }).click();
    await page.getByRole('dialog', { name: 'Delete machine identity' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByText('ci-bot deleted.').waitFor();
    const ids2 = await cli.arca(['identities', 'list', '--format', 'json']);
    assert.ok(!ids2.stdout.includes('ci-bot'));
});

test('the key after # and the values never on the wire; no script error', () => {
    const traffic = ctx.traffic();
    assert.ok(KEYS.length >= 5);
    for (const v of [...PLAIN, ...KEYS, 'open sesame'])
        assert.ok(!traffic.includes(v) && !traffic.includes(JSON.stringify(v).slice(1, -1)), `on the wire: ${v}`);
    assert.deepEqual(errors.filter((e) => !/status of 40[013]/.test(e)), []);
});

test('screenshots: the share screens light and dark, 375 and 1280 px wide, axe in each', async () => {
    for (const colorScheme of ['light', 'dark'])
        for (const width of [375, 1280]) {
            const c = await newContext(browser, { colorScheme, width, height: width < 500 ? 812 : 860 });
            const p = await c.newPage();
            await openAt(p, '/share');
            await p.getByRole('heading', { name: 'Your shares' }).waitFor();
            await axe(p, `share page ${colorScheme} ${width}`);
            await shot(p, 'share-page');
            const link = await makeShare(p, { value: `shot ${colorScheme} ${width}` });
            await shot(p, 'share-link');
            const c2 = await newContext(browser, { colorScheme, width, height: width < 500 ? 812 : 860 });
            const p2 = await c2.newPage();
            await p2.goto(link);
            await p2.getByRole('button', { name: 'Reveal secret' }).waitFor();
            await axe(p2, `share open ${colorScheme} ${width}`);
            await shot(p2, 'share-open');
            await p2.getByRole('button', { name: 'Reveal secret' }).click();
            await p2.getByLabel('Shared value').waitFor();
            await shot(p2, 'share-revealed');
            await c2.close();
            await c.close();
        }
});
