// Actions of the web app that app.test.mjs does not drive (issue 12), each
// checked on the other side with the real CLI: Ctrl/Cmd-S reviewing and saving
// a staged bulk edit, the unsaved-changes warning, a .env file dropped onto bulk
// edit, downloading .env and JSON, changing a member's role and removing a
// member, renaming, reordering and deleting an environment (a used one refused),
// and turning server access on and off.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { bootstrapAndLogin, createProject, inviteAndSignup, newCli, removeTempDirs, startServer } from '../e2e/harness.mjs';
import { axe, launch, newContext, watchErrors } from './browser.mjs';

let server, browser, ctx, page, errors, cli, admin, project, other;

before(async () => {
    server = await startServer();
    cli = await newCli(server);
    admin = await bootstrapAndLogin(cli);
    project = await createProject(cli, 'shop');
    const w = await cli.arca(['secrets', 'set', '--project-id', project.id, '--env=dev', 'ALPHA=one', 'BETA=two', 'GAMMA=three']);
    assert.equal(w.code, 0, w.stderr);
    other = await inviteAndSignup(cli, server, 'bob@example.com');
    const m = await cli.arca(['members', 'add', 'bob@example.com', '--role', 'viewer', '--project-id', project.id]);
    assert.equal(m.code, 0, m.stderr);
    browser = await launch();
    ctx = await newContext(browser);
    page = await ctx.newPage();
    errors = watchErrors(page);
    await page.goto(server.url + `/projects/${project.id}/env/dev`);
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('table', { name: /Secrets in Development/ }).waitFor();
});
after(async () => {
    await browser?.close();
    await server?.stop();
    await removeTempDirs();
});

