/* The overview grid: one row per key, one column per environment, at a folder
 * path.  A missing key is marked; values stay hidden, but a short keyed
 * fingerprint (computed here, from the project key) shows at a glance which
 * environments hold the same value and which differ.  Reveal, copy, edit in
 * place, add and delete from the grid itself. */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

import type { Secret } from '../lib/client.js';
import { say, sayError, state } from '../state';
import { copyText, Link, Masked, useAsync } from '../ui';
import { AddSecret, Confirm, Crumbs, currentPath, joinPath, NewFolder, withPath } from './common';
import { canWrite, type Loaded } from './projects';
import { ShareDialog } from './share';

const collator = new Intl.Collator('en', { numeric: true });
export const byKey = (a: string, b: string) => collator.compare(a, b);

/* Above this many rows only those near the screen are in the page (spacer rows
 * keep the scroll height): a thousand keys draw as fast as fifty. */
const WINDOW_MIN = 150;
const ROW_EST = 46; // px, a grid row with its values hidden
const OVERSCAN = 10; // rows drawn above and below the screen

type Cell = (Secret & { fp?: string }) | undefined; // fp: computed when first drawn

function hue(fp: string) {
    let h = 0;
    for (const c of fp) h = (h * 31 + c.charCodeAt(0)) % 360;
    return h;
}

/* The filter's text is its own state: a keystroke redraws this box alone, and
 * the rows follow after `delay` ms without typing (over WINDOW_MIN rows). */
function FilterBox(p: { delay: number; onApply: (q: string) => void }) {
    const [text, setText] = useState('');
    useEffect(() => {
        const t = setTimeout(() => p.onApply(text), p.delay);
        return () => clearTimeout(t);
    }, [text]);
    return <input type="search" aria-label="Filter" placeholder="Filter keys" value={text} onInput={(e) => setText(e.currentTarget.value)} />;
}

