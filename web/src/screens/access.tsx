/* Access: members (add with the project key sealed to them here, change role,
 * remove), invites (the link carries the token in its #fragment), roles, and
 * service tokens (the project key boxed under a key only the token holds;
 * shown once). */
import { useState } from 'preact/hooks';

import { say, sayError, state } from '../state';
import { copyText, Dialog, Field, useAsync, when } from '../ui';
import { Confirm } from './common';
import type { Loaded } from './projects';

type Member = { principalType: string; principalId: string; name: string; role: string; createdAt: string };
type Rule = { subject: string; actions: string[]; environments?: string[]; secretPath?: string; deny?: boolean };
type Role = { slug: string; name: string; builtin: boolean; rules: Rule[] };

const SUBJECTS = ['secrets', 'folders', 'members', 'roles', 'identities', 'service-tokens', 'audit-logs', 'settings'];
const ACTIONS = ['read', 'describe', 'create', 'edit', 'delete'];

function ruleText(r: Rule) {
    return `${r.deny ? 'deny' : 'allow'} ${r.subject}: ${r.actions.join(', ')}${r.environments?.length ? ` in ${r.environments.join(', ')}` : ''}${r.secretPath ? ` at ${r.secretPath}` : ''}`;
}

/** Custom roles: allow and deny rules by subject, actions, environments and folder glob. */
function Roles(p: { l: Loaded; roles: Role[]; admin: boolean; onChange: () => void }) {
    const pid = p.l.project.id;
    const envs = p.l.project.environments;
    const blank = (): Rule => ({ subject: 'secrets', actions: ['read'], environments: [], secretPath: '/**', deny: false });
    const [slug, setSlug] = useState('');
    const [rules, setRules] = useState<Rule[]>([blank()]);
    const set = (i: number, r: Partial<Rule>) => setRules(rules.map((x, j) => (j === i ? { ...x, ...r } : x)));
    return (
        <section aria-labelledby="roles-h">
            <h2 id="roles-h">Roles</h2>
            <ul class="roles">
                {p.roles.map((r) => (
                    <li key={r.slug}>
                        <span class="badge">{r.slug}</span> <span class="muted small">{r.builtin ? 'built-in' : 'custom'}</span>
                        {!r.builtin && (
                            <>
                                <ul class="small rules">
                                    {r.rules.map((x, i) => (
                                        <li key={i} class="mono">
                                            {ruleText(x)}
                                        </li>
                                    ))}
                                </ul>
                                {p.admin && (
                                    <button
                                        class="small danger"
                                        aria-label={`Delete role ${r.slug}`}
                                        onClick={async () => {
                                            try {
                                                await state.session!.deleteRole(pid, r.slug);
                                                say(`Role ${r.slug} deleted.`);
                                                p.onChange();
                                            } catch (x) {
                                                sayError(x);
                                            }
                                        }}
                                    >
                                        Delete
                                    </button>
                                )}
                            </>
                        )}
                    </li>
                ))}
            </ul>
            {p.admin && (
                <form
                    aria-label="New role"
                    class="role-form"
                    onSubmit={async (e) => {
                        e.preventDefault();
                        try {
                            await state.session!.createRole(pid, {
                                slug: slug.trim(),
                                rules: rules.map((r) => {
                                    const scoped = r.subject === 'secrets' || r.subject === 'folders';
                                    return {
                                        subject: r.subject,
                                        actions: r.actions,
                                        ...(scoped && r.environments?.length ? { environments: r.environments } : {}),
                                        ...(scoped && r.secretPath ? { secretPath: r.secretPath } : {}),
                                        ...(r.deny ? { deny: true } : {}),
                                    };
                                }),
                            });
                            say(`Role ${slug} created.`);
                            setSlug('');
                            setRules([blank()]);
                            p.onChange();
                        } catch (x) {
                            sayError(x);
                        }
                    }}
                >
                    <h3>New role</h3>
                    <Field label="Role slug" value={slug} onInput={setSlug} required mono placeholder="developer" />
                    {rules.map((r, i) => (
                        <fieldset key={i} class="rule">
                            <legend>Rule {i + 1}</legend>
                            <div class="inline-form tight">
                                <div class="field">
                                    <label for={`rule-${i}-effect`}>Effect</label>
                                    <select id={`rule-${i}-effect`} value={r.deny ? 'deny' : 'allow'} onChange={(e) => set(i, { deny: e.currentTarget.value === 'deny' })}>
                                        <option value="allow">allow</option>
                                        <option value="deny">deny</option>
                                    </select>
                                </div>
                                <div class="field">
                                    <label for={`rule-${i}-subject`}>Subject</label>
                                    <select id={`rule-${i}-subject`} value={r.subject} onChange={(e) => set(i, { subject: e.currentTarget.value })}>
                                        {SUBJECTS.map((x) => (
                                            <option key={x}>{x}</option>
                                        ))}
                                    </select>
                                </div>
                                {(r.subject === 'secrets' || r.subject === 'folders') && (
                                    <Field label={`Folder glob of rule ${i + 1}`} value={r.secretPath || ''} onInput={(v) => set(i, { secretPath: v })} mono />
                                )}
                            </div>
                            <div class="checks" role="group" aria-label={`Actions of rule ${i + 1}`}>
                                <span class="muted small" aria-hidden="true">
                                    Actions:
                                </span>
                                {ACTIONS.map((a) => (
                                    <label class="check" key={a}>
                                        <input type="checkbox" checked={r.actions.includes(a)} onChange={(e) => set(i, { actions: e.currentTarget.checked ? [...r.actions, a] : r.actions.filter((x) => x !== a) })} />
                                        <span>{a}</span>
                                    </label>
                                ))}
                            </div>
                            {(r.subject === 'secrets' || r.subject === 'folders') && (
                                <div class="checks" role="group" aria-label={`Environments of rule ${i + 1} (none: all)`}>
                                    <span class="muted small" aria-hidden="true">
                                        Environments (none ticked: all):
                                    </span>
                                    {envs.map((x) => (
                                        <label class="check" key={x.slug}>
                                            <input
                                                type="checkbox"
                                                checked={!!r.environments?.includes(x.slug)}
                                                onChange={(e) => set(i, { environments: e.currentTarget.checked ? [...(r.environments || []), x.slug] : (r.environments || []).filter((y) => y !== x.slug) })}
                                            />
                                            <span>{x.name}</span>
                                        </label>
                                    ))}
                                </div>
                            )}
                        </fieldset>
                    ))}
                    <div class="actions">
                        <button type="button" onClick={() => setRules([...rules, blank()])}>
                            Add rule
                        </button>
                        <button type="submit" class="primary">
                            Create role
                        </button>
                    </div>
                </form>
            )}
        </section>
    );
}
type Token = { id: string; name: string; scopes: { environment: string; secretPath: string }[]; access: string; expiresAt: string | null; createdAt: string };

