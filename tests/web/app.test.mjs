// The web app in a real browser (Debian's Chromium, playwright-core) against a
// real server, with the real CLI on the other side: setup -> project -> secrets
// in three environments -> arca run reads them; the CLI writes -> the grid
// shows it; edit in place; bulk edit of 50 lines in one batch; history and
// rollback; invite -> sign-up in a second browser -> a viewer who sees no edit
// control and whom the server refuses anyway; XSS values stay text; lock; and
// the whole session's traffic never carries a value or the password in clear.
// axe-core runs on every screen; screenshots go to tests/web/screenshots/.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { newCli, randomPassword, removeTempDirs, startServer } from '../e2e/harness.mjs';
import { assertReadable, axe, launch, newContext, shot, shotOf, watchErrors } from './browser.mjs';

const ADMIN = 'admin@example.com';
const PASSWORD = randomPassword();
const XSS = '<img src=x onerror="window.__xss=1">';
const PLAIN = []; // every value typed in the browser or the CLI: never on the wire in clear

let server, browser, ctx, page, errors, cli, projectId, projectUrl;

before(async () => {
    server = await startServer();
    browser = await launch();
    ctx = await newContext(browser);
    page = await ctx.newPage();
    errors = watchErrors(page);
    page.on('dialog', (d) => d.dismiss()); // an alert() would be an XSS
    cli = await newCli(server);
});
after(async () => {
    await browser?.close();
    await server?.stop();
    await removeTempDirs();
});