async function values(env = 'dev') {
    const r = await cli.arca(['export', '--project-id', project.id, `--env=${env}`, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
}

const editor = () => page.getByLabel('Development as .env');

test('bulk edit: a dropped .env file is staged, Ctrl-S reviews, Ctrl-S again saves in one batch', async () => {
    await page.getByRole('button', { name: 'Bulk edit' }).click();
    await editor().waitFor();
    // drop a file onto the editor
    const dt = await page.evaluateHandle(() => {
        const d = new DataTransfer();
        d.items.add(new File(['DROPPED=from-a-file\nALPHA=changed\n'], 'extra.env', { type: 'text/plain' }));
        return d;
    });
    await page.locator('.drop').dispatchEvent('drop', { dataTransfer: dt });
    await page.getByText(/2 changes staged/).waitFor();
    assert.match(await editor().inputValue(), /DROPPED=from-a-file/);
    // and delete GAMMA by hand
    await editor().fill((await editor().inputValue()).replace(/^GAMMA=.*\n?/m, ''));
    await page.getByText(/3 changes staged/).waitFor();
    await editor().press('Control+s');
    const review = page.getByRole('dialog', { name: 'Review changes' });
    await review.waitFor();
    await axe(page, 'review changes');
    assert.equal(JSON.stringify(await values()), JSON.stringify({ ALPHA: 'one', BETA: 'two', GAMMA: 'three' }), 'nothing saved before the second Ctrl-S');
    await page.keyboard.press('Control+s');
    await page.getByText('Saved 3 changes in Development.').waitFor();
    assert.deepEqual(await values(), { ALPHA: 'changed', BETA: 'two', DROPPED: 'from-a-file' });
});

test('leaving a bulk edit with unsaved changes asks first: stay, then leave', async () => {
    await page.getByRole('button', { name: 'Bulk edit' }).click();
    await editor().fill((await editor().inputValue()) + 'UNSAVED=1\n');
    const asked = [];
    const onDialog = async (d) => {
        asked.push(d.message());
        if (asked.length === 1) await d.dismiss();
        else await d.accept();
    };
    page.on('dialog', onDialog);
    await page.getByRole('link', { name: 'Overview' }).click();
    await editor().waitFor(); // stayed
    assert.equal(asked.length, 1);
    assert.match(asked[0], /The bulk edit of Development has unsaved changes\. Leave anyway\?/);
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('table', { name: /in every environment/ }).waitFor();
    page.off('dialog', onDialog);
    assert.equal(asked.length, 2);
    assert.ok(!('UNSAVED' in (await values())), 'leaving saved nothing');
});

test('downloads: .env and JSON hold the environment\'s values', async () => {
    await page.getByRole('link', { name: 'Secrets' }).click();
    await page.getByRole('table', { name: /Secrets in Development/ }).waitFor();
    for (const [label, check] of [
        ['Download .env', (t) => assert.match(t, /^ALPHA=["']?changed["']?$/m) && assert.match(t, /^DROPPED=["']?from-a-file["']?$/m)],
        ['Download JSON', (t) => assert.deepEqual(JSON.parse(t), { ALPHA: 'changed', BETA: 'two', DROPPED: 'from-a-file' })],
    ]) {
        await page.locator('details.menu > summary').first().click();
        const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: label }).click()]);
        assert.match(dl.suggestedFilename(), label.endsWith('JSON') ? /^shop-dev\.json$/ : /^shop-dev\.env$/);
        check(await readFile(await dl.path(), 'utf8'));
    }
});

test('a member\'s role changed, then the member removed', async () => {
    await page.getByRole('link', { name: 'Access' }).click();
    const role = page.getByLabel('Role of bob@example.com');
    await role.waitFor();
    assert.equal(await role.inputValue(), 'viewer');
    await role.selectOption('member');
    await page.getByText('bob@example.com is now member.').waitFor();
    let m = await cli.arca(['members', 'list', '--project-id', project.id, '--format', 'json']);
    assert.equal(JSON.parse(m.stdout).find((x) => x.name === 'bob@example.com' || x.email === 'bob@example.com')?.role, 'member', m.stdout);
    // bob can now write
    const w = await other.cli.arca(['secrets', 'set', '--project-id', project.id, '--env=dev', 'BOB=wrote']);
    assert.equal(w.code, 0, w.stderr);

    await page.getByRole('button', { name: 'Remove bob@example.com' }).click();
    const dlg = page.getByRole('dialog', { name: 'Remove member' });
    await dlg.getByRole('button', { name: 'Remove' }).click();
    await page.getByLabel('Role of bob@example.com').waitFor({ state: 'detached' });
    m = await cli.arca(['members', 'list', '--project-id', project.id, '--format', 'json']);
    assert.ok(!m.stdout.includes('bob@example.com'), m.stdout);
    const r = await other.cli.arca(['secrets', 'get', 'ALPHA', '--project-id', project.id, '--env=dev']);
    assert.notEqual(r.code, 0, 'removed: refused');
});

test('environments: rename, reorder, delete an unused one; a used one is refused', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    const name = page.getByLabel('Name of dev');
    await name.fill('Dev box');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByText('Renamed.').waitFor();
    const list = async () => {
        const r = await cli.arca(['environments', 'list', '--project-id', project.id, '--format', 'json']);
        assert.equal(r.code, 0, r.stderr);
        const j = JSON.parse(r.stdout);
        return (j.environments ?? j).slice().sort((a, b) => a.position - b.position);
    };
    assert.equal((await list()).find((e) => e.slug === 'dev').name, 'Dev box');
    const before = (await list()).map((e) => e.slug);
    await page.getByRole('button', { name: 'Move Dev box down' }).click();
    await page.getByText('Order saved.').waitFor();
    const after1 = (await list()).map((e) => e.slug);
    assert.deepEqual(after1, [before[1], before[0], ...before.slice(2)]);
    await page.getByRole('button', { name: 'Move Dev box up' }).waitFor();

    await page.getByLabel('Environment name').fill('Scratch');
    await page.getByRole('button', { name: 'Add environment' }).click();
    await page.getByRole('button', { name: 'Delete Scratch' }).click();
    await page.getByRole('dialog', { name: 'Delete environment' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Scratch deleted.').waitFor();
    assert.ok(!(await list()).some((e) => e.slug === 'scratch'));

    await page.getByRole('button', { name: 'Delete Dev box' }).click();
    await page.getByRole('dialog', { name: 'Delete environment' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alert').filter({ hasText: /.+/ }).first().waitFor();
    assert.ok((await list()).some((e) => e.slug === 'dev'), 'an environment with secrets is kept');
});

test('server access: given, then taken back', async () => {
    const flag = async () => {
        const r = await cli.arca(['projects', 'list', '--format', 'json']);
        const j = JSON.parse(r.stdout);
        return (j.projects ?? j).find((p) => p.id === project.id).serverAccess;
    };
    assert.equal(await flag(), false);
    await page.getByRole('button', { name: 'Give the server access' }).click();
    await page.getByRole('dialog', { name: 'Give the server access' }).getByRole('button', { name: 'Give access' }).click();
    await page.getByText('Server access changed.').waitFor();
    await page.getByRole('button', { name: 'Turn server access off' }).waitFor();
    assert.equal(await flag(), true);
    await page.getByRole('button', { name: 'Turn server access off' }).click();
    await page.getByRole('dialog', { name: 'Turn server access off' }).getByRole('button', { name: 'Turn off' }).click();
    await page.getByRole('button', { name: 'Give the server access' }).waitFor();
    assert.equal(await flag(), false);
});

test('no script error', () => {
    assert.deepEqual(errors.filter((e) => !/status of 40[0-9]/.test(e)), []);
});