export function Overview({ l }: { l: Loaded }) {
    const pid = l.project.id;
    const envs = l.project.environments;
    const path = currentPath();
    const base = `/projects/${pid}`;
    const write = canWrite(l.role);
    const { data, error, reload, loading } = useAsync(async () => {
        const s = state.session!;
        performance.mark('grid-start');
        const fp = s.fingerprinter(pid);
        const folderLists = Promise.all(envs.map((e) => s.folders(pid, e.slug, path).catch(() => [])));
        const lists = await Promise.all(envs.map((e) => s.secrets(pid, e.slug, path).catch((x) => x as Error)));
        performance.mark('grid-decrypted');
        const rows = new Map<string, Cell[]>();
        lists.forEach((list, i) => {
            if (list instanceof Error) return;
            for (const sec of list) {
                if (sec.type !== 'shared') continue;
                let r = rows.get(sec.key);
                if (!r) rows.set(sec.key, (r = envs.map(() => undefined)));
                r[i] = { ...sec };
            }
        });
        const folders = [...new Set((await folderLists).flat().map((f: { name: string }) => f.name))].sort();
        const errors = lists.map((x, i) => (x instanceof Error ? `${envs[i].name}: ${x.message}` : '')).filter(Boolean);
        // a cell's fingerprint, computed once, when its row is first drawn: a
        // thousand rows do not wait for three thousand hashes
        const fpOf = (key: string, c: NonNullable<Cell>) => (c.fp ??= c.value === null ? '' : fp(path, key, c.value));
        return { rows: [...rows].sort(([a], [b]) => byKey(a, b)), folders, errors, fpOf };
    }, [pid, path]);

    const [applied, setApplied] = useState(''); // the filter the rows follow
    const tbodyRef = useRef<HTMLTableSectionElement>(null);
    const [win, setWin] = useState({ start: 0, end: 2 * OVERSCAN + Math.ceil(innerHeight / ROW_EST) });
    const rowH = useRef(ROW_EST); // measured: the average height of the rows drawn
    const [shown, setShown] = useState<Set<string>>(new Set());
    const [editing, setEditing] = useState<{ key: string; env: string; value: string } | null>(null);
    const [adding, setAdding] = useState<{ key?: string; envs: string[] } | null>(null);
    const [deleting, setDeleting] = useState<{ key: string; env: string } | null>(null);
    const [sharing, setSharing] = useState<{ name: string; value: string } | null>(null);
    const [folderOpen, setFolderOpen] = useState(false);

    const rows = useMemo(() => {
        const q = applied.trim().toLowerCase();
        return (data?.rows || []).filter(([k]) => !q || k.toLowerCase().includes(q));
    }, [data, applied]);
    const windowed = rows.length > WINDOW_MIN;
    useEffect(() => {
        if (!windowed) return;
        let raf = 0;
        const update = () => {
            raf = 0;
            const tb = tbodyRef.current;
            if (!tb) return;
            const first = Math.max(0, Math.floor(-tb.getBoundingClientRect().top / rowH.current) - OVERSCAN);
            const end = first + Math.ceil(innerHeight / rowH.current) + 2 * OVERSCAN;
            setWin((w) => (w.start === first && w.end === end ? w : { start: first, end }));
        };
        const on = () => {
            if (!raf) raf = requestAnimationFrame(update);
        };
        update();
        addEventListener('scroll', on, { passive: true });
        addEventListener('resize', on);
        return () => {
            removeEventListener('scroll', on);
            removeEventListener('resize', on);
            cancelAnimationFrame(raf);
        };
    }, [windowed, rows]);
    const start = windowed ? Math.min(win.start, rows.length) : 0;
    const end = windowed ? Math.min(win.end, rows.length) : rows.length;
    useLayoutEffect(() => {
        const drawn = tbodyRef.current ? [...tbodyRef.current.rows].filter((r) => r.dataset.key) : [];
        if (drawn.length) rowH.current = drawn.reduce((n, r) => n + r.getBoundingClientRect().height, 0) / drawn.length;
    });
    useEffect(() => {
        if (data) performance.mark('grid-drawn');
    }, [data]);

    const toggle = (k: string) => {
        const n = new Set(shown);
        if (n.has(k)) n.delete(k);
        else n.add(k);
        setShown(n);
    };
    const save = async (key: string, env: string, value: string, comment: string) => {
        try {
            await state.session!.batch(pid, env, path, [{ key, value, comment }]);
            say(`Saved ${key} in ${envs.find((e) => e.slug === env)?.name}.`);
            setEditing(null);
            reload();
        } catch (x) {
            sayError(x);
        }
    };

    return (
        <section aria-labelledby="ov-title">
            <h2 id="ov-title" class="sr-only">
                Overview
            </h2>
            <Crumbs base={base} path={path} root="Overview" />
            <div class="toolbar">
                <FilterBox delay={(data?.rows.length ?? 0) > WINDOW_MIN ? 120 : 0} onApply={setApplied} />
                {write && (
                    <>
                        <button class="primary" onClick={() => setAdding({ envs: envs.map((e) => e.slug) })}>
                            Add secret
                        </button>
                        <button onClick={() => setFolderOpen(true)}>New folder</button>
                    </>
                )}
            </div>
            {error && (
                <p role="alert" class="error">
                    {error}
                </p>
            )}
            {data?.errors.map((e) => (
                <p role="alert" class="error" key={e}>
                    {e}
                </p>
            ))}
            {loading && !data && <p class="muted">Decrypting…</p>}
            {data && (
                <div class="grid-wrap">
                    <table class="grid" aria-label={`Secrets at ${path} in every environment`}>
                        <thead>
                            <tr>
                                <th scope="col">Key</th>
                                {envs.map((e) => (
                                    <th scope="col" key={e.slug}>
                                        <Link href={withPath(`${base}/env/${e.slug}`, path)}>{e.name}</Link>
                                    </th>
                                ))}
                            </tr>
                        </thead>
                        <tbody ref={tbodyRef}>
                            {data.folders.map((f) => (
                                <tr key={`dir:${f}`} class="folder-row">
                                    <th scope="row" colSpan={envs.length + 1}>
                                        <Link href={withPath(base, joinPath(path, f))}>
                                            <span aria-hidden="true">▸ </span>
                                            {f}/
                                        </Link>
                                    </th>
                                </tr>
                            ))}
                            {start > 0 && (
                                <tr aria-hidden="true" class="spacer" style={{ height: `${Math.round(start * rowH.current)}px` }}>
                                    <td colSpan={envs.length + 1} />
                                </tr>
                            )}
                            {rows.slice(start, end).map(([key, cells]) => {
                                const fps = new Set(cells.map((c) => c && data.fpOf(key, c)).filter(Boolean));
                                const differs = fps.size > 1;
                                const missing = cells.some((c) => !c);
                                const open = shown.has(key);
                                return (
                                    <tr key={key} data-key={key} class={differs ? 'differs' : undefined}>
                                        <th scope="row">
                                            <div class="keycell">
                                                <span class="mono key">{key}</span>
                                                {(differs || missing) && (
                                                    <span class="badges">
                                                        {differs && <span class="badge warn">differs</span>}
                                                        {missing && <span class="badge bad">missing</span>}
                                                    </span>
                                                )}
                                                <button class="small" aria-pressed={open} onClick={() => toggle(key)} aria-label={open ? 'Hide' : 'Reveal'} title={`${open ? 'Hide' : 'Reveal'} ${key}`}>
                                                    {open ? 'Hide' : 'Reveal'}
                                                </button>
                                            </div>
                                        </th>
                                        {cells.map((c, i) => {
                                            const env = envs[i];
                                            const label = `${key} in ${env.name}`;
                                            if (editing && editing.key === key && editing.env === env.slug)
                                                return (
                                                    <td key={env.slug}>
                                                        <form
                                                            class="inplace"
                                                            aria-label={`Edit ${label}`}
                                                            onSubmit={(e) => {
                                                                e.preventDefault();
                                                                save(key, env.slug, editing.value, c?.comment || '');
                                                            }}
                                                        >
                                                            <textarea
                                                                aria-label="Value"
                                                                class="mono"
                                                                rows={2}
                                                                value={editing.value}
                                                                ref={(el) => {
                                                                    if (el && document.activeElement?.tagName !== 'TEXTAREA') el.focus();
                                                                }}
                                                                onInput={(e) => setEditing({ ...editing, value: e.currentTarget.value })}
                                                                onKeyDown={(e) => {
                                                                    if (e.key === 'Escape') {
                                                                        e.preventDefault();
                                                                        setEditing(null);
                                                                    }
                                                                    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) save(key, env.slug, editing.value, c?.comment || '');
                                                                }}
                                                            />
                                                            <div class="row-actions">
                                                                <button type="submit" class="primary small">
                                                                    Save
                                                                </button>
                                                                <button type="button" class="small" onClick={() => setEditing(null)}>
                                                                    Cancel
                                                                </button>
                                                            </div>
                                                        </form>
                                                    </td>
                                                );
                                            if (!c)
                                                return (
                                                    <td key={env.slug} class="missing">
                                                        <div role="group" aria-label={label}>
                                                            <span class="bad small">missing</span>
                                                            {write && (
                                                                <button class="small ghost" aria-label={`Add ${key} to ${env.name}`} onClick={() => setAdding({ key, envs: [env.slug] })}>
                                                                    + Add
                                                                </button>
                                                            )}
                                                        </div>
                                                    </td>
                                                );
                                            return (
                                                <td key={env.slug}>
                                                    <div role="group" aria-label={label} class={open ? 'cell open' : 'cell'}>
                                                        {c.fp && (
                                                            <span class="fp mono" style={{ '--h': String(hue(c.fp)) }} title="Fingerprint: the same value shows the same fingerprint">
                                                                {c.fp}
                                                            </span>
                                                        )}
                                                        <span class="cell-value">
                                                            <Masked value={c.value} shown={open} error={c.error} />
                                                        </span>
                                                        <span class="row-actions">
                                                            <button
                                                                class="small ghost"
                                                                aria-label="Copy"
                                                                title={`Copy ${label}`}
                                                                onClick={async () => say((await copyText(c.value ?? '')) ? `Copied ${label}.` : 'The browser refused the clipboard.')}
                                                            >
                                                                Copy
                                                            </button>
                                                            {c.value !== null && !c.error && (
                                                                <button class="small ghost hide-narrow" aria-label="Share" title={`Share ${label}`} onClick={() => setSharing({ name: label, value: c.value ?? '' })}>
                                                                    Share
                                                                </button>
                                                            )}
                                                            {write && (
                                                                <>
                                                                    <button class="small ghost" aria-label="Edit" title={`Edit ${label}`} onClick={() => setEditing({ key, env: env.slug, value: c.value ?? '' })}>
                                                                        Edit
                                                                    </button>
                                                                    <button class="small ghost danger" aria-label="Delete" title={`Delete ${label}`} onClick={() => setDeleting({ key, env: env.slug })}>
                                                                        Delete
                                                                    </button>
                                                                </>
                                                            )}
                                                        </span>
                                                    </div>
                                                </td>
                                            );
                                        })}
                                    </tr>
                                );
                            })}
                            {end < rows.length && (
                                <tr aria-hidden="true" class="spacer" style={{ height: `${Math.round((rows.length - end) * rowH.current)}px` }}>
                                    <td colSpan={envs.length + 1} />
                                </tr>
                            )}
                        </tbody>
                    </table>
                    {data.rows.length === 0 && data.folders.length === 0 && (
                        <div class="empty">
                            <h3>No secret here yet</h3>
                            <p>{write ? 'Add a secret to one or every environment, or paste a whole .env file in an environment’s Bulk edit.' : 'Nothing to show: ask an admin to add secrets.'}</p>
                        </div>
                    )}
                    {data.rows.length > 0 && rows.length === 0 && <p class="muted">No key matches “{applied}”.</p>}
                </div>
            )}
            {adding && (
                <AddSecret
                    key={`${adding.key}:${adding.envs.join()}`}
                    open
                    onClose={() => setAdding(null)}
                    projectId={pid}
                    path={path}
                    envs={envs}
                    checked={adding.envs}
                    presetKey={adding.key}
                    onDone={reload}
                />
            )}
            {sharing && <ShareDialog name={sharing.name} value={sharing.value} onClose={() => setSharing(null)} />}
            <Confirm
                open={!!deleting}
                title="Delete secret"
                body={deleting ? `Delete ${deleting.key} from ${envs.find((e) => e.slug === deleting.env)?.name}? Its history is kept: it can be rolled back.` : ''}
                action="Delete"
                onClose={() => setDeleting(null)}
                onConfirm={async () => {
                    try {
                        await state.session!.batch(pid, deleting!.env, path, [{ key: deleting!.key, delete: true }]);
                        say(`Deleted ${deleting!.key}.`);
                        reload();
                    } catch (x) {
                        sayError(x);
                    }
                }}
            />
            <NewFolder open={folderOpen} onClose={() => setFolderOpen(false)} projectId={pid} path={path} envs={envs.map((e) => e.slug)} onDone={reload} />
        </section>
    );
}