async function runEnv(c, env, args = []) {
    const r = await c.arca(['run', '--project-id', projectId, `--env=${env}`, ...args, '--', process.execPath, '-e',
        'process.stdout.write(JSON.stringify(process.env))']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
}

async function signIn(p, email, password) {
    await p.getByLabel('Email').fill(email);
    await p.getByLabel('Password', { exact: true }).fill(password);
    await p.getByRole('button', { name: 'Sign in' }).click();
}

/* a grid cell: the group "<KEY> in <Environment>" */
const cell = (p, key, env) => p.getByRole('group', { name: `${key} in ${env}`, exact: true });

test('first run: setup creates the admin account and organization', async () => {
    await page.goto(server.url + '/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await axe(page, 'sign in');
    await page.goto(server.url + '/setup');
    await axe(page, 'setup');
    await shot(page, 'setup');
    await page.getByLabel('Email').fill(ADMIN);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password').fill(PASSWORD + 'x');
    await page.getByLabel('Organization').fill('Acme');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('alert').filter({ hasText: 'The two passwords differ.' }).waitFor();
    await page.getByLabel('Confirm password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    await page.getByRole('heading', { name: 'No project yet' }).waitFor();
    await axe(page, 'projects (empty)');
    await shot(page, 'projects-empty');
    // the CLI logs in with the same password: the keys were made in the browser
    const l = await cli.arca(['login', '--email', ADMIN, '--password-stdin'], { input: PASSWORD + '\n' });
    assert.equal(l.code, 0, l.stderr);
});

test('a project, secrets in three environments, and the CLI reads them', async () => {
    await page.getByRole('button', { name: 'New project' }).click();
    await axe(page, 'new project dialog');
    await page.getByLabel('Project name').fill('shop');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'shop' }).waitFor();
    projectUrl = new URL(page.url()).pathname;
    projectId = projectUrl.split('/')[2];
    await page.getByRole('heading', { name: 'No secret here yet' }).waitFor();
    await axe(page, 'overview (empty)');

    // one key in all three environments, one value each
    for (const [env, value] of [['Development', 'postgres://dev-db/shop'], ['Staging', 'postgres://staging-db/shop'],
        ['Production', 'postgres://prod-db/shop']]) {
        await page.getByRole('button', { name: 'Add secret' }).click();
        const dlg = page.getByRole('dialog', { name: 'Add secret' });
        await dlg.getByLabel('Key').fill('DATABASE_URL');
        await dlg.getByLabel('Value').fill(value);
        for (const e of ['Development', 'Staging', 'Production'])
            await dlg.getByRole('checkbox', { name: e }).setChecked(e === env);
        if (env === 'Development') await axe(page, 'add secret dialog');
        await dlg.getByRole('button', { name: 'Save' }).click();
        await dlg.waitFor({ state: 'hidden' });
        PLAIN.push(value);
    }
    // one key in every environment at once, the same value
    await page.getByRole('button', { name: 'Add secret' }).click();
    const dlg = page.getByRole('dialog', { name: 'Add secret' });
    await dlg.getByLabel('Key').fill('STRIPE_KEY');
    await dlg.getByLabel('Value').fill('sk_live_same_everywhere');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    PLAIN.push('sk_live_same_everywhere');

    await cell(page, 'STRIPE_KEY', 'Production').waitFor();
    const env = await runEnv(cli, 'prod');
    assert.equal(env.DATABASE_URL, 'postgres://prod-db/shop');
    assert.equal(env.STRIPE_KEY, 'sk_live_same_everywhere');
    assert.equal((await runEnv(cli, 'dev')).DATABASE_URL, 'postgres://dev-db/shop');
    assert.equal((await runEnv(cli, 'staging')).DATABASE_URL, 'postgres://staging-db/shop');
});

test('the grid: differing values visible without revealing, missing keys marked, reveal and copy', async () => {
    // values are hidden: no plaintext in the page until revealed
    assert.ok(!(await page.content()).includes('prod-db'));
    const dbRow = page.getByRole('row', { name: /DATABASE_URL/ });
    await dbRow.getByText('differs').waitFor();
    assert.equal(await page.getByRole('row', { name: /STRIPE_KEY/ }).getByText('differs').count(), 0);
    const fps = await Promise.all(['Development', 'Staging', 'Production'].map((e) =>
        cell(page, 'STRIPE_KEY', e).locator('.fp').textContent()));
    assert.equal(new Set(fps).size, 1, 'the same value has the same fingerprint everywhere');

    // the CLI writes a key in prod only: the grid marks it missing elsewhere
    const w = await cli.arca(['secrets', 'set', '--project-id', projectId, '--env=prod', 'FROM_CLI=written-by-the-cli']);
    assert.equal(w.code, 0, w.stderr);
    PLAIN.push('written-by-the-cli');
    await page.goto(server.url + projectUrl);
    await signIn(page, ADMIN, PASSWORD); // a reload forgets the keys: the password again
    await cell(page, 'FROM_CLI', 'Production').waitFor();
    const row = page.getByRole('row', { name: /FROM_CLI/ });
    await row.getByText('missing').first().waitFor();
    await cell(page, 'FROM_CLI', 'Development').getByRole('button', { name: 'Add FROM_CLI to Development' }).waitFor();
    await row.getByRole('button', { name: 'Reveal' }).click();
    await cell(page, 'FROM_CLI', 'Production').getByText('written-by-the-cli').waitFor();
    await cell(page, 'FROM_CLI', 'Production').getByRole('button', { name: 'Copy' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'written-by-the-cli');
    await axe(page, 'overview grid');
    await shot(page, 'overview');
});

test('edit in place and add to another environment from the grid; the CLI reads both', async () => {
    await cell(page, 'FROM_CLI', 'Production').getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('form', { name: 'Edit FROM_CLI in Production' });
    await form.getByLabel('Value').fill('edited in the grid');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'hidden' });
    PLAIN.push('edited in the grid');
    await cell(page, 'FROM_CLI', 'Development').getByRole('button', { name: 'Add FROM_CLI to Development' }).click();
    const dlg = page.getByRole('dialog', { name: 'Add secret' });
    assert.equal(await dlg.getByLabel('Key').inputValue(), 'FROM_CLI');
    await dlg.getByLabel('Value').fill('dev value from the grid');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    PLAIN.push('dev value from the grid');
    await cell(page, 'FROM_CLI', 'Development').locator('.fp').waitFor();
    assert.equal((await runEnv(cli, 'prod')).FROM_CLI, 'edited in the grid');
    assert.equal((await runEnv(cli, 'dev')).FROM_CLI, 'dev value from the grid');
});

