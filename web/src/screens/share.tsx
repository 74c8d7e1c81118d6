/* Share links (issue 15; docs/api.md "Share links").  Making one: the
 * dialog on a secret and the "Share a secret" page encrypt here (client.js
 * createShare) and show the link once.  "Your shares" lists the caller's
 * active shares (never a value) with Revoke; org admins set the policy.
 * Opening one, /s/<id>#<key>: the key is in the fragment (never sent); the
 * value is decrypted here.  Opening counts a view, so the page asks first. */
import { useEffect, useState } from 'preact/hooks';

import { api, lib, say, sayError, state, useStore } from '../state';
import { copyText, Dialog, Field, Link, useAsync, when } from '../ui';
import { Confirm } from './common';

/** Expiry choices, seconds: 5 minutes to 30 days (the server's bounds). */
const EXPIRIES: [number, string][] = [
    [300, '5 minutes'],
    [3600, '1 hour'],
    [86400, '1 day'],
    [7 * 86400, '7 days'],
    [30 * 86400, '30 days'],
];

function lifetime(seconds: number) {
    return EXPIRIES.find(([s]) => s === seconds)?.[1] ?? `${Math.round(seconds / 3600)} hours`;
}

/** The form that makes a share of `value` (given, or typed in when absent). */
function ShareForm(p: { value?: string; onLink: (link: string) => void; onCancel?: () => void }) {
    const [value, setValue] = useState('');
    const [expires, setExpires] = useState(86400);
    const [views, setViews] = useState('1');
    const [unlimited, setUnlimited] = useState(false);
    const [password, setPassword] = useState('');
    const [orgOnly, setOrgOnly] = useState(false);
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState('');
    return (
        <form
            aria-label="New share"
            onSubmit={async (e) => {
                e.preventDefault();
                const n = Number(views);
                if (!unlimited && !(Number.isInteger(n) && n >= 1 && n <= 100)) return setError('Views: a whole number from 1 to 100, or unlimited.');
                setBusy(true);
                setError('');
                try {
                    const r = await state.session!.createShare(p.value ?? value, { expiresIn: expires, maxViews: unlimited ? 0 : n, password: password || undefined, orgOnly });
                    setValue('');
                    setPassword('');
                    p.onLink(r.link);
                } catch (x) {
                    setError(x instanceof Error ? x.message : String(x));
                } finally {
                    setBusy(false);
                }
            }}
        >
            {p.value === undefined && <Field label="Value to share" value={value} onInput={setValue} multiline mono required rows={4} />}
            <div class="field">
                <label for="share-expires">Expires in</label>
                <select id="share-expires" value={String(expires)} onChange={(e) => setExpires(Number(e.currentTarget.value))}>
                    {EXPIRIES.map(([sec, label]) => (
                        <option key={sec} value={String(sec)}>
                            {label}
                        </option>
                    ))}
                </select>
            </div>
            <div class="field">
                <label for="share-views">Views</label>
                <input id="share-views" type="number" min={1} max={100} step={1} value={views} disabled={unlimited} required={!unlimited} onInput={(e) => setViews(e.currentTarget.value)} />
            </div>
            <label class="check">
                <input type="checkbox" checked={unlimited} onChange={(e) => setUnlimited(e.currentTarget.checked)} />
                <span>Unlimited views (until it expires)</span>
            </label>
            <Field
                label="Password (optional)"
                type="password"
                autocomplete="new-password"
                value={password}
                onInput={setPassword}
                hint="Send it another way than the link. Without it the link alone opens the value."
            />
            <label class="check">
                <input type="checkbox" checked={orgOnly} onChange={(e) => setOrgOnly(e.currentTarget.checked)} />
                <span>
                    Only members of my organization
                    <small class="hint block">The person opening it must be signed in.</small>
                </span>
            </label>
            {error && (
                <p role="alert" class="error">
                    {error}
                </p>
            )}
            <div class="actions">
                {p.onCancel && (
                    <button type="button" onClick={p.onCancel}>
                        Cancel
                    </button>
                )}
                <button type="submit" class="primary" disabled={busy}>
                    {busy ? 'Encrypting…' : 'Create link'}
                </button>
            </div>
        </form>
    );
}

