/* arca's web app: routes, the frame (header, lock, sign-out, the Ctrl/Cmd-K
 * command palette) and messages.  Every screen needs a session except setup,
 * sign-in and sign-up; without one (a reload, a lock) the app asks for the
 * password and comes back to the same address. */
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

import './style.css';
import { Access } from './screens/access';
import { Audit } from './screens/audit';
import { SignIn, SignUp, Setup } from './screens/auth';
import { EnvView } from './screens/env';
import { Overview } from './screens/overview';
import { ProjectFrame, Projects, type Project } from './screens/projects';
import { Settings } from './screens/settings';
import { ShareOpen } from './screens/share';
import { emit, lib, lock, navigate, restoreTab, signOut, state, useStore } from './state';
import { Link } from './ui';

type Command = { label: string; run: () => void; hint?: string };

function Palette() {
    const s = useStore();
    const [q, setQ] = useState('');
    const [i, setI] = useState(0);
    const [projects, setProjects] = useState<Project[]>([]);
    const ref = useRef<HTMLDialogElement>(null);
    useEffect(() => {
        const d = ref.current!;
        if (s.paletteOpen && !d.open) {
            setQ('');
            setI(0);
            d.showModal();
            s.session?.projects().then(setProjects, () => {});
        }
        if (!s.paletteOpen && d.open) d.close();
    }, [s.paletteOpen]);
    const m = /^\/projects\/([^/]+)/.exec(s.path);
    const current = m ? projects.find((p) => p.id === m[1]) : undefined;
    const cmds = useMemo(() => {
        const out: Command[] = [{ label: 'Go to projects', run: () => navigate('/projects') }];
        if (current) {
            const b = `/projects/${current.id}`;
            out.push({ label: `Overview of ${current.name}`, run: () => navigate(b) });
            for (const e of current.environments) out.push({ label: `Open ${e.name}`, hint: current.name, run: () => navigate(`${b}/env/${e.slug}`) });
            out.push({ label: 'Access', hint: current.name, run: () => navigate(`${b}/access`) });
            out.push({ label: 'Audit log', hint: current.name, run: () => navigate(`${b}/audit`) });
            out.push({ label: 'Settings', hint: current.name, run: () => navigate(`${b}/settings`) });
        }
        for (const p of projects) if (p !== current) out.push({ label: `Open project ${p.name}`, run: () => navigate(`/projects/${p.id}`) });
        out.push({ label: 'Lock', run: () => lock() });
        out.push({ label: 'Sign out', run: () => signOut() });
        const t = q.trim().toLowerCase();
        return out.filter((c) => !t || c.label.toLowerCase().includes(t) || (c.hint || '').toLowerCase().includes(t));
    }, [projects, current, q]);
    const close = () => {
        state.paletteOpen = false;
        emit();
    };
    const run = (c?: Command) => {
        if (!c) return;
        close();
        c.run();
    };
    return (
        <dialog ref={ref} class="palette" aria-label="Command palette" onCancel={(e) => (e.preventDefault(), close())} onClose={() => s.paletteOpen && close()}>
            {s.paletteOpen && (
                <>
                    <input
                        type="text"
                        role="combobox"
                        aria-label="Command"
                        aria-expanded="true"
                        aria-controls="palette-list"
                        aria-activedescendant={cmds[i] ? `cmd-${i}` : undefined}
                        placeholder="Type a command or a project"
                        value={q}
                        autofocus
                        onInput={(e) => (setQ(e.currentTarget.value), setI(0))}
                        onKeyDown={(e) => {
                            if (e.key === 'ArrowDown') (e.preventDefault(), setI(Math.min(i + 1, cmds.length - 1)));
                            if (e.key === 'ArrowUp') (e.preventDefault(), setI(Math.max(i - 1, 0)));
                            if (e.key === 'Enter') (e.preventDefault(), run(cmds[i]));
                        }}
                    />
                    <ul id="palette-list" role="listbox" aria-label="Commands">
                        {cmds.map((c, n) => (
                            <li id={`cmd-${n}`} key={c.label} role="option" aria-selected={n === i} class={n === i ? 'active' : undefined} onClick={() => run(c)}>
                                {c.label} {c.hint && <span class="muted small">{c.hint}</span>}
                            </li>
                        ))}
                        {cmds.length === 0 && <li class="muted">No command matches.</li>}
                    </ul>
                </>
            )}
        </dialog>
    );
}

