// Helpers of the browser tests: Debian's Chromium driven by playwright-core
// (never a browser downloaded by npm: tools/lib/deps.sh installs chromium),
// every request and response of a page recorded, axe-core on demand, and
// screenshots in tests/web/screenshots/ (git-ignored) for people to look at.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import AxeBuilder from '@axe-core/playwright';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.ARCA_CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');

export async function launch() {
    return chromium.launch({
        executablePath: CHROMIUM,
        // root in CI containers: Chromium's sandbox needs user namespaces
        args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
}

/* A context with its traffic recorded: traffic() is every request line, request
 * body and response body of the API, as text. */
export async function newContext(browser, { colorScheme = 'light', width = 1280, height = 860 } = {}) {
    const ctx = await browser.newContext({ colorScheme, viewport: { width, height }, reducedMotion: 'reduce' });
    // an upper bound for waits, not a figure: the suite shares 2 cores with two other lanes
    ctx.setDefaultTimeout(60000);
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write']);
    const log = [];
    const others = [];
    ctx.on('request', (req) => {
        log.push(`${req.method()} ${req.url()} ${req.postData() ?? ''}`);
        const u = new URL(req.url());
        if (!['127.0.0.1', 'localhost'].includes(u.hostname) && !['data:', 'blob:'].includes(u.protocol))
            others.push(req.url());
    });
    ctx.on('response', async (res) => {
        if (!res.url().includes('/api/')) return;
        try {
            log.push(`${res.status()} ${res.url()} ${await res.text()}`);
        } catch {
            /* a body already gone (navigation) */
        }
    });
    ctx.traffic = () => log.join('\n');
    ctx.otherOrigins = others;
    return ctx;
}

/* No serious or critical violation on the page as it is now. */
export async function axe(page, what) {
    const r = await new AxeBuilder({ page }).analyze();
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`), [],
        `axe-core on ${what}`);
}

/* the viewport (what a person sees first) at SHOTS/<name>-<scheme>-<width>.png */
export async function shot(page, name) {
    await mkdir(SHOTS, { recursive: true });
    const scheme = await page.evaluate(() => (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
    const w = page.viewportSize().width;
    await page.screenshot({ path: path.join(SHOTS, `${name}-${scheme}-${w}.png`), fullPage: false });
}

/* a part of the page (a row, a dialog) at SHOTS/<name>-<scheme>-<width>.png */
export async function shotOf(locator, name) {
    await mkdir(SHOTS, { recursive: true });
    const page = locator.page();
    const scheme = await page.evaluate(() => (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
    await locator.screenshot({ path: path.join(SHOTS, `${name}-${scheme}-${page.viewportSize().width}.png`) });
}

/* A revealed value can be read: the box of no control lies over the value's
 * (hidden or not: an invisible button still takes the clicks), the value stays
 * inside its cell (within), and what is on top at the middle of each of its
 * lines on screen is the value itself. */
export async function assertReadable(value, controls, within, what) {
    const v = await value.boundingBox();
    assert.ok(v && v.width > 0 && v.height > 0, `${what}: the value is not displayed`);
    const n = await controls.count();
    assert.ok(n > 0, `${what}: no control to compare with`);
    for (let i = 0; i < n; i++) {
        const b = await controls.nth(i).boundingBox();
        if (!b) continue; // not displayed at all
        const apart = b.x >= v.x + v.width || v.x >= b.x + b.width || b.y >= v.y + v.height || v.y >= b.y + b.height;
        assert.ok(apart, `${what}: "${(await controls.nth(i).textContent()).trim()}" ${JSON.stringify(b)} lies over the value ${JSON.stringify(v)}`);
    }
    const c = await within.boundingBox();
    assert.ok(v.x >= c.x - 0.5 && v.x + v.width <= c.x + c.width + 0.5, `${what}: the value ${JSON.stringify(v)} runs out of its cell ${JSON.stringify(c)}`);
    const covered = await value.evaluate((el) => {
        // the part of the screen where the value can show: the window, less what
        // a scrolling box around it clips
        let [l, t, r, b] = [0, 0, innerWidth, innerHeight];
        for (let a = el.parentElement; a; a = a.parentElement) {
            if (getComputedStyle(a).overflow === 'visible') continue;
            const q = a.getBoundingClientRect();
            [l, t, r, b] = [Math.max(l, q.left), Math.max(t, q.top), Math.min(r, q.right), Math.min(b, q.bottom)];
        }
        return [...el.getClientRects()]
            .map((q) => [q.left + q.width / 2, q.top + q.height / 2])
            .filter(([x, y]) => x >= l && y >= t && x < r && y < b)
            .map(([x, y]) => document.elementFromPoint(x, y))
            .filter((e) => !e || !el.contains(e))
            .map((e) => e?.outerHTML.slice(0, 80));
    });
    assert.deepEqual(covered, [], `${what}: something lies over the value`);
}

/* Every non-2xx API reply is a bug of the test unless it expects one. */
export function watchErrors(page) {
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    return errors;
}