/** The link, shown once: it holds the key, which arca never keeps. */
function ShareLink(p: { link: string; onDone: () => void }) {
    return (
        <div>
            <p>Anyone with this link can open the value until its views run out or it expires. It is shown once: copy it now.</p>
            <pre class="mono once" aria-label="Share link">
                {p.link}
            </pre>
            <div class="actions">
                <button class="primary" onClick={async () => say((await copyText(p.link)) ? 'Link copied.' : 'The browser refused the clipboard.')}>
                    Copy
                </button>
                <button onClick={p.onDone}>Done</button>
            </div>
        </div>
    );
}

/** "Share" on a secret (the grid, an environment's list). */
export function ShareDialog(p: { name: string; value: string; onClose: () => void }) {
    const [link, setLink] = useState('');
    return (
        <Dialog title={`Share ${p.name}`} open onClose={p.onClose}>
            {link ? <ShareLink link={link} onDone={p.onClose} /> : <ShareForm value={p.value} onLink={setLink} onCancel={p.onClose} />}
        </Dialog>
    );
}

type ShareRow = { id: string; createdAt: string; expiresAt: string; maxViews: number; viewsLeft: number | null; orgOnly: boolean; passwordProtected: boolean };
type Policy = { organizationId: string; maxExpiresIn: number; allowAnonymous: boolean };

function SharePolicy() {
    const me = useAsync(() => state.session!.me(), []);
    const pol = useAsync(() => state.session!.sharePolicy() as Promise<Policy>, []);
    const [max, setMax] = useState<number | null>(null);
    const [anon, setAnon] = useState<boolean | null>(null);
    const org = pol.data && (me.data?.organizations || []).find((o: { id: string }) => o.id === pol.data!.organizationId);
    if (!pol.data || !org || org.role !== 'admin') return null;
    const maxV = max ?? pol.data.maxExpiresIn;
    const anonV = anon ?? pol.data.allowAnonymous;
    return (
        <section aria-labelledby="policy-h">
            <h2 id="policy-h">Share policy of {org.name}</h2>
            <p class="muted">For every share made in the organization. As an admin you set it.</p>
            <form
                class="inline-form"
                aria-label="Share policy"
                onSubmit={async (e) => {
                    e.preventDefault();
                    try {
                        await state.session!.setSharePolicy({ maxExpiresIn: maxV, allowAnonymous: anonV });
                        say('Share policy saved.');
                        pol.reload();
                    } catch (x) {
                        sayError(x);
                    }
                }}
            >
                <div class="field">
                    <label for="policy-max">Longest lifetime</label>
                    <select id="policy-max" value={String(maxV)} onChange={(e) => setMax(Number(e.currentTarget.value))}>
                        {(EXPIRIES.some(([s]) => s === maxV) ? EXPIRIES : [...EXPIRIES, [maxV, lifetime(maxV)] as [number, string]]).map(([sec, label]) => (
                            <option key={sec} value={String(sec)}>
                                {label}
                            </option>
                        ))}
                    </select>
                </div>
                <label class="check">
                    <input type="checkbox" checked={anonV} onChange={(e) => setAnon(e.currentTarget.checked)} />
                    <span>Anyone with the link may open (off: members only)</span>
                </label>
                <button type="submit">Save policy</button>
            </form>
        </section>
    );
}