function Once(p: { title: string; text: string; value: string; onClose: () => void }) {
    return (
        <Dialog title={p.title} open onClose={p.onClose}>
            <p>{p.text}</p>
            <pre class="mono once" aria-label={p.title}>
                {p.value}
            </pre>
            <div class="actions">
                <button class="primary" onClick={async () => say((await copyText(p.value)) ? 'Copied.' : 'The browser refused the clipboard.')}>
                    Copy
                </button>
                <button onClick={p.onClose}>Done</button>
            </div>
        </Dialog>
    );
}

type Identity = { id: string; name: string; clientId: string; publicKey: string };

/** Machine identities of the organization: made here (key pair, client secret
 * shown once), added to the project with its key sealed to them here. */
function Identities(p: { l: Loaded; members: Member[]; roleNames: string[]; onChange: () => void; show: (o: { title: string; text: string; value: string }) => void }) {
    const pid = p.l.project.id;
    const list = useAsync(() => state.session!.identities() as Promise<Identity[]>, [pid]);
    const [name, setName] = useState('');
    const [role, setRole] = useState('viewer');
    const roles = (p.roleNames.length ? p.roleNames : ['admin', 'member', 'viewer']).filter((r) => r !== 'no-access');
    const inProject = new Set(p.members.map((m) => m.principalId));
    return (
        <section aria-labelledby="ids-h">
            <h2 id="ids-h">Machine identities</h2>
            {list.error && <p class="muted">{list.error}</p>}
            {(list.data || []).length > 0 && (
                <table class="list">
                    <thead>
                        <tr>
                            <th scope="col">Name</th>
                            <th scope="col" class="hide-narrow">
                                Client ID
                            </th>
                            <th scope="col">
                                <span class="sr-only">Actions</span>
                            </th>
                        </tr>
                    </thead>
                    <tbody>
                        {(list.data || []).map((i) => (
                            <tr key={i.id}>
                                <th scope="row">{i.name}</th>
                                <td class="mono small hide-narrow">{i.clientId}</td>
                                <td>
                                    {inProject.has(i.id) ? (
                                        <span class="badge ok">in this project</span>
                                    ) : (
                                        <button
                                            class="small"
                                            aria-label={`Add ${i.name} to the project as ${role}`}
                                            onClick={async () => {
                                                try {
                                                    await state.session!.addIdentity(pid, i, role);
                                                    say(`${i.name} added as ${role}.`);
                                                    p.onChange();
                                                } catch (x) {
                                                    sayError(x);
                                                }
                                            }}
                                        >
                                            Add to project
                                        </button>
                                    )}
                                </td>
                            </tr>
                        ))}
                    </tbody>
                </table>
            )}
            <form
                class="inline-form"
                aria-label="New machine identity"
                onSubmit={async (e) => {
                    e.preventDefault();
                    try {
                        const r = await state.session!.createIdentity(name.trim(), { projectId: pid, role });
                        p.show({
                            title: 'Client secret',
                            text: `${r.identity.name} can log in with client ID ${r.identity.clientId} and this secret (ARCA_CLIENT_ID, ARCA_CLIENT_SECRET). It is shown once.`,
                            value: r.clientSecret,
                        });
                        setName('');
                        list.reload();
                        p.onChange();
                    } catch (x) {
                        sayError(x);
                    }
                }}
            >
                <Field label="Identity name" value={name} onInput={setName} required placeholder="ci-bot" />
                <div class="field">
                    <label for="id-role">Its role here</label>
                    <select id="id-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
                        {roles.map((r) => (
                            <option key={r}>{r}</option>
                        ))}
                    </select>
                </div>
                <button type="submit">Create identity</button>
            </form>
        </section>
    );
}

