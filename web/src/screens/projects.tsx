/* The projects list (search, create with or without server access) and the
 * frame of one project: its name, tabs, and the project loaded with its key
 * opened for the screens inside. */
import type { ComponentChildren } from 'preact';
import { useMemo, useState } from 'preact/hooks';

import { navigate, sayError, state, useStore } from '../state';
import { Dialog, Field, Link, useAsync } from '../ui';

export type Env = { slug: string; name: string; position: number };
export type Project = { id: string; name: string; slug: string; environments: Env[]; serverAccess: boolean; createdAt: string };
export type Loaded = { project: Project; role: string; reload: () => void };

export function NewProject(p: { open: boolean; onClose: () => void }) {
    const [name, setName] = useState('');
    const [server, setServer] = useState(false);
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState('');
    return (
        <Dialog title="New project" open={p.open} onClose={p.onClose}>
            <form
                onSubmit={async (e) => {
                    e.preventDefault();
                    setBusy(true);
                    setError('');
                    try {
                        const proj = await state.session!.createProject(name.trim(), server);
                        p.onClose();
                        setName('');
                        navigate(`/projects/${proj.id}`);
                    } catch (x) {
                        setError(x instanceof Error ? x.message : String(x));
                    } finally {
                        setBusy(false);
                    }
                }}
            >
                <Field label="Project name" value={name} onInput={setName} required autofocus />
                <label class="check">
                    <input type="checkbox" checked={server} onChange={(e) => setServer(e.currentTarget.checked)} />
                    <span>
                        Give the server access
                        <small class="hint block">
                            Off (the default): end to end encrypted, only members' browsers and CLIs can read values. On: the server keeps a copy of the
                            project key, for Infisical-compatible SDKs, integrations and reference expansion. You can change this later.
                        </small>
                    </span>
                </label>
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
                        Create
                    </button>
                </div>
            </form>
        </Dialog>
    );
}

export function Projects() {
    useStore();
    const { data, error, loading } = useAsync(() => state.session!.projects() as Promise<Project[]>, []);
    const [q, setQ] = useState('');
    const [open, setOpen] = useState(false);
    const shown = useMemo(() => (data || []).filter((p) => p.name.toLowerCase().includes(q.toLowerCase()) || p.slug.includes(q.toLowerCase())), [data, q]);
    return (
        <main id="main" class="page">
            <div class="page-head">
                <h1>Projects</h1>
                <button class="primary" onClick={() => setOpen(true)}>
                    New project
                </button>
            </div>
            {error && (
                <p role="alert" class="error">
                    {error}
                </p>
            )}
            {data && data.length > 0 && (
                <div class="toolbar">
                    <input type="search" aria-label="Search projects" placeholder="Search projects" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
                </div>
            )}
            {loading && !data && <p class="muted">Loading…</p>}
            {data && data.length === 0 && (
                <div class="empty">
                    <h2>No project yet</h2>
                    <p>A project holds the secrets of one application, in environments (dev, staging, prod). Create one to start.</p>
                    <button class="primary" onClick={() => setOpen(true)}>
                        Create your first project
                    </button>
                </div>
            )}
            {data && data.length > 0 && (
                <ul class="cards" aria-label="Projects">
                    {shown.map((p) => (
                        <li key={p.id}>
                            <Link href={`/projects/${p.id}`} class="card-link">
                                <strong>{p.name}</strong>
                                <span class="muted small">
                                    {p.environments.map((e) => e.name).join(' · ')}
                                </span>
                                <span class={p.serverAccess ? 'badge warn' : 'badge ok'}>{p.serverAccess ? 'server access' : 'end to end'}</span>
                            </Link>
                        </li>
                    ))}
                    {shown.length === 0 && <li class="muted">No project matches “{q}”.</li>}
                </ul>
            )}
            <NewProject open={open} onClose={() => setOpen(false)} />
        </main>
    );
}

const TABS = [
    ['', 'Overview'],
    ['/env', 'Secrets'],
    ['/access', 'Access'],
    ['/audit', 'Audit log'],
    ['/settings', 'Settings'],
] as const;

export function ProjectFrame(p: { id: string; tab: string; children: (l: Loaded) => ComponentChildren }) {
    const { data, error, reload } = useAsync(async () => {
        const r = await state.session!.project(p.id);
        return { project: r.project as Project, role: r.membership.role as string };
    }, [p.id]);
    if (error)
        return (
            <main id="main" class="page">
                <p role="alert" class="error">
                    {error}
                </p>
                <Link href="/projects">All projects</Link>
            </main>
        );
    if (!data)
        return (
            <main id="main" class="page">
                <p class="muted">Opening the project key…</p>
            </main>
        );
    data.project.environments.sort((a, b) => a.position - b.position);
    return (
        <main id="main" class="page">
            <nav aria-label="Breadcrumb" class="crumbs">
                <Link href="/projects">Projects</Link> <span aria-hidden="true">/</span> <span>{data.project.name}</span>
            </nav>
            <div class="page-head">
                <h1>{data.project.name}</h1>
                <span class={data.project.serverAccess ? 'badge warn' : 'badge ok'} title={data.project.serverAccess ? 'The server holds a copy of the key' : 'Only members can decrypt'}>
                    {data.project.serverAccess ? 'server access' : 'end to end'}
                </span>
                <span class="badge">{data.role}</span>
            </div>
            <nav class="tabs" aria-label="Project">
                {TABS.map(([suffix, label]) => {
                    const href = suffix === '/env' ? `/projects/${p.id}/env/${data.project.environments[0]?.slug ?? 'dev'}` : `/projects/${p.id}${suffix}`;
                    const current = suffix === p.tab;
                    return (
                        <Link key={suffix} href={href} class={current ? 'tab current' : 'tab'} aria-current={current ? 'page' : undefined}>
                            {label}
                        </Link>
                    );
                })}
            </nav>
            {p.children({ ...data, reload })}
        </main>
    );
}

export function canWrite(role: string) {
    return role !== 'viewer' && role !== 'no-access';
}
export { sayError };