test('an environment: bulk edit of 50 lines saved in one batch, after a review', async () => {
    await page.getByRole('link', { name: 'Production' }).first().click();
    await page.getByRole('table', { name: /Secrets in Production/ }).waitFor();
    await axe(page, 'environment');
    await shot(page, 'environment');
    await page.getByRole('button', { name: 'Bulk edit' }).click();
    const area = page.getByLabel('Production as .env');
    const before = await area.inputValue();
    assert.match(before, /^DATABASE_URL=postgres:\/\/prod-db\/shop$/m);
    const lines = Array.from({ length: 50 }, (_, i) => `BULK_${i + 1}="bulk value ${i + 1}"`);
    PLAIN.push('bulk value 17');
    await area.fill(before + lines.join('\n') + '\n');
    await axe(page, 'bulk edit');
    await page.getByRole('button', { name: 'Review changes' }).click();
    const review = page.getByRole('dialog', { name: 'Review changes' });
    await review.getByText('50 added, 0 changed, 0 deleted').waitFor();
    await axe(page, 'review dialog');
    await shot(page, 'bulk-review');
    const batches = [];
    const onReq = (r) => r.method() === 'POST' && r.url().includes('/secrets/batch') && batches.push(JSON.parse(r.postData()));
    page.on('request', onReq);
    await review.getByRole('button', { name: 'Save 50 changes' }).click();
    await page.getByRole('table', { name: /Secrets in Production/ }).waitFor();
    page.off('request', onReq);
    assert.equal(batches.length, 1, 'one batch request');
    assert.equal(batches[0].secrets.length, 50);
    const env = await runEnv(cli, 'prod');
    for (let i = 1; i <= 50; i++) assert.equal(env[`BULK_${i}`], `bulk value ${i}`);
    assert.equal(env.DATABASE_URL, 'postgres://prod-db/shop', 'untouched keys stay');
});

test('filter as you type, on keys and on decrypted values', async () => {
    const filter = page.getByLabel('Filter', { exact: true });
    await filter.fill('bulk value 17');
    await page.getByRole('row', { name: /BULK_17/ }).waitFor();
    assert.equal(await page.getByRole('table', { name: /Secrets in Production/ }).getByRole('row').count(), 2);
    await filter.fill('stripe');
    await page.getByRole('row', { name: /STRIPE_KEY/ }).waitFor();
    await filter.fill('');
});

test('history: versions, compare, and rollback of one secret; the CLI reads the old value', async () => {
    const row = page.getByRole('row', { name: /STRIPE_KEY/ });
    await row.getByRole('button', { name: 'Edit' }).click();
    const dlg = page.getByRole('dialog', { name: 'Edit STRIPE_KEY' });
    await dlg.getByLabel('Value').fill('sk_live_rotated');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    PLAIN.push('sk_live_rotated');
    assert.equal((await runEnv(cli, 'prod')).STRIPE_KEY, 'sk_live_rotated');
    await row.locator('summary').click(); // the More menu (a <details> disclosure)
    await row.getByRole('button', { name: 'History' }).click();
    const h = page.getByRole('dialog', { name: 'History of STRIPE_KEY' });
    await h.getByText('v2').waitFor();
    await h.getByRole('checkbox', { name: 'Compare version 1' }).check();
    await h.getByRole('checkbox', { name: 'Compare version 2' }).check();
    await h.getByText('sk_live_same_everywhere').waitFor();
    await axe(page, 'history dialog');
    await shot(page, 'history');
    await h.getByRole('button', { name: 'Roll back to v1' }).click();
    await h.getByText('v3').waitFor();
    await h.getByRole('button', { name: 'Close' }).click();
    assert.equal((await runEnv(cli, 'prod')).STRIPE_KEY, 'sk_live_same_everywhere');
});

