/* /s/<id>#<key>: a share link opened in the browser.  The key is in the
 * fragment (never sent); the value is decrypted here.  Opening counts a view,
 * so the page asks first. */
import { useEffect, useState } from 'preact/hooks';

import { api, lib, state, useStore } from '../state';
import { copyText, Field, Link, when } from '../ui';

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
                            {info.viewsLeft === 1 ? 'Open it (this uses the only view)' : 'Open it'}
                        </button>
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
