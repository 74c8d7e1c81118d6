/* One environment at a folder path: folders and breadcrumbs, filter as you
 * type (keys, and values: they are decrypted here anyway), add, edit, delete,
 * comments, multi-line values, personal overrides, history and rollback, and
 * bulk edit: the folder as .env text (typed, pasted or a dropped file), staged,
 * reviewed and saved in one batch (one transaction). */
import { useEffect, useMemo, useState } from 'preact/hooks';

import type { Secret } from '../lib/client.js';
import { badKeys, type Change, diff, parseDotenv, toDotenv } from '../dotenv';
import { emit, say, sayError, state } from '../state';
import { copyText, Dialog, download, Field, Link, Masked, useAsync, when } from '../ui';
import { AddSecret, Confirm, Crumbs, currentPath, joinPath, NewFolder, withPath } from './common';
import { byKey } from './overview';
import { ShareDialog } from './share';
import { canWrite, type Loaded } from './projects';

function History(p: { pid: string; env: string; path: string; k: string; write: boolean; onClose: () => void; onDone: () => void }) {
    const { data, error, reload } = useAsync(() => state.session!.versions(p.pid, p.env, p.path, p.k), [p.k]);
    const [shown, setShown] = useState(false);
    const [cmp, setCmp] = useState<number[]>([]);
    const picked = (data || []).filter((v: { version: number }) => cmp.includes(v.version));
    return (
        <Dialog title={`History of ${p.k}`} open onClose={p.onClose} wide>
            {error && (
                <p role="alert" class="error">
                    {error}
                </p>
            )}
            <div class="toolbar">
                <button aria-pressed={shown} onClick={() => setShown(!shown)}>
                    {shown ? 'Hide values' : 'Reveal values'}
                </button>
                <span class="muted small">Tick two versions to compare them.</span>
            </div>
            <div class="table-wrap">
                <table class="list history">
                    <thead>
                        <tr>
                            <th scope="col">Compare</th>
                            <th scope="col">Version</th>
                            <th scope="col">When</th>
                            <th scope="col">Value</th>
                            <th scope="col">
                                <span class="sr-only">Actions</span>
                            </th>
                        </tr>
                    </thead>
                    <tbody>
                        {(data || []).map((v: Secret & { deleted: boolean; actorId: string }, i: number) => (
                            <tr key={v.version}>
                                <td>
                                    <input
                                        type="checkbox"
                                        aria-label={`Compare version ${v.version}`}
                                        checked={cmp.includes(v.version)}
                                        onChange={(e) => setCmp(e.currentTarget.checked ? [...cmp, v.version].slice(-2) : cmp.filter((x) => x !== v.version))}
                                    />
                                </td>
                                <td>v{v.version}</td>
                                <td>{when(v.updatedAt)}</td>
                                <td class="valcell">{v.deleted ? <span class="badge bad">deleted</span> : <Masked value={v.value} shown={shown} error={v.error} />}</td>
                                <td>
                                    {p.write && i > 0 && (
                                        <button
                                            class="small"
                                            onClick={async () => {
                                                try {
                                                    await state.session!.rollbackOne(p.pid, p.env, p.path, p.k, v.version);
                                                    say(`${p.k} rolled back to version ${v.version}.`);
                                                    reload();
                                                    p.onDone();
                                                } catch (x) {
                                                    sayError(x);
                                                }
                                            }}
                                        >
                                            Roll back to v{v.version}
                                        </button>
                                    )}
                                    {i === 0 && <span class="muted small">current</span>}
                                </td>
                            </tr>
                        ))}
                    </tbody>
                </table>
            </div>
            {picked.length === 2 && (
                <div class="compare" aria-label="Comparison">
                    {picked.map((v: Secret) => (
                        <div key={v.version}>
                            <h3>v{v.version}</h3>
                            <pre class="mono">{v.value ?? '(deleted)'}</pre>
                        </div>
                    ))}
                </div>
            )}
        </Dialog>
    );
}