test('a reference: marked, resolved in the browser when revealed, as arca run resolves it', async () => {
    await page.getByRole('button', { name: 'Add secret' }).click();
    const dlg = page.getByRole('dialog', { name: 'Add secret' });
    await dlg.getByLabel('Key').fill('DB_SSL');
    await dlg.getByLabel('Value').fill('${DATABASE_URL}?sslmode=require');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    const row = page.getByRole('row', { name: /DB_SSL/ });
    await row.getByText('reference').waitFor();
    await row.getByRole('button', { name: 'Reveal' }).click();
    await row.getByText('postgres://prod-db/shop?sslmode=require').waitFor();
    PLAIN.push('postgres://prod-db/shop?sslmode=require');
    assert.equal((await runEnv(cli, 'prod')).DB_SSL, 'postgres://prod-db/shop?sslmode=require');
});

test('a value is text: markup in a value or comment is shown, never run', async () => {
    await page.getByRole('button', { name: 'Add secret' }).click();
    const dlg = page.getByRole('dialog', { name: 'Add secret' });
    await dlg.getByLabel('Key').fill('XSS_PROBE');
    await dlg.getByLabel('Value').fill(XSS);
    await dlg.getByLabel('Comment').fill('<script>window.__xss=2</script>');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    const row = page.getByRole('row', { name: /XSS_PROBE/ });
    await row.getByRole('button', { name: 'Reveal' }).click();
    await row.getByText(XSS).waitFor();
    assert.equal(await row.locator('img').count(), 0);
    assert.equal(await row.locator('script').count(), 0);
    await page.goto(server.url + projectUrl); // and in the grid
    await signIn(page, ADMIN, PASSWORD);
    const g = page.getByRole('row', { name: /XSS_PROBE/ });
    await g.getByRole('button', { name: 'Reveal' }).click();
    await cell(page, 'XSS_PROBE', 'Production').getByText(XSS).waitFor();
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal((await runEnv(cli, 'prod')).XSS_PROBE, XSS);
});

test('invite -> sign-up in a second browser -> a viewer sees the project, no edit control, and the server refuses', async () => {
    await page.getByRole('link', { name: 'Access' }).click();
    await page.getByRole('heading', { name: 'Members' }).waitFor();
    await page.getByLabel('Email to invite').fill('viewer@example.com');
    await page.getByRole('button', { name: 'Create invite' }).click();
    const link = await page.getByRole('dialog', { name: 'Invite link' }).locator('pre').textContent();
    assert.match(link, /\/signup#token=arca_inv_/, 'the token travels in the fragment');
    await axe(page, 'access (invite link)');
    await page.getByRole('dialog', { name: 'Invite link' }).getByRole('button', { name: 'Done' }).click();

    const ctx2 = await newContext(browser);
    const p2 = await ctx2.newPage();
    const e2 = watchErrors(p2);
    const viewerPassword = randomPassword();
    await p2.goto(link);
    assert.equal(await p2.getByLabel('Email').inputValue(), 'viewer@example.com');
    await axe(p2, 'sign up');
    await shot(p2, 'signup');
    await p2.getByLabel('Password', { exact: true }).fill(viewerPassword);
    await p2.getByLabel('Confirm password').fill(viewerPassword);
    await p2.getByRole('button', { name: 'Create account' }).click();
    await p2.getByRole('heading', { name: 'Projects' }).waitFor();
    assert.ok(!p2.url().includes('arca_inv_'), 'the used token leaves the address bar');

    await page.getByLabel('Member email').fill('viewer@example.com');
    await page.getByRole('combobox', { name: 'Role', exact: true }).selectOption('viewer');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByRole('row', { name: /viewer@example.com/ }).waitFor();
    await axe(page, 'access');
    await shot(page, 'access');

    await p2.reload();
    await signIn(p2, 'viewer@example.com', viewerPassword);
    await p2.getByRole('link', { name: /shop/ }).click();
    await cell(p2, 'DATABASE_URL', 'Production').waitFor();
    await p2.getByRole('row', { name: /DATABASE_URL/ }).getByRole('button', { name: 'Reveal' }).click();
    await cell(p2, 'DATABASE_URL', 'Production').getByText('postgres://prod-db/shop').waitFor();
    for (const name of ['Add secret', 'Edit', 'Delete', 'New folder'])
        assert.equal(await p2.getByRole('button', { name, exact: true }).count(), 0, `a viewer sees no ${name}`);
    await p2.getByRole('link', { name: 'Production' }).first().click();
    await p2.getByRole('table', { name: /Secrets in Production/ }).waitFor();
    for (const name of ['Add secret', 'Bulk edit', 'Edit'])
        assert.equal(await p2.getByRole('button', { name, exact: true }).count(), 0, `a viewer sees no ${name}`);
    // and the server refuses the write anyway (from the viewer's own CLI)
    const vcli = await newCli(server);
    const l = await vcli.arca(['login', '--email', 'viewer@example.com', '--password-stdin'], { input: viewerPassword + '\n' });
    assert.equal(l.code, 0, l.stderr);
    const w = await vcli.arca(['secrets', 'set', '--project-id', projectId, '--env=prod', 'HACK=1']);
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /not allowed/);
    // and from the browser session: a write request is refused 403, in words
    const status = await p2.evaluate(async (pid) => {
        const r = await fetch(`/api/arca/v1/projects/${pid}/secrets/batch`, { method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ environment: 'prod', secretPath: '/', secrets: [{ key: 'HACK', delete: true }] }) });
        return r.status;
    }, projectId);
    assert.equal(status, 401, 'no ambient credential: the browser holds no cookie');
    assert.deepEqual(e2.filter((e) => !/status of 40[13]/.test(e)), []);
    await ctx2.close();
});

