/* First-run setup, sign in (and unlock), sign up from an invite link.  The
 * password never leaves this page: Argon2id runs here, and only the derived
 * authentication key is sent. */
import { useState } from 'preact/hooks';

import { api, lib, navigate, query, signedIn, state, useStore } from '../state';
import { Field, Link } from '../ui';

function Busy(p: { busy: boolean; label: string; busyLabel: string }) {
    return (
        <button type="submit" class="primary" disabled={p.busy} aria-busy={p.busy}>
            {p.busy ? p.busyLabel : p.label}
        </button>
    );
}

function After() {
    const next = query('next');
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/projects', { replace: true, force: true });
}

function Card(p: { title: string; intro?: string; children: preact.ComponentChildren }) {
    return (
        <main class="auth" id="main">
            <div class="card">
                <div class="brand" aria-hidden="true">
                    <span class="logo">a</span> arca
                </div>
                <h1>{p.title}</h1>
                {p.intro && <p class="muted">{p.intro}</p>}
                {p.children}
            </div>
        </main>
    );
}

export function Setup() {
    const [email, setEmail] = useState('');
    const [password, setPassword] = useState('');
    const [confirm, setConfirm] = useState('');
    const [org, setOrg] = useState('');
    const [error, setError] = useState('');
    const [busy, setBusy] = useState(false);
    return (
        <Card title="Set up arca" intro="Create the first account: the administrator of this server, and its organization.">
            <form
                onSubmit={async (e) => {
                    e.preventDefault();
                    setError('');
                    if (password.length < 8) return setError('The password needs at least 8 characters.');
                    if (password !== confirm) return setError('The two passwords differ.');
                    setBusy(true);
                    try {
                        const l = await lib();
                        signedIn(await l.setup(await api(), { email, password, organization: org }));
                        After();
                    } catch (x) {
                        const msg = x instanceof Error ? x.message : String(x);
                        setError(/already bootstrapped/i.test(msg) ? 'This server is already set up: sign in instead.' : msg);
                    } finally {
                        setBusy(false);
                    }
                }}
            >
                <Field label="Email" type="email" autocomplete="username" value={email} onInput={setEmail} required autofocus />
                <Field
                    label="Password"
                    type="password"
                    autocomplete="new-password"
                    value={password}
                    onInput={setPassword}
                    required
                    minLength={8}
                    hint="At least 8 characters. It never leaves this browser: it cannot be reset, so keep it safe."
                />
                <Field label="Confirm password" type="password" autocomplete="new-password" value={confirm} onInput={setConfirm} required />
                <Field label="Organization" value={org} onInput={setOrg} required hint="Your team or company, e.g. Acme." />
                {error && (
                    <p role="alert" class="error">
                        {error} {/sign in/.test(error) && <Link href="/login">Sign in</Link>}
                    </p>
                )}
                <Busy busy={busy} label="Create account" busyLabel="Creating keys…" />
            </form>
        </Card>
    );
}

export function SignIn() {
    const s = useStore();
    const [email, setEmail] = useState(s.email);
    const [password, setPassword] = useState('');
    const [error, setError] = useState('');
    const [busy, setBusy] = useState(false);
    const [keep, setKeep] = useState(false);
    const locked = s.locked && !!s.email;
    return (
        <Card
            title={locked ? 'Locked' : 'Sign in'}
            intro={locked ? `Your keys were forgotten. Enter the password of ${s.email} to unlock.` : 'Your password opens your keys in this browser.'}
        >
            <form
                onSubmit={async (e) => {
                    e.preventDefault();
                    setError('');
                    setBusy(true);
                    try {
                        const l = await lib();
                        signedIn(await l.signIn(await api(), locked ? s.email : email, password), keep);
                        setPassword('');
                        if (state.path === '/login' || state.path === '/') After();
                    } catch (x) {
                        setError(x instanceof Error ? x.message : String(x));
                    } finally {
                        setBusy(false);
                    }
                }}
            >
                {!locked && <Field label="Email" type="email" autocomplete="username" value={email} onInput={setEmail} required autofocus />}
                <Field label="Password" type="password" autocomplete="current-password" value={password} onInput={setPassword} required autofocus={locked} />
                {error && (
                    <p role="alert" class="error">
                        {error}
                    </p>
                )}
                <label class="check">
                    <input type="checkbox" checked={keep} onChange={(e) => setKeep(e.currentTarget.checked)} />
                    <span>
                        Stay unlocked in this tab
                        <small class="hint block">Keeps your keys in this tab’s session storage until it closes, so a reload does not ask again. Off: memory only.</small>
                    </span>
                </label>
                <Busy busy={busy} label={locked ? 'Unlock' : 'Sign in'} busyLabel="Opening your keys…" />
                {locked ? (
                    <button
                        type="button"
                        class="link"
                        onClick={() => {
                            state.locked = false;
                            state.email = '';
                            navigate('/login', { force: true });
                        }}
                    >
                        Sign in as someone else
                    </button>
                ) : (
                    <p class="muted small">
                        New server? <Link href="/setup">Set it up</Link>. Invited? Open the link you were sent.
                    </p>
                )}
            </form>
        </Card>
    );
}

/** /signup#token=arca_inv_…&email=…: the invite travels in the fragment, which
 * browsers never send to a server (nor put in its logs). */
export function SignUp() {
    const h = new URLSearchParams(state.hash.replace(/^#/, ''));
    const token = h.get('token') || '';
    const [email, setEmail] = useState(h.get('email') || '');
    const [password, setPassword] = useState('');
    const [confirm, setConfirm] = useState('');
    const [error, setError] = useState('');
    const [busy, setBusy] = useState(false);
    if (!token)
        return (
            <Card title="Sign up" intro="Accounts are made from an invite: ask an administrator for an invite link.">
                <Link href="/login">Sign in</Link>
            </Card>
        );
    return (
        <Card title="Join your team" intro="Choose a password: it never leaves this browser.">
            <form
                onSubmit={async (e) => {
                    e.preventDefault();
                    setError('');
                    if (password.length < 8) return setError('The password needs at least 8 characters.');
                    if (password !== confirm) return setError('The two passwords differ.');
                    setBusy(true);
                    try {
                        const l = await lib();
                        signedIn(await l.signUp(await api(), { inviteToken: token, email, password }));
                        history.replaceState(null, '', '/signup'); // the used token leaves the address bar
                        After();
                    } catch (x) {
                        const m = x instanceof Error ? x.message : String(x);
                        setError(/401|invite/i.test(m) ? 'This invite is unknown, already used or expired: ask for a new one.' : m);
                    } finally {
                        setBusy(false);
                    }
                }}
            >
                <Field label="Email" type="email" autocomplete="username" value={email} onInput={setEmail} required />
                <Field label="Password" type="password" autocomplete="new-password" value={password} onInput={setPassword} required minLength={8} autofocus />
                <Field label="Confirm password" type="password" autocomplete="new-password" value={confirm} onInput={setConfirm} required />
                {error && (
                    <p role="alert" class="error">
                        {error}
                    </p>
                )}
                <Busy busy={busy} label="Create account" busyLabel="Creating keys…" />
            </form>
        </Card>
    );
}
