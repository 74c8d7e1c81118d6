/* The project's audit log: filter by actor, event, environment and time, load
 * more as you scroll, export what is loaded, and the hash chain's verify
 * result (organization admins). */
import { useEffect, useRef, useState } from 'preact/hooks';

import { sayError, state } from '../state';
import { download, when } from '../ui';
import type { Loaded } from './projects';

type Rec = { seq: number; time: string; actor: { type: string; id: string; name: string }; event: string; environment: string; path: string; key: string; ip: string; outcome: string };

export function Audit({ l }: { l: Loaded }) {
    const pid = l.project.id;
    const [event, setEvent] = useState('');
    const [actor, setActor] = useState('');
    const [env, setEnv] = useState('');
    const [since, setSince] = useState('');
    const [recs, setRecs] = useState<Rec[]>([]);
    const [next, setNext] = useState<number | null>(null);
    const [error, setError] = useState('');
    const [verify, setVerify] = useState('');
    const [busy, setBusy] = useState(false);
    const sentinel = useRef<HTMLDivElement>(null);

    const load = async (after?: number) => {
        setBusy(true);
        try {
            const r = await state.session!.auditLogs({ projectId: pid, event: event || undefined, since: since ? new Date(since).toISOString() : undefined, after, limit: 100 });
            setRecs((old) => (after ? [...old, ...r.auditLogs] : r.auditLogs));
            setNext(r.next);
            setError('');
        } catch (x) {
            setError(x instanceof Error ? x.message : String(x));
        } finally {
            setBusy(false);
        }
    };
    useEffect(() => void load(), [pid, event, since]);
    useEffect(() => {
        const el = sentinel.current;
        if (!el || next === null) return;
        const io = new IntersectionObserver((es) => es.some((x) => x.isIntersecting) && !busy && load(next));
        io.observe(el);
        return () => io.disconnect();
    }, [next, busy]);
    const shown = recs.filter((r) => (!actor || r.actor.name.toLowerCase().includes(actor.toLowerCase())) && (!env || r.environment === env));
    return (
        <section aria-labelledby="audit-h">
            <h2 id="audit-h">Audit log</h2>
            <div class="toolbar wrap">
                <div class="field">
                    <label for="au-ev">Event</label>
                    <select id="au-ev" value={event} onChange={(e) => setEvent(e.currentTarget.value)}>
                        <option value="">any</option>
                        {['secret.', 'secret.read', 'secret.list', 'secret.create', 'secret.update', 'secret.delete', 'secret.rollback', 'member.', 'service-token.', 'permission.denied', 'environment.', 'project.'].map((x) => (
                            <option key={x} value={x}>
                                {x.endsWith('.') ? `${x}*` : x}
                            </option>
                        ))}
                    </select>
                </div>
                <div class="field">
                    <label for="au-actor">Actor</label>
                    <input id="au-actor" type="search" value={actor} onInput={(e) => setActor(e.currentTarget.value)} />
                </div>
                <div class="field">
                    <label for="au-env">Environment</label>
                    <select id="au-env" value={env} onChange={(e) => setEnv(e.currentTarget.value)}>
                        <option value="">any</option>
                        {l.project.environments.map((e) => (
                            <option key={e.slug} value={e.slug}>
                                {e.name}
                            </option>
                        ))}
                    </select>
                </div>
                <div class="field">
                    <label for="au-since">Since</label>
                    <input id="au-since" type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
                </div>
                <button onClick={() => download(`audit-${l.project.slug}.json`, JSON.stringify(shown, null, 2) + '\n', 'application/json')} disabled={!shown.length}>
                    Export JSON
                </button>
                <button
                    onClick={async () => {
                        try {
                            const v = await state.session!.auditVerify();
                            setVerify(v.ok ? `Chain intact: ${v.records} records verified.` : `Chain broken at record ${v.firstBadSeq}: ${v.reason}.`);
                        } catch (x) {
                            setVerify('');
                            sayError(x);
                        }
                    }}
                >
                    Verify chain
                </button>
            </div>
            {verify && (
                <p role="status" class={/intact/.test(verify) ? 'ok-box' : 'error'}>
                    {verify}
                </p>
            )}
            {error && (
                <p role="alert" class="error">
                    {error}
                </p>
            )}
            <div class="table-wrap">
            <table class="list audit">
                <thead>
                    <tr>
                        <th scope="col">When</th>
                        <th scope="col">Actor</th>
                        <th scope="col">Event</th>
                        <th scope="col" class="hide-narrow">
                            Where
                        </th>
                        <th scope="col">Outcome</th>
                    </tr>
                </thead>
                <tbody>
                    {shown.map((r) => (
                        <tr key={r.seq}>
                            <td class="small">{when(r.time)}</td>
                            <td class="small">{r.actor.name || r.actor.type}</td>
                            <td class="mono small">{r.event}</td>
                            <td class="hide-narrow mono small">{[r.environment, r.path, r.key].filter(Boolean).join(' ')}</td>
                            <td>
                                <span class={r.outcome === 'success' ? 'badge ok' : 'badge bad'}>{r.outcome}</span>
                            </td>
                        </tr>
                    ))}
                </tbody>
            </table>
            </div>
            {shown.length === 0 && !busy && <p class="muted">No record matches.</p>}
            <div ref={sentinel} />
            {next !== null && (
                <button onClick={() => load(next)} disabled={busy}>
                    Load more
                </button>
            )}
        </section>
    );
}