test('a machine identity made in the browser: its client secret shown once, arca run logs in with it', async () => {
    await page.getByRole('link', { name: 'Access' }).click();
    await page.getByLabel('Identity name').fill('deploy-bot');
    await page.getByRole('button', { name: 'Create identity' }).click();
    const dlg = page.getByRole('dialog', { name: 'Client secret' });
    const secret = (await dlg.locator('pre').textContent()).trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    PLAIN.push(secret);
    const clientId = /client ID (\S+)/.exec(await dlg.textContent())[1];
    await axe(page, 'client secret dialog');
    await dlg.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('row', { name: /deploy-bot/ }).getByText('in this project').waitFor();
    const bot = await newCli(server);
    const r = await bot.arca(['run', '--project-id', projectId, '--env=prod', '--', process.execPath, '-e',
        'process.stdout.write(process.env.DATABASE_URL || "")'], { env: { ARCA_CLIENT_ID: clientId, ARCA_CLIENT_SECRET: secret } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'postgres://prod-db/shop');
});

test('a custom role with allow and deny rules, made and deleted from the Access screen', async () => {
    await page.getByLabel('Role slug').fill('developer');
    await page.getByRole('group', { name: 'Actions of rule 1' }).getByRole('checkbox', { name: 'create' }).check();
    await page.getByRole('group', { name: 'Actions of rule 1' }).getByRole('checkbox', { name: 'edit' }).check();
    await page.getByRole('group', { name: /Environments of rule 1/ }).getByRole('checkbox', { name: 'Development' }).check();
    await page.getByRole('group', { name: /Environments of rule 1/ }).getByRole('checkbox', { name: 'Staging' }).check();
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Effect').nth(1).selectOption('deny');
    await page.getByRole('group', { name: 'Actions of rule 2' }).getByRole('checkbox', { name: 'edit' }).check();
    await page.getByRole('group', { name: /Environments of rule 2/ }).getByRole('checkbox', { name: 'Production' }).check();
    await axe(page, 'access (new role)');
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.getByText('allow secrets: read, create, edit in dev, staging at /**').waitFor();
    await page.getByText('deny secrets: read, edit in prod at /**').waitFor();
    await shot(page, 'roles');
    await page.getByRole('button', { name: 'Delete role developer' }).click();
    await page.getByText('Role developer deleted.').waitFor();
});

test('audit log and settings screens', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: 'secret.create' }).first().waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/Chain intact: \d+ records verified/).waitFor();
    await axe(page, 'audit log');
    await shot(page, 'audit');
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Environments' }).waitFor();
    await page.getByLabel('Environment name').fill('QA');
    await page.getByRole('button', { name: 'Add environment' }).click();
    await page.getByRole('textbox', { name: 'Name of qa' }).waitFor();
    await axe(page, 'settings');
    await shot(page, 'settings');
    await page.getByRole('button', { name: 'Rotate the project key' }).click();
    await page.getByRole('dialog', { name: 'Rotate the project key' }).getByRole('button', { name: 'Rotate' }).click();
    await page.getByText(/Key rotated: \d+ versions sealed again for 3 members/).waitFor();
    assert.equal((await runEnv(cli, 'prod')).DATABASE_URL, 'postgres://prod-db/shop', 'the CLI opens the new key');
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('columnheader', { name: 'QA' }).waitFor();
});