function Review(p: { changes: Change[]; busy: boolean; onSave: () => void; onClose: () => void }) {
    const n = (k: string) => p.changes.filter((c) => c.kind === k).length;
    return (
        <Dialog title="Review changes" open onClose={p.onClose} wide>
            <p>
                {n('added')} added, {n('changed')} changed, {n('deleted')} deleted — saved together, all or nothing.
            </p>
            <ul class="changes" aria-label="Changes" tabIndex={0}>
                {p.changes.map((c) => (
                    <li key={c.key} class={c.kind}>
                        <span class={`badge ${c.kind === 'deleted' ? 'bad' : c.kind === 'added' ? 'ok' : 'warn'}`}>{c.kind}</span> <span class="mono">{c.key}</span>
                    </li>
                ))}
            </ul>
            <div class="actions">
                <button type="button" onClick={p.onClose}>
                    Back to editing
                </button>
                <button type="button" class="primary" disabled={p.busy || p.changes.length === 0} onClick={p.onSave}>
                    Save {p.changes.length} {p.changes.length === 1 ? 'change' : 'changes'}
                </button>
            </div>
        </Dialog>
    );
}

function Bulk(p: { pid: string; env: string; envName: string; path: string; secrets: Secret[]; onDone: () => void; onCancel: () => void }) {
    const shared = p.secrets.filter((s) => s.type === 'shared');
    const initial = useMemo(() => toDotenv(shared).text, [p.secrets]);
    const [text, setText] = useState(initial);
    const [review, setReview] = useState(false);
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState('');
    const [over, setOver] = useState(false);
    const parsed = useMemo(() => parseDotenv(text), [text]);
    const bad = badKeys(parsed);
    const changes = useMemo(() => diff(shared, parsed), [parsed]);
    useEffect(() => {
        state.dirty = text !== initial ? `The bulk edit of ${p.envName} has unsaved changes.` : '';
        return () => {
            state.dirty = '';
        };
    }, [text]);
    const save = async () => {
        setBusy(true);
        setError('');
        try {
            const comments = new Map(shared.map((s) => [s.key, s.comment]));
            await state.session!.batch(
                p.pid,
                p.env,
                p.path,
                changes.map((c) => (c.kind === 'deleted' ? { key: c.key, delete: true } : { key: c.key, value: c.value, comment: comments.get(c.key) || '' })),
            );
            state.dirty = '';
            say(`Saved ${changes.length} ${changes.length === 1 ? 'change' : 'changes'} in ${p.envName}.`);
            p.onDone();
        } catch (x) {
            setError(x instanceof Error ? x.message : String(x));
            setReview(false);
        } finally {
            setBusy(false);
        }
    };
    const stage = () => {
        if (bad.length) return setError(`Not valid keys: ${bad.join(', ')} (letters, digits and _ only).`);
        setError('');
        setReview(true);
    };
    useEffect(() => {
        const onKey = (e: KeyboardEvent) => {
            if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
                e.preventDefault();
                if (review) save();
                else stage();
            }
        };
        window.addEventListener('keydown', onKey);
        return () => window.removeEventListener('keydown', onKey);
    });
    return (
        <section aria-label="Bulk edit" class="bulk">
            <p class="muted small">
                The folder as .env text: edit, paste many lines, or drop a .env file here. A key left out is deleted. Nothing is saved until you review the changes (Ctrl/⌘-S).
            </p>
            <div
                class={over ? 'drop over' : 'drop'}
                onDragOver={(e) => {
                    e.preventDefault();
                    setOver(true);
                }}
                onDragLeave={() => setOver(false)}
                onDrop={async (e) => {
                    e.preventDefault();
                    setOver(false);
                    const f = e.dataTransfer?.files[0];
                    if (f) setText(text + (text.endsWith('\n') || !text ? '' : '\n') + (await f.text()));
                }}
            >
                <Field label={`${p.envName} as .env`} value={text} onInput={setText} multiline mono rows={Math.min(24, Math.max(8, text.split('\n').length + 1))} autofocus />
            </div>
            <label class="file">
                <span>Or load a .env file</span>
                <input
                    type="file"
                    accept=".env,text/plain"
                    onChange={async (e) => {
                        const f = e.currentTarget.files?.[0];
                        if (f) setText(text + (text.endsWith('\n') || !text ? '' : '\n') + (await f.text()));
                    }}
                />
            </label>
            {error && (
                <p role="alert" class="error">
                    {error}
                </p>
            )}
            <p class="muted small" aria-live="polite">
                {parsed.length} keys; {changes.length} {changes.length === 1 ? 'change' : 'changes'} staged.
            </p>
            <div class="actions">
                <button
                    type="button"
                    onClick={() => {
                        if (text === initial || confirm('Discard the staged changes?')) {
                            state.dirty = '';
                            p.onCancel();
                        }
                    }}
                >
                    Cancel
                </button>
                <button type="button" class="primary" onClick={stage} disabled={changes.length === 0}>
                    Review changes
                </button>
            </div>
            {review && <Review changes={changes} busy={busy} onSave={save} onClose={() => setReview(false)} />}
        </section>
    );
}

