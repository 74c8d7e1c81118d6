// The overview grid of a large project (600 keys x 3 environments): only the
// rows near the screen are in the page, scrolling draws the others, the filter
// finds any key, and every value still decrypts in the browser.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { bootstrapAndLogin, createProject, newCli, removeTempDirs, startServer } from '../e2e/harness.mjs';
import * as C from '../../web/src/crypto/index.js';
import { Api, signIn } from '../../web/src/lib/client.js';
import { axe, launch, newContext, shot } from './browser.mjs';

const N = 600;
const key = (i) => `KEY_${String(i).padStart(4, '0')}`;
let server, browser, page;

before(async () => {
    await C.ready();
    server = await startServer();
    const cli = await newCli(server);
    const admin = await bootstrapAndLogin(cli);
    const p = await createProject(cli, 'large');
    const s = await signIn(new Api(server.url), admin.email, admin.password);
    await s.project(p.id);
    for (const env of ['dev', 'staging', 'prod'])
        await s.batch(p.id, env, '/', Array.from({ length: N }, (_, i) => ({ key: key(i), value: `${env === 'prod' ? 'p' : 'x'}-${i}` })));
    browser = await launch();
    const ctx = await newContext(browser);
    page = await ctx.newPage();
    page.setDefaultTimeout(60000);
    await page.goto(`${server.url}/projects/${p.id}`);
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('group', { name: `${key(0)} in Production` }).waitFor();
});
after(async () => {
    await browser?.close();
    await server?.stop();
    await removeTempDirs();
});

test('only the rows near the screen are drawn; scrolling draws the rest', async () => {
    const drawn = await page.locator('table.grid tbody tr[data-key]').count();
    // the screen's rows and 10 either side (a 860 px window holds under 20)
    assert.ok(drawn > 10 && drawn < 45, `${drawn} rows drawn of ${N}`);
    assert.equal(await page.getByRole('group', { name: `${key(N - 1)} in Production` }).count(), 0);
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await page.getByRole('group', { name: `${key(N - 1)} in Production` }).waitFor();
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight / 2));
    await page.getByRole('group', { name: `${key(N / 2)} in Production` }).waitFor();
    // what is on screen is really drawn (no blank band between spacers)
    const onScreen = await page.evaluate(() => [...document.querySelectorAll('table.grid tbody tr[data-key]')]
        .filter((r) => { const b = r.getBoundingClientRect(); return b.bottom > 0 && b.top < innerHeight; }).length);
    assert.ok(onScreen >= 8, `${onScreen} rows on screen`);
    await axe(page, 'large grid');
    await shot(page, 'large-grid');
});

test('the filter finds any key, and its values decrypt', async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.getByLabel('Filter', { exact: true }).fill(key(457));
    const row = page.getByRole('row', { name: new RegExp(key(457)) });
    await row.waitFor();
    await row.getByRole('button', { name: 'Reveal' }).click();
    await page.getByRole('group', { name: `${key(457)} in Production` }).getByText('p-457').waitFor();
    await page.getByRole('group', { name: `${key(457)} in Development` }).getByText('x-457').waitFor();
    assert.equal(await page.locator('table.grid tbody tr[data-key]').count(), 1);
});