export function Access({ l }: { l: Loaded }) {
    const pid = l.project.id;
    const admin = l.role === 'admin';
    const members = useAsync(() => state.session!.members(pid) as Promise<Member[]>, [pid]);
    const roles = useAsync(() => state.session!.roles(pid) as Promise<Role[]>, [pid]);
    const tokens = useAsync(() => state.session!.serviceTokens(pid) as Promise<Token[]>, [pid]);
    const [email, setEmail] = useState('');
    const [role, setRole] = useState('member');
    const [invEmail, setInvEmail] = useState('');
    const [invRole, setInvRole] = useState('member');
    const [once, setOnce] = useState<{ title: string; text: string; value: string } | null>(null);
    const [removing, setRemoving] = useState<Member | null>(null);
    const [tName, setTName] = useState('');
    const [tEnv, setTEnv] = useState(l.project.environments[0]?.slug || 'dev');
    const [tPath, setTPath] = useState('/');
    const [tWrite, setTWrite] = useState(false);
    const [tTtl, setTTtl] = useState('2592000');
    const roleNames = (roles.data || []).map((r) => r.slug);
    return (
        <div class="stack">
            <section aria-labelledby="members-h">
                <h2 id="members-h">Members</h2>
                {members.error && (
                    <p role="alert" class="error">
                        {members.error}
                    </p>
                )}
                <table class="list">
                    <thead>
                        <tr>
                            <th scope="col">Member</th>
                            <th scope="col">Role</th>
                            <th scope="col" class="hide-narrow">
                                Since
                            </th>
                            <th scope="col">
                                <span class="sr-only">Actions</span>
                            </th>
                        </tr>
                    </thead>
                    <tbody>
                        {(members.data || []).map((m) => (
                            <tr key={m.principalId}>
                                <th scope="row">
                                    {m.name} {m.principalType === 'identity' && <span class="badge">machine</span>}
                                </th>
                                <td>
                                    {admin && m.principalId !== state.session!.user.id ? (
                                        <select
                                            aria-label={`Role of ${m.name}`}
                                            value={m.role}
                                            onChange={async (e) => {
                                                try {
                                                    await state.session!.setRole(pid, m.principalId, e.currentTarget.value);
                                                    say(`${m.name} is now ${e.currentTarget.value}.`);
                                                } catch (x) {
                                                    sayError(x);
                                                }
                                                members.reload();
                                            }}
                                        >
                                            {(roleNames.length ? roleNames : [m.role]).map((r) => (
                                                <option key={r}>{r}</option>
                                            ))}
                                        </select>
                                    ) : (
                                        m.role
                                    )}
                                </td>
                                <td class="hide-narrow">{when(m.createdAt)}</td>
                                <td>
                                    {admin && m.principalId !== state.session!.user.id && (
                                        <button class="small danger" aria-label={`Remove ${m.name}`} onClick={() => setRemoving(m)}>
                                            Remove
                                        </button>
                                    )}
                                </td>
                            </tr>
                        ))}
                    </tbody>
                </table>
                {admin && (
                    <form
                        class="inline-form"
                        aria-label="Add a member"
                        onSubmit={async (e) => {
                            e.preventDefault();
                            try {
                                await state.session!.addMember(pid, email.trim(), role);
                                say(`${email} added as ${role}: the project key was sealed to them in this browser.`);
                                setEmail('');
                                members.reload();
                            } catch (x) {
                                sayError(x);
                            }
                        }}
                    >
                        <Field label="Member email" type="email" value={email} onInput={setEmail} required hint="Someone of your organization (invite them first)." />
                        <div class="field">
                            <label for="add-role">Role</label>
                            <select id="add-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
                                {(roleNames.length ? roleNames : ['admin', 'member', 'viewer']).filter((r) => r !== 'no-access').map((r) => (
                                    <option key={r}>{r}</option>
                                ))}
                            </select>
                        </div>
                        <button type="submit" class="primary">
                            Add member
                        </button>
                    </form>
                )}
            </section>

            {admin && (
                <section aria-labelledby="invite-h">
                    <h2 id="invite-h">Invite someone</h2>
                    <form
                        class="inline-form"
                        aria-label="Invite"
                        onSubmit={async (e) => {
                            e.preventDefault();
                            try {
                                const r = await state.session!.invite(invEmail.trim(), invRole);
                                const link = `${location.origin}/signup#token=${encodeURIComponent(r.token)}&email=${encodeURIComponent(invEmail.trim())}`;
                                setOnce({ title: 'Invite link', text: `Send this link to ${invEmail}: it works once, for 7 days. Then add them to the project above.`, value: link });
                                setInvEmail('');
                            } catch (x) {
                                sayError(x);
                            }
                        }}
                    >
                        <Field label="Email to invite" type="email" value={invEmail} onInput={setInvEmail} required />
                        <div class="field">
                            <label for="inv-role">Organization role</label>
                            <select id="inv-role" value={invRole} onChange={(e) => setInvRole(e.currentTarget.value)}>
                                <option>member</option>
                                <option>admin</option>
                            </select>
                        </div>
                        <button type="submit">Create invite</button>
                    </form>
                </section>
            )}

            {admin && <Identities l={l} members={members.data || []} roleNames={roleNames} onChange={members.reload} show={setOnce} />}

            <Roles l={l} roles={roles.data || []} admin={admin} onChange={roles.reload} />

            <section aria-labelledby="tokens-h">
                <h2 id="tokens-h">Service tokens</h2>
                {tokens.error && <p class="muted">{tokens.error}</p>}
                {(tokens.data || []).length > 0 && (
                    <table class="list">
                        <thead>
                            <tr>
                                <th scope="col">Name</th>
                                <th scope="col">Scope</th>
                                <th scope="col">Access</th>
                                <th scope="col" class="hide-narrow">
                                    Expires
                                </th>
                                <th scope="col">
                                    <span class="sr-only">Actions</span>
                                </th>
                            </tr>
                        </thead>
                        <tbody>
                            {(tokens.data || []).map((t) => (
                                <tr key={t.id}>
                                    <th scope="row">{t.name}</th>
                                    <td class="mono small">{t.scopes.map((s) => `${s.environment}:${s.secretPath}`).join(', ')}</td>
                                    <td>{t.access}</td>
                                    <td class="hide-narrow">{t.expiresAt ? when(t.expiresAt) : 'never'}</td>
                                    <td>
                                        <button
                                            class="small danger"
                                            aria-label={`Revoke ${t.name}`}
                                            onClick={async () => {
                                                try {
                                                    await state.session!.revokeServiceToken(pid, t.id);
                                                    say(`${t.name} revoked.`);
                                                    tokens.reload();
                                                } catch (x) {
                                                    sayError(x);
                                                }
                                            }}
                                        >
                                            Revoke
                                        </button>
                                    </td>
                                </tr>
                            ))}
                        </tbody>
                    </table>
                )}
                <form
                    class="inline-form"
                    aria-label="New service token"
                    onSubmit={async (e) => {
                        e.preventDefault();
                        try {
                            const r = await state.session!.createServiceToken(pid, { name: tName.trim(), scopes: [{ environment: tEnv, secretPath: tPath }], write: tWrite, expiresIn: Number(tTtl) });
                            setOnce({ title: 'Service token', text: 'Copy it now: it is shown once. It carries its own decryption key; arca run reads it from ARCA_TOKEN.', value: r.token });
                            setTName('');
                            tokens.reload();
                        } catch (x) {
                            sayError(x);
                        }
                    }}
                >
                    <Field label="Token name" value={tName} onInput={setTName} required />
                    <div class="field">
                        <label for="tok-env">Environment</label>
                        <select id="tok-env" value={tEnv} onChange={(e) => setTEnv(e.currentTarget.value)}>
                            {l.project.environments.map((x) => (
                                <option key={x.slug} value={x.slug}>
                                    {x.name}
                                </option>
                            ))}
                        </select>
                    </div>
                    <Field label="Folder path" value={tPath} onInput={setTPath} mono />
                    <div class="field">
                        <label for="tok-ttl">Expires</label>
                        <select id="tok-ttl" value={tTtl} onChange={(e) => setTTtl(e.currentTarget.value)}>
                            <option value="86400">in a day</option>
                            <option value="604800">in 7 days</option>
                            <option value="2592000">in 30 days</option>
                            <option value="0">never</option>
                        </select>
                    </div>
                    <label class="check">
                        <input type="checkbox" checked={tWrite} onChange={(e) => setTWrite(e.currentTarget.checked)} /> <span>Can write</span>
                    </label>
                    <button type="submit">Create token</button>
                </form>
            </section>
            {once && <Once {...once} onClose={() => setOnce(null)} />}
            <Confirm
                open={!!removing}
                title="Remove member"
                body={removing ? `Remove ${removing.name} from ${l.project.name}? They keep what they already copied: rotate the project key (arca projects rotate-key) if that matters.` : ''}
                action="Remove"
                onClose={() => setRemoving(null)}
                onConfirm={async () => {
                    try {
                        await state.session!.removeMember(pid, removing!.principalId);
                        say(`${removing!.name} removed.`);
                        members.reload();
                    } catch (x) {
                        sayError(x);
                    }
                }}
            />
        </div>
    );
}