function Edit(p: { s: Secret; onClose: () => void; onSave: (value: string, comment: string) => Promise<void> }) {
    const [value, setValue] = useState(p.s.value ?? '');
    const [comment, setComment] = useState(p.s.comment);
    return (
        <Dialog title={`Edit ${p.s.key}${p.s.type === 'personal' ? ' (your override)' : ''}`} open onClose={p.onClose}>
            <form
                onSubmit={async (e) => {
                    e.preventDefault();
                    await p.onSave(value, comment);
                }}
            >
                <Field label="Value" value={value} onInput={setValue} multiline mono rows={Math.min(12, Math.max(3, value.split('\n').length + 1))} autofocus />
                <Field label="Comment" value={comment} onInput={setComment} />
                <div class="actions">
                    <button type="button" onClick={p.onClose}>
                        Cancel
                    </button>
                    <button type="submit" class="primary">
                        Save
                    </button>
                </div>
            </form>
        </Dialog>
    );
}

type Imp = { id: string; importPath: string; importEnv: { slug: string; name: string } };

/** A revealed value with references: the value, then what it resolves to (in the browser). */
function Resolved(p: { pid: string; env: string; path: string; value: string }) {
    const { data, error } = useAsync(() => state.session!.expand(p.pid, p.env, p.path, p.value), [p.value]);
    return (
        <div class="resolved small">
            <span class="muted">resolves to </span>
            {error ? <span class="bad">{error}</span> : data === undefined ? <span class="muted">…</span> : <span class="value mono">{data}</span>}
        </div>
    );
}

function Imports(p: { pid: string; env: string; path: string; envs: { slug: string; name: string }[]; imports: Imp[]; write: boolean; onChange: () => void }) {
    const [from, setFrom] = useState(p.envs.find((e) => e.slug !== p.env)?.slug || p.env);
    const [fromPath, setFromPath] = useState('/');
    return (
        <details class="imports">
            <summary>Imports ({p.imports.length})</summary>
            <p class="muted small">Secrets of other folders that this folder also gives, unless it has the key itself (the last import wins).</p>
            <ul>
                {p.imports.map((i) => (
                    <li key={i.id}>
                        <span class="mono">
                            {i.importEnv.name}:{i.importPath}
                        </span>{' '}
                        {p.write && (
                            <button
                                class="small danger"
                                aria-label={`Remove the import of ${i.importEnv.name}:${i.importPath}`}
                                onClick={async () => {
                                    try {
                                        await state.session!.removeImport(p.pid, i.id);
                                        p.onChange();
                                    } catch (x) {
                                        sayError(x);
                                    }
                                }}
                            >
                                Remove
                            </button>
                        )}
                    </li>
                ))}
            </ul>
            {p.write && (
                <form
                    class="inline-form"
                    aria-label="Add an import"
                    onSubmit={async (e) => {
                        e.preventDefault();
                        try {
                            await state.session!.addImport(p.pid, p.env, p.path, { environment: from, path: fromPath });
                            say('Import added.');
                            p.onChange();
                        } catch (x) {
                            sayError(x);
                        }
                    }}
                >
                    <div class="field">
                        <label for="imp-env">Import from</label>
                        <select id="imp-env" value={from} onChange={(e) => setFrom(e.currentTarget.value)}>
                            {p.envs.map((e) => (
                                <option key={e.slug} value={e.slug}>
                                    {e.name}
                                </option>
                            ))}
                        </select>
                    </div>
                    <Field label="Folder" value={fromPath} onInput={setFromPath} mono />
                    <button type="submit">Add import</button>
                </form>
            )}
        </details>
    );
}