function Header() {
    const s = useStore();
    return (
        <header class="top">
            <a href="#main" class="skip">
                Skip to content
            </a>
            <Link href="/projects" class="brand">
                <span class="logo" aria-hidden="true">
                    a
                </span>{' '}
                arca
            </Link>
            {s.session && (
                <div class="top-actions">
                    <button class="ghost hide-narrow" onClick={() => ((state.paletteOpen = true), emit())} aria-keyshortcuts="Control+K Meta+K">
                        Commands <kbd>Ctrl K</kbd>
                    </button>
                    <span class="muted small hide-narrow who">{s.session.user.email}</span>
                    <button class="ghost" onClick={() => lock()}>
                        Lock
                    </button>
                    <button class="ghost" onClick={() => signOut()}>
                        Sign out
                    </button>
                </div>
            )}
        </header>
    );
}

function Toast() {
    const s = useStore();
    return (
        <div class="toasts">
            <div role="status" aria-live="polite">
                {s.toast?.kind === 'ok' && <p class="toast">{s.toast.text}</p>}
            </div>
            <div role="alert">{s.toast?.kind === 'error' && <p class="toast error">{s.toast.text}</p>}</div>
        </div>
    );
}

function Routes() {
    const s = useStore();
    const p = s.path.replace(/\/+$/, '') || '/';
    if (s.restoring)
        return (
            <main id="main" class="page">
                <p class="muted">Unlocking…</p>
            </main>
        );
    if (p === '/setup') return <Setup />;
    if (p === '/signup') return <SignUp />;
    const share = /^\/s\/([A-Za-z0-9_-]{1,64})$/.exec(p);
    if (share) return <ShareOpen id={share[1]} />;
    if (!s.session) {
        if (p !== '/login' && !s.locked) {
            // remember where to come back to once signed in
            const next = p === '/' ? '' : `?next=${encodeURIComponent(p + s.search)}`;
            queueMicrotask(() => navigate(`/login${next}`, { replace: true, force: true }));
            return null;
        }
        return <SignIn />;
    }
    if (p === '/' || p === '/login') {
        queueMicrotask(() => navigate('/projects', { replace: true, force: true }));
        return null;
    }
    if (p === '/projects') return <Projects />;
    const m = /^\/projects\/([^/]+)(?:\/(env)\/([^/]+)|\/(access|audit|settings))?$/.exec(p);
    if (m) {
        const [, id, env, slug, other] = m;
        const tab = env ? '/env' : other ? `/${other}` : '';
        return (
            <ProjectFrame id={id} tab={tab}>
                {(l) =>
                    env ? <EnvView l={l} env={slug} /> : other === 'access' ? <Access l={l} /> : other === 'audit' ? <Audit l={l} /> : other === 'settings' ? <Settings l={l} /> : <Overview l={l} />
                }
            </ProjectFrame>
        );
    }
    return (
        <main id="main" class="page">
            <h1>Not found</h1>
            <p>
                Nothing lives at this address. <Link href="/projects">Go to your projects</Link>.
            </p>
        </main>
    );
}

function App() {
    useEffect(() => {
        const onKey = (e: KeyboardEvent) => {
            if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k' && state.session) {
                e.preventDefault();
                state.paletteOpen = !state.paletteOpen;
                emit();
            }
        };
        window.addEventListener('keydown', onKey);
        // the crypto module loads while the first screen is shown
        setTimeout(() => lib(), 0);
        return () => window.removeEventListener('keydown', onKey);
    }, []);
    return (
        <>
            <Header />
            <Routes />
            <Palette />
            <Toast />
        </>
    );
}

/* "More" menus (<details class="menu">): an action or a click elsewhere closes them, so do Escape */
document.addEventListener('click', (e) => {
    const t = e.target as Element;
    for (const d of document.querySelectorAll('details.menu[open]'))
        if (!d.contains(t) || (t.closest('.menu-body') && t.closest('button'))) d.removeAttribute('open');
});
document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    for (const d of document.querySelectorAll('details.menu[open]')) {
        d.removeAttribute('open');
        (d.querySelector('summary') as HTMLElement | null)?.focus();
    }
});

restoreTab();
render(<App />, document.getElementById('app')!);