/** /share: share a typed value, your active shares, the policy. */
export function SharePage() {
    useStore();
    const [link, setLink] = useState('');
    const list = useAsync(() => state.session!.shares() as Promise<ShareRow[]>, []);
    const [revoking, setRevoking] = useState<ShareRow | null>(null);
    return (
        <main id="main" class="page">
            <div class="page-head">
                <h1>Share a secret</h1>
            </div>
            <div class="stack">
                <section aria-labelledby="new-share-h" class="narrow-section">
                    <h2 id="new-share-h" class="sr-only">
                        New share
                    </h2>
                    <p class="muted">
                        The value is encrypted in this browser; the server keeps ciphertext it cannot open. The key is in the link, after #, which browsers never send.
                    </p>
                    {link ? (
                        <ShareLink
                            link={link}
                            onDone={() => {
                                setLink('');
                            }}
                        />
                    ) : (
                        <ShareForm
                            onLink={(l) => {
                                setLink(l);
                                list.reload();
                            }}
                        />
                    )}
                </section>
                <section aria-labelledby="your-shares-h">
                    <h2 id="your-shares-h">Your shares</h2>
                    {list.error && (
                        <p role="alert" class="error">
                            {list.error}
                        </p>
                    )}
                    {list.data && list.data.length === 0 && <p class="muted">No active share.</p>}
                    {list.data && list.data.length > 0 && (
                        <div class="table-wrap">
                            <table class="list" aria-label="Your active shares">
                                <thead>
                                    <tr>
                                        <th scope="col">Share</th>
                                        <th scope="col">Created</th>
                                        <th scope="col">Expires</th>
                                        <th scope="col">Views left</th>
                                        <th scope="col">
                                            <span class="sr-only">Actions</span>
                                        </th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.data.map((sh) => (
                                        <tr key={sh.id}>
                                            <th scope="row">
                                                <span class="mono small">{sh.id}</span> {sh.passwordProtected && <span class="badge">password</span>}{' '}
                                                {sh.orgOnly && <span class="badge">members only</span>}
                                            </th>
                                            <td>{when(sh.createdAt)}</td>
                                            <td>{when(sh.expiresAt)}</td>
                                            <td>{sh.viewsLeft === null ? 'unlimited' : `${sh.viewsLeft} of ${sh.maxViews}`}</td>
                                            <td>
                                                <button class="small danger" aria-label={`Revoke share ${sh.id}`} onClick={() => setRevoking(sh)}>
                                                    Revoke
                                                </button>
                                            </td>
                                        </tr>
                                    ))}
                                </tbody>
                            </table>
                        </div>
                    )}
                </section>
                <SharePolicy />
            </div>
            <Confirm
                open={!!revoking}
                title="Revoke share"
                body={revoking ? `Revoke share ${revoking.id}? Its link stops working at once.` : ''}
                action="Revoke"
                onClose={() => setRevoking(null)}
                onConfirm={async () => {
                    try {
                        await state.session!.revokeShare(revoking!.id);
                        say('Share revoked.');
                    } catch (x) {
                        sayError(x);
                    }
                    list.reload();
                }}
            />
        </main>
    );
}

export function ShareOpen({ id }: { id: string }) {
    const s = useStore();
    const key = s.hash.replace(/^#/, '');
    const [info, setInfo] = useState<{ viewsLeft: number | null; expiresAt: string; passwordProtected: boolean } | null>(null);
    const [error, setError] = useState('');
    const [password, setPassword] = useState('');
    const [value, setValue] = useState<string | null>(null);
    const [busy, setBusy] = useState(false);
    useEffect(() => {
        if (!key) return void setError('This link has no key: copy the whole link, with its # part.');
        (async () => {
            try {
                const l = await lib();
                const r = await l.openShare(await api(), id, key, { token: state.session?.token, count: false });
                setInfo(r.info);
            } catch (x) {
                setError(x instanceof Error ? x.message : String(x));
            }
        })();
    }, [id, key]);
    return (
        <main class="auth" id="main">
            <div class="card">
                <h1>A shared secret</h1>
                {error && (
                    <p role="alert" class="error">
                        {error} {/401|member|sign in/i.test(error) && <Link href={`/login?next=${encodeURIComponent(`/s/${id}`)}`}>Sign in</Link>}
                    </p>
                )}
                {info && value === null && (
                    <form
                        onSubmit={async (e) => {
                            e.preventDefault();
                            setBusy(true);
                            setError('');
                            try {
                                const l = await lib();
                                const r = await l.openShare(await api(), id, key, { password: password || undefined, token: state.session?.token });
                                setValue(r.value ?? "");
                                history.replaceState(null, '', `/s/${id}`); // the key leaves the address bar
                            } catch (x) {
                                setError(x instanceof Error ? x.message : String(x));
                            } finally {
                                setBusy(false);
                            }
                        }}
                    >
                        <p class="muted">
                            {info.viewsLeft === null ? 'It can be opened any number of times' : info.viewsLeft === 1 ? 'It can be opened once' : `It can be opened ${info.viewsLeft} more times`} until{' '}
                            {when(info.expiresAt)}. It is decrypted in this browser.
                        </p>
                        {info.passwordProtected && <Field label="Password" type="password" value={password} onInput={setPassword} required autofocus />}
                        <button type="submit" class="primary" disabled={busy}>
                            Reveal secret
                        </button>
                        {info.viewsLeft === 1 && <p class="muted small">Revealing uses its only view.</p>}
                    </form>
                )}
                {value !== null && (
                    <>
                        <pre class="mono once" aria-label="Shared value">
                            {value}
                        </pre>
                        <div class="actions">
                            <button class="primary" onClick={async () => setError((await copyText(value)) ? '' : 'The browser refused the clipboard.')}>
                                Copy
                            </button>
                        </div>
                        <p class="muted small">Copy it now: this page will not show it again.</p>
                    </>
                )}
            </div>
        </main>
    );
}