test('folder rollback to a time, with a preview; the CLI reads the old value', async () => {
    await page.getByRole('link', { name: 'Secrets' }).click();
    await page.getByRole('link', { name: 'QA' }).click();
    await page.getByRole('heading', { name: 'No secret in QA' }).waitFor();
    await page.getByRole('button', { name: 'Add secret' }).click();
    const dlg = page.getByRole('dialog', { name: 'Add secret' });
    await dlg.getByLabel('Key').fill('ROLL');
    await dlg.getByLabel('Value').fill('first');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    // a moment between the two writes, at the input's precision (a second)
    await new Promise((r) => setTimeout(r, 1100));
    const mid = new Date();
    await new Promise((r) => setTimeout(r, 1100));
    const row = page.getByRole('row', { name: /ROLL/ });
    await row.getByRole('button', { name: 'Edit' }).click();
    const ed = page.getByRole('dialog', { name: 'Edit ROLL' });
    await ed.getByLabel('Value').fill('second');
    await ed.getByRole('button', { name: 'Save' }).click();
    await ed.waitFor({ state: 'hidden' });
    assert.equal((await runEnv(cli, 'qa')).ROLL, 'second');
    await page.getByText('More', { exact: true }).click();
    await page.getByRole('button', { name: 'Roll back folder…' }).click();
    const rb = page.getByRole('dialog', { name: /Roll back QA/ });
    const pad = (n) => String(n).padStart(2, '0');
    await rb.getByLabel('Back to (your local time)').fill(`${mid.getFullYear()}-${pad(mid.getMonth() + 1)}-${pad(mid.getDate())}T` +
        `${pad(mid.getHours())}:${pad(mid.getMinutes())}:${pad(mid.getSeconds())}`);
    await rb.getByRole('button', { name: 'Preview' }).click();
    await rb.getByText('back to version 1').waitFor();
    await axe(page, 'folder rollback dialog');
    await rb.getByRole('button', { name: 'Roll back', exact: true }).click();
    await rb.waitFor({ state: 'hidden' });
    assert.equal((await runEnv(cli, 'qa')).ROLL, 'first');
});

test('command palette, lock and unlock', async () => {
    await page.keyboard.press('Control+K');
    const cmd = page.getByRole('combobox', { name: 'Command' });
    await cmd.waitFor();
    await axe(page, 'command palette');
    await cmd.fill('staging');
    await page.keyboard.press('Enter');
    await page.getByRole('table', { name: /Secrets in Staging/ }).waitFor();
    await page.getByRole('button', { name: 'Lock' }).click();
    await page.getByRole('heading', { name: 'Locked' }).waitFor();
    await axe(page, 'locked');
    assert.ok(!(await page.content()).includes('staging-db'));
    await page.getByLabel('Password', { exact: true }).fill('wrong password');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('alert').filter({ hasText: /Invalid email or password/i }).waitFor();
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('table', { name: /Secrets in Staging/ }).waitFor();
});

