/* Pieces the overview and the environment screen share: the folder path in
 * the address (?path=), breadcrumbs, the add-secret dialog, confirmations. */
import { useState } from 'preact/hooks';

import { query, say, state } from '../state';
import { Dialog, Field, Link } from '../ui';
import { KEY_RE } from '../dotenv';
import type { Env } from './projects';

export function currentPath() {
    const p = query('path') || '/';
    return p.startsWith('/') ? p.replace(/\/+$/, '') || '/' : '/';
}

export function withPath(base: string, path: string) {
    return path === '/' ? base : `${base}?path=${encodeURIComponent(path)}`;
}

export function joinPath(path: string, name: string) {
    return path === '/' ? `/${name}` : `${path}/${name}`;
}

export function Crumbs(p: { base: string; path: string; root: string }) {
    const parts = p.path.split('/').filter(Boolean);
    if (parts.length === 0) return null; // at the root the tabs already say where you are
    return (
        <nav aria-label="Folder" class="crumbs folder">
            {parts.length === 0 ? (
                <span aria-current="page">{p.root}</span>
            ) : (
                <Link href={p.base}>{p.root}</Link>
            )}
            {parts.map((name, i) => {
                const to = '/' + parts.slice(0, i + 1).join('/');
                return (
                    <span key={to}>
                        <span aria-hidden="true"> / </span>
                        {i === parts.length - 1 ? <span aria-current="page">{name}</span> : <Link href={withPath(p.base, to)}>{name}</Link>}
                    </span>
                );
            })}
        </nav>
    );
}

/** Adds a key to one or several environments (one batch each). */
export function AddSecret(p: { open: boolean; onClose: () => void; projectId: string; path: string; envs: Env[]; checked: string[]; onDone: () => void; presetKey?: string }) {
    const [key, setKey] = useState(p.presetKey || '');
    const [value, setValue] = useState('');
    const [comment, setComment] = useState('');
    const [chosen, setChosen] = useState<string[]>(p.checked);
    const [error, setError] = useState('');
    const [busy, setBusy] = useState(false);
    return (
        <Dialog title="Add secret" open={p.open} onClose={p.onClose}>
            <form
                onSubmit={async (e) => {
                    e.preventDefault();
                    setError('');
                    const k = key.trim();
                    if (!KEY_RE.test(k)) return setError(`“${k}” is not a valid key: letters, digits and _, not starting with a digit.`);
                    if (chosen.length === 0) return setError('Choose at least one environment.');
                    setBusy(true);
                    try {
                        for (const env of chosen) await state.session!.batch(p.projectId, env, p.path, [{ key: k, value, comment }]);
                        say(`Saved ${k} in ${chosen.length === 1 ? p.envs.find((x) => x.slug === chosen[0])?.name : `${chosen.length} environments`}.`);
                        setKey('');
                        setValue('');
                        setComment('');
                        p.onClose();
                        p.onDone();
                    } catch (x) {
                        setError(x instanceof Error ? x.message : String(x));
                    } finally {
                        setBusy(false);
                    }
                }}
            >
                <Field label="Key" value={key} onInput={(v) => setKey(v.replace(/\s/g, ''))} required autofocus={!p.presetKey} mono placeholder="DATABASE_URL" />
                <Field label="Value" value={value} onInput={setValue} multiline mono autofocus={!!p.presetKey} rows={3} />
                <Field label="Comment" value={comment} onInput={setComment} hint="Optional, encrypted like the value." />
                <fieldset class="envs">
                    <legend>Environments</legend>
                    {p.envs.map((e) => (
                        <label class="check" key={e.slug}>
                            <input
                                type="checkbox"
                                checked={chosen.includes(e.slug)}
                                onChange={(ev) => setChosen(ev.currentTarget.checked ? [...chosen, e.slug] : chosen.filter((s) => s !== e.slug))}
                            />
                            <span>{e.name}</span>
                        </label>
                    ))}
                </fieldset>
                {error && (
                    <p role="alert" class="error">
                        {error}
                    </p>
                )}
                <div class="actions">
                    <button type="button" onClick={p.onClose}>
                        Cancel
                    </button>
                    <button type="submit" class="primary" disabled={busy}>
                        Save
                    </button>
                </div>
            </form>
        </Dialog>
    );
}

export function Confirm(p: { open: boolean; title: string; body: string; action: string; onConfirm: () => Promise<void> | void; onClose: () => void }) {
    const [busy, setBusy] = useState(false);
    return (
        <Dialog title={p.title} open={p.open} onClose={p.onClose}>
            <p>{p.body}</p>
            <div class="actions">
                <button type="button" onClick={p.onClose} autofocus>
                    Cancel
                </button>
                <button
                    type="button"
                    class="danger"
                    disabled={busy}
                    onClick={async () => {
                        setBusy(true);
                        try {
                            await p.onConfirm();
                            p.onClose();
                        } finally {
                            setBusy(false);
                        }
                    }}
                >
                    {p.action}
                </button>
            </div>
        </Dialog>
    );
}

export function NewFolder(p: { open: boolean; onClose: () => void; projectId: string; path: string; envs: string[]; onDone: () => void }) {
    const [name, setName] = useState('');
    const [error, setError] = useState('');
    return (
        <Dialog title="New folder" open={p.open} onClose={p.onClose}>
            <form
                onSubmit={async (e) => {
                    e.preventDefault();
                    setError('');
                    try {
                        for (const env of p.envs) await state.session!.createFolder(p.projectId, env, p.path, name.trim());
                        setName('');
                        p.onClose();
                        p.onDone();
                    } catch (x) {
                        setError(x instanceof Error ? x.message : String(x));
                    }
                }}
            >
                <Field label="Folder name" value={name} onInput={setName} required autofocus hint="Letters, digits, - and _. Folders cannot be renamed later: values are sealed to their path." />
                {error && (
                    <p role="alert" class="error">
                        {error}
                    </p>
                )}
                <div class="actions">
                    <button type="button" onClick={p.onClose}>
                        Cancel
                    </button>
                    <button type="submit" class="primary">
                        Create folder
                    </button>
                </div>
            </form>
        </Dialog>
    );
}