export function EnvView({ l, env }: { l: Loaded; env: string }) {
    const pid = l.project.id;
    const envs = l.project.environments;
    const e = envs.find((x) => x.slug === env);
    const path = currentPath();
    const base = `/projects/${pid}/env/${env}`;
    const write = canWrite(l.role);
    const { data, error, reload } = useAsync(async () => {
        const [all, folders, imports] = await Promise.all([
            state.session!.secretsWithImports(pid, env, path),
            state.session!.folders(pid, env, path),
            state.session!.imports(pid, env, path).catch(() => []),
        ]);
        return { secrets: all.secrets, imported: all.imported, imports: imports as Imp[], folders: folders as { name: string; id: string }[] };
    }, [pid, env, path]);
    const [filter, setFilter] = useState('');
    const [shown, setShown] = useState<Set<string>>(new Set());
    const [bulk, setBulk] = useState(false);
    const [adding, setAdding] = useState(false);
    const [editing, setEditing] = useState<Secret | null>(null);
    const [deleting, setDeleting] = useState<Secret | null>(null);
    const [history, setHistory] = useState<string | null>(null);
    const [override, setOverride] = useState<Secret | null>(null);
    const [sharing, setSharing] = useState<Secret | null>(null);
    const [folderOpen, setFolderOpen] = useState(false);
    const [rollback, setRollback] = useState(false);
    useEffect(() => setBulk(false), [env, path]);

    const rows = useMemo(() => {
        const q = filter.trim().toLowerCase();
        const all = data?.secrets || [];
        return [...all].sort((a, b) => byKey(a.key, b.key) || (a.type < b.type ? 1 : -1)).filter((s) => !q || s.key.toLowerCase().includes(q) || (s.value ?? '').toLowerCase().includes(q) || s.comment.toLowerCase().includes(q));
    }, [data, filter]);
    if (!e)
        return (
            <p role="alert" class="error">
                No environment “{env}” in this project.
            </p>
        );
    const id = (s: Secret) => `${s.type}:${s.key}`;
    const save = async (s: { key: string; personal?: boolean }, value: string, comment: string) => {
        try {
            await state.session!.batch(pid, env, path, [{ key: s.key, value, comment, personal: s.personal }]);
            say(`Saved ${s.key}.`);
            setEditing(null);
            setOverride(null);
            reload();
        } catch (x) {
            sayError(x);
        }
    };
    const shared = (data?.secrets || []).filter((s) => s.type === 'shared');
    return (
        <section aria-labelledby="env-title">
            <nav class="envtabs" aria-label="Environments">
                {envs.map((x) => (
                    <Link key={x.slug} href={withPath(`/projects/${pid}/env/${x.slug}`, path)} class={x.slug === env ? 'tab current' : 'tab'} aria-current={x.slug === env ? 'page' : undefined}>
                        {x.name}
                    </Link>
                ))}
            </nav>
            <h2 id="env-title" class="sr-only">
                {e.name}
            </h2>
            <Crumbs base={base} path={path} root={e.name} />
            {!bulk && (
                <div class="toolbar">
                    <input type="search" aria-label="Filter" placeholder="Filter keys and values" value={filter} onInput={(ev) => setFilter(ev.currentTarget.value)} />
                    {write && (
                        <>
                            <button class="primary" onClick={() => setAdding(true)}>
                                Add secret
                            </button>
                            <button onClick={() => setBulk(true)} disabled={!data}>
                                Bulk edit
                            </button>
                            <button onClick={() => setFolderOpen(true)}>New folder</button>
                        </>
                    )}
                    <details class="menu">
                        <summary>More</summary>
                        <div class="menu-body">
                            <button
                                onClick={() => {
                                    const { text, skipped } = toDotenv(shared);
                                    download(`${l.project.slug}-${env}.env`, text, 'text/plain');
                                    if (skipped.length) say(`Not written (no .env quoting reads them back): ${skipped.join(', ')}.`, 'error');
                                }}
                            >
                                Download .env
                            </button>
                            <button onClick={() => download(`${l.project.slug}-${env}.json`, JSON.stringify(Object.fromEntries(shared.map((s) => [s.key, s.value])), null, 2) + '\n', 'application/json')}>
                                Download JSON
                            </button>
                            {write && <button onClick={() => setRollback(true)}>Roll back folder…</button>}
                        </div>
                    </details>
                </div>
            )}
            {error && (
                <p role="alert" class="error">
                    {error}
                </p>
            )}
            {!data && !error && <p class="muted">Decrypting…</p>}
            {data && bulk && <Bulk pid={pid} env={env} envName={e.name} path={path} secrets={data.secrets} onCancel={() => setBulk(false)} onDone={() => (setBulk(false), reload())} />}
            {data && !bulk && (
                <>
                    {data.folders.length > 0 && (
                        <ul class="folders" aria-label="Folders">
                            {data.folders.map((f) => (
                                <li key={f.id}>
                                    <Link href={withPath(base, joinPath(path, f.name))}>
                                        <span aria-hidden="true">▸ </span>
                                        {f.name}/
                                    </Link>
                                </li>
                            ))}
                        </ul>
                    )}
                    {data.secrets.length === 0 ? (
                        <div class="empty">
                            <h3>No secret in {e.name}{path === '/' ? '' : ` at ${path}`}</h3>
                            <p>{write ? 'Add one, or paste a whole .env file with Bulk edit.' : 'Nothing to show yet.'}</p>
                        </div>
                    ) : (
                        <table class="list secrets" aria-label={`Secrets in ${e.name} at ${path}`}>
                            <thead>
                                <tr>
                                    <th scope="col">Key</th>
                                    <th scope="col">Value</th>
                                    <th scope="col" class="hide-narrow">
                                        Comment
                                    </th>
                                    <th scope="col">
                                        <span class="sr-only">Actions</span>
                                    </th>
                                </tr>
                            </thead>
                            <tbody>
                                {rows.map((s) => {
                                    const open = shown.has(id(s));
                                    const hasOverride = s.type === 'shared' && data.secrets.some((o) => o.type === 'personal' && o.key === s.key);
                                    return (
                                        <tr key={id(s)} class={s.type === 'personal' ? 'personal' : undefined}>
                                            <th scope="row">
                                                <span class="mono key">{s.key}</span>
                                                {s.type === 'personal' && <span class="badge">your override</span>}
                                                {hasOverride && <span class="badge muted">overridden for you</span>}
                                            </th>
                                            <td class="valcell">
                                                <Masked value={s.value} shown={open} error={s.error} />
                                                {s.value?.includes('${') && (open ? <Resolved pid={pid} env={env} path={path} value={s.value} /> : <span class="badge">reference</span>)}
                                            </td>
                                            <td class="hide-narrow comment">{s.comment}</td>
                                            <td>
                                                <div class="row-actions" role="group" aria-label={`${s.key}${s.type === 'personal' ? ' (override)' : ''}`}>
                                                    <button
                                                        class="small"
                                                        aria-pressed={open}
                                                        onClick={() => {
                                                            const n = new Set(shown);
                                                            if (open) n.delete(id(s));
                                                            else n.add(id(s));
                                                            setShown(n);
                                                        }}
                                                    >
                                                        {open ? 'Hide' : 'Reveal'}
                                                    </button>
                                                    <button class="small" onClick={async () => say((await copyText(s.value ?? '')) ? `Copied ${s.key}.` : 'The browser refused the clipboard.')}>
                                                        Copy
                                                    </button>
                                                    {write && (
                                                        <button class="small" onClick={() => setEditing(s)}>
                                                            Edit
                                                        </button>
                                                    )}
                                                    <details class="menu">
                                                        <summary class="small" aria-label={`More for ${s.key}`}>
                                                            ⋯
                                                        </summary>
                                                        <div class="menu-body">
                                                            {s.value !== null && <button onClick={() => setSharing(s)}>Share</button>}
                                                            {s.type === 'shared' && <button onClick={() => setHistory(s.key)}>History</button>}
                                                            {s.type === 'shared' && !hasOverride && <button onClick={() => setOverride(s)}>Override for me</button>}
                                                            {write && (
                                                                <button class="danger" onClick={() => setDeleting(s)}>
                                                                    Delete
                                                                </button>
                                                            )}
                                                        </div>
                                                    </details>
                                                </div>
                                            </td>
                                        </tr>
                                    );
                                })}
                            </tbody>
                        </table>
                    )}
                    {data.secrets.length > 0 && rows.length === 0 && <p class="muted">Nothing matches “{filter}”.</p>}
                    {data.imported.length > 0 && (
                        <table class="list imported" aria-label="Imported secrets">
                            <caption class="muted small">Imported (read-only here)</caption>
                            <tbody>
                                {data.imported.map((s) => (
                                    <tr key={`imp:${s.key}`}>
                                        <th scope="row">
                                            <span class="mono key">{s.key}</span> <span class="badge">from {s.from}</span>
                                        </th>
                                        <td class="valcell">
                                            <Masked value={s.value} shown={shown.has(`imp:${s.key}`)} error={s.error} />
                                        </td>
                                        <td>
                                            <div class="row-actions" role="group" aria-label={`${s.key} (imported)`}>
                                                <button
                                                    class="small"
                                                    onClick={() => {
                                                        const n = new Set(shown);
                                                        if (n.has(`imp:${s.key}`)) n.delete(`imp:${s.key}`);
                                                        else n.add(`imp:${s.key}`);
                                                        setShown(n);
                                                    }}
                                                >
                                                    {shown.has(`imp:${s.key}`) ? 'Hide' : 'Reveal'}
                                                </button>
                                                <button class="small" onClick={async () => say((await copyText(s.value ?? '')) ? `Copied ${s.key}.` : 'The browser refused the clipboard.')}>
                                                    Copy
                                                </button>
                                            </div>
                                        </td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                    )}
                    <Imports pid={pid} env={env} path={path} envs={envs} imports={data.imports} write={write} onChange={reload} />
                </>
            )}
            {adding && <AddSecret key={env + path} open onClose={() => setAdding(false)} projectId={pid} path={path} envs={envs} checked={[env]} onDone={reload} />}
            {editing && <Edit s={editing} onClose={() => setEditing(null)} onSave={(v, c) => save({ key: editing.key, personal: editing.type === 'personal' }, v, c)} />}
            {override && (
                <Edit
                    s={{ ...override, type: 'personal', value: override.value, comment: '' }}
                    onClose={() => setOverride(null)}
                    onSave={(v, c) => save({ key: override.key, personal: true }, v, c)}
                />
            )}
            {sharing && <ShareDialog name={sharing.key} value={sharing.value ?? ''} onClose={() => setSharing(null)} />}
            {history && <History pid={pid} env={env} path={path} k={history} write={write} onClose={() => setHistory(null)} onDone={reload} />}
            <Confirm
                open={!!deleting}
                title="Delete secret"
                body={
                    deleting
                        ? deleting.type === 'personal'
                            ? `Delete your override of ${deleting.key}? The shared value stays.`
                            : `Delete ${deleting.key} from ${e.name}? Its history is kept; personal overrides of it go too.`
                        : ''
                }
                action="Delete"
                onClose={() => setDeleting(null)}
                onConfirm={async () => {
                    try {
                        await state.session!.batch(pid, env, path, [{ key: deleting!.key, delete: true, personal: deleting!.type === 'personal' }]);
                        say(`Deleted ${deleting!.key}.`);
                        reload();
                    } catch (x) {
                        sayError(x);
                    }
                }}
            />
            <NewFolder open={folderOpen} onClose={() => setFolderOpen(false)} projectId={pid} path={path} envs={[env]} onDone={reload} />
            {rollback && <FolderRollback pid={pid} env={env} envName={e.name} path={path} secrets={data?.secrets || []} onClose={() => setRollback(false)} onDone={reload} />}
        </section>
    );
}

/** Point-in-time rollback of the folder, with a preview of what changes for
 * the keys that exist now (computed here from each key's history). */
function FolderRollback(p: { pid: string; env: string; envName: string; path: string; secrets: Secret[]; onClose: () => void; onDone: () => void }) {
    const [to, setTo] = useState(() => {
        const d = new Date(Date.now() - 3600_000);
        d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
        return d.toISOString().slice(0, 19);
    });
    const [preview, setPreview] = useState<{ key: string; what: string }[] | null>(null);
    const [busy, setBusy] = useState(false);
    const iso = () => new Date(to).toISOString();
    return (
        <Dialog title={`Roll back ${p.envName} ${p.path}`} open onClose={p.onClose}>
            <Field label="Back to (your local time)" type="datetime-local" step={1} value={to} onInput={(v) => (setTo(v), setPreview(null))} />
            <div class="actions">
                <button
                    type="button"
                    onClick={async () => {
                        setBusy(true);
                        try {
                            const t = new Date(iso()).getTime();
                            const out: { key: string; what: string }[] = [];
                            for (const s of p.secrets.filter((x) => x.type === 'shared')) {
                                const vs = await state.session!.versions(p.pid, p.env, p.path, s.key);
                                const then = vs.find((v: Secret) => new Date(v.updatedAt).getTime() <= t);
                                if (!then || then.deleted) out.push({ key: s.key, what: 'deleted (did not exist then)' });
                                else if (then.value !== s.value) out.push({ key: s.key, what: `back to version ${then.version}` });
                            }
                            setPreview(out);
                        } catch (x) {
                            sayError(x);
                        } finally {
                            setBusy(false);
                        }
                    }}
                    disabled={busy}
                >
                    Preview
                </button>
                <button
                    type="button"
                    class="danger"
                    disabled={!preview || busy}
                    onClick={async () => {
                        try {
                            const r = await state.session!.rollbackFolder(p.pid, p.env, p.path, iso());
                            say(`Rolled back: ${r.secrets.length} ${r.secrets.length === 1 ? 'secret' : 'secrets'} written.`);
                            p.onClose();
                            p.onDone();
                        } catch (x) {
                            sayError(x);
                        }
                    }}
                >
                    Roll back
                </button>
            </div>
            {preview && (
                <ul class="changes" aria-label="What changes" tabIndex={0}>
                    {preview.length === 0 && <li class="muted">No current key changes (keys deleted since then come back).</li>}
                    {preview.map((c) => (
                        <li key={c.key}>
                            <span class="mono">{c.key}</span>: {c.what}
                        </li>
                    ))}
                </ul>
            )}
        </Dialog>
    );
}
export { emit };