test('opt-in per tab: "Stay unlocked in this tab" survives a reload, not a new tab nor a lock', async () => {
    const c = await newContext(browser);
    const p = await c.newPage();
    await p.goto(server.url + projectUrl);
    await p.getByLabel('Email').fill(ADMIN);
    await p.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await p.getByRole('checkbox', { name: /Stay unlocked in this tab/ }).check();
    await p.getByRole('button', { name: 'Sign in' }).click();
    await cell(p, 'DATABASE_URL', 'Production').waitFor();
    await p.reload();
    await cell(p, 'DATABASE_URL', 'Production').waitFor(); // no password asked
    assert.equal(await p.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
    const other = await c.newPage();
    await other.goto(server.url + projectUrl);
    await other.getByRole('heading', { name: 'Sign in' }).waitFor(); // another tab: not unlocked
    await p.getByRole('button', { name: 'Lock' }).click();
    await p.getByRole('heading', { name: 'Locked' }).waitFor();
    await p.reload();
    await p.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await p.evaluate(() => sessionStorage.length), 0, 'the lock forgot the tab\'s session');
    await c.close();
});

test('a share link from the CLI opens in a browser with no account, once', async () => {
    const r = await cli.arca(['share', 'create', '--value-stdin'], { input: 'shared <b>once</b>\n' });
    assert.equal(r.code, 0, r.stderr);
    const link = /http\S+\/s\/\S+#\S+/.exec(r.stdout)[0];
    PLAIN.push('shared <b>once</b>');
    const c = await newContext(browser);
    const p = await c.newPage();
    await p.goto(link);
    await p.getByRole('heading', { name: 'A shared secret' }).waitFor();
    await p.getByText('It can be opened once').waitFor();
    await axe(p, 'share link');
    await p.getByRole('button', { name: 'Reveal secret' }).click();
    await p.getByLabel('Shared value').getByText('shared <b>once</b>').waitFor();
    assert.ok(!p.url().includes('#'), 'the key leaves the address bar');
    await assertReadable(p.getByLabel('Shared value'), p.getByRole('button'), p.getByRole('main'), 'share page');
    await shot(p, 'share-open');
    const p2 = await c.newPage();
    await p2.goto(link);
    await p2.getByRole('alert').filter({ hasText: /does not exist, has expired or has been viewed already/ }).waitFor();
    const traffic = c.traffic();
    assert.ok(!traffic.includes('shared <b>once</b>') && !traffic.includes(link.split('#')[1]), 'neither the value nor the link key on the wire');
    await c.close();
});

test('idle lock after 30 minutes', async () => {
    const c = await newContext(browser);
    const p = await c.newPage();
    await p.clock.install();
    await p.goto(server.url + '/login');
    await signIn(p, ADMIN, PASSWORD);
    await p.getByRole('heading', { name: 'Projects' }).waitFor();
    await p.clock.fastForward('29:00');
    assert.equal(await p.getByRole('heading', { name: 'Locked' }).count(), 0);
    await p.clock.fastForward('02:00');
    await p.getByRole('heading', { name: 'Locked' }).waitFor();
    await c.close();
});

test('the whole session: no value, password or key in clear on the wire, no other origin, no script error', () => {
    const traffic = ctx.traffic();
    assert.ok(traffic.length > 1000);
    for (const v of [...PLAIN, PASSWORD, XSS])
        assert.ok(!traffic.includes(v) && !traffic.includes(JSON.stringify(v).slice(1, -1)), `in clear on the wire: ${v}`);
    assert.deepEqual(ctx.otherOrigins, []);
    assert.deepEqual(errors.filter((e) => !/status of 40[13]/.test(e)), []);
});

test('screenshots of every screen: light and dark, 375 and 1280 px wide, with axe in each', async () => {
    for (const colorScheme of ['light', 'dark'])
        for (const width of [375, 1280]) {
            const c = await newContext(browser, { colorScheme, width, height: width < 500 ? 812 : 860 });
            const p = await c.newPage();
            await p.goto(server.url + '/login');
            await shot(p, 'signin');
            await signIn(p, ADMIN, PASSWORD);
            await p.getByRole('heading', { name: 'Projects' }).waitFor();
            await shot(p, 'projects');
            await p.getByRole('link', { name: /shop/ }).click();
            await cell(p, 'DATABASE_URL', 'Production').waitFor();
            const dbRow = p.getByRole('row', { name: /DATABASE_URL/ });
            await dbRow.getByRole('button', { name: 'Reveal' }).click();
            // a revealed row, under the mouse and then with the keyboard on a
            // cell's button: no button lies over a value
            const readable = async (how) => {
                for (const e of ['Development', 'Staging', 'Production']) {
                    const g = cell(p, 'DATABASE_URL', e);
                    await assertReadable(g.locator('.value'), g.getByRole('button'), g.locator('xpath=..'), `overview, ${e}, ${how}, ${colorScheme} ${width}`);
                }
            };
            await cell(p, 'DATABASE_URL', 'Production').locator('.value').waitFor();
            await dbRow.getByRole('rowheader').hover();
            await readable('hovered');
            await shotOf(dbRow, 'overview-revealed-row');
            await p.keyboard.press('Tab'); // from Hide to the first cell's first button
            assert.equal(await p.evaluate(() => document.activeElement?.closest('[role=group]')?.getAttribute('aria-label') + ' ' + document.activeElement?.getAttribute('aria-label')),
                'DATABASE_URL in Development Copy');
            await readable('focused');
            if (colorScheme === 'dark') await axe(p, `overview ${colorScheme} ${width}`);
            await shot(p, 'overview');
            await p.getByRole('link', { name: 'Production' }).first().click();
            await p.getByRole('table', { name: /Secrets in Production/ }).waitFor();
            const envRow = p.getByRole('row', { name: /DATABASE_URL/ });
            await envRow.getByRole('button', { name: 'Reveal' }).click();
            await assertReadable(envRow.locator('.value'), envRow.locator('button, summary'), envRow.locator('td.valcell'), `environment, ${colorScheme} ${width}`);
            await shotOf(envRow, 'environment-revealed-row');
            if (colorScheme === 'dark') await axe(p, `environment ${colorScheme} ${width}`);
            await shot(p, 'environment');
            await envRow.locator('summary').click();
            await envRow.getByRole('button', { name: 'History' }).click();
            const h = p.getByRole('dialog', { name: 'History of DATABASE_URL' });
            await h.getByRole('button', { name: 'Reveal values' }).click();
            const v1 = h.getByRole('row', { name: /v1/ });
            await assertReadable(v1.locator('.value'), v1.locator('button, input'), v1.locator('td.valcell'), `history, ${colorScheme} ${width}`);
            await shotOf(h, 'history-revealed');
            await p.keyboard.press('Escape');
            await h.waitFor({ state: 'hidden' });
            await p.getByRole('button', { name: 'Add secret' }).click();
            await shot(p, 'add-secret');
            await p.keyboard.press('Escape');
            await p.getByRole('link', { name: 'Access' }).click();
            await p.getByRole('heading', { name: 'Members' }).waitFor();
            await shot(p, 'access');
            await p.getByRole('link', { name: 'Audit log' }).click();
            await p.getByRole('cell', { name: 'secret.create' }).first().waitFor();
            await shot(p, 'audit');
            await p.getByRole('link', { name: 'Settings' }).click();
            await p.getByRole('heading', { name: 'Environments' }).waitFor();
            if (colorScheme === 'dark') await axe(p, `settings ${colorScheme} ${width}`);
            await shot(p, 'settings');
            await c.close();
        }
});
