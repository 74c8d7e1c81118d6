/* Project settings: environments (add, rename, reorder, delete) and server
 * access, with what turning it on means. */
import { useState } from 'preact/hooks';

import { say, sayError, state } from '../state';
import { Field } from '../ui';
import { Confirm } from './common';
import type { Env, Loaded } from './projects';

export function Settings({ l }: { l: Loaded }) {
    const pid = l.project.id;
    const envs = l.project.environments;
    const [name, setName] = useState('');
    const [slug, setSlug] = useState('');
    const [names, setNames] = useState<Record<string, string>>({});
    const [deleting, setDeleting] = useState<Env | null>(null);
    const [access, setAccess] = useState(false);
    const [rotate, setRotate] = useState(false);
    const act = async (fn: () => Promise<unknown>, ok: string | null) => {
        try {
            await fn();
            if (ok) say(ok);
            l.reload();
        } catch (x) {
            sayError(x);
        }
    };
    const move = (i: number, d: number) => {
        const other = envs[i + d];
        act(async () => {
            await state.session!.updateEnvironment(pid, envs[i].slug, { position: other.position });
            await state.session!.updateEnvironment(pid, other.slug, { position: envs[i].position });
        }, 'Order saved.');
    };
    return (
        <div class="stack">
            <section aria-labelledby="envs-h">
                <h2 id="envs-h">Environments</h2>
                <div class="table-wrap">
                <table class="list">
                    <thead>
                        <tr>
                            <th scope="col">Name</th>
                            <th scope="col">Slug</th>
                            <th scope="col">
                                <span class="sr-only">Actions</span>
                            </th>
                        </tr>
                    </thead>
                    <tbody>
                        {envs.map((e, i) => (
                            <tr key={e.slug}>
                                <td>
                                    <form
                                        class="rename"
                                        onSubmit={(ev) => {
                                            ev.preventDefault();
                                            act(() => state.session!.updateEnvironment(pid, e.slug, { name: names[e.slug] }), 'Renamed.');
                                        }}
                                    >
                                        <input aria-label={`Name of ${e.slug}`} value={names[e.slug] ?? e.name} onInput={(ev) => setNames({ ...names, [e.slug]: ev.currentTarget.value })} />
                                        {names[e.slug] !== undefined && names[e.slug] !== e.name && (
                                            <button type="submit" class="small primary">
                                                Rename
                                            </button>
                                        )}
                                    </form>
                                </td>
                                <td class="mono">{e.slug}</td>
                                <td>
                                    <div class="row-actions nowrap">
                                        <button class="small" aria-label={`Move ${e.name} up`} disabled={i === 0} onClick={() => move(i, -1)}>
                                            ↑
                                        </button>
                                        <button class="small" aria-label={`Move ${e.name} down`} disabled={i === envs.length - 1} onClick={() => move(i, 1)}>
                                            ↓
                                        </button>
                                        <button class="small danger" aria-label={`Delete ${e.name}`} onClick={() => setDeleting(e)}>
                                            Delete
                                        </button>
                                    </div>
                                </td>
                            </tr>
                        ))}
                    </tbody>
                </table>
                </div>
                <form
                    class="inline-form"
                    aria-label="Add an environment"
                    onSubmit={(ev) => {
                        ev.preventDefault();
                        act(() => state.session!.addEnvironment(pid, { name: name.trim(), slug: slug.trim() }), `${name} added.`).then(() => (setName(''), setSlug('')));
                    }}
                >
                    <Field label="Environment name" value={name} onInput={(v) => (setName(v), setSlug(v.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-|-$/g, '')))} required />
                    <Field label="Slug" value={slug} onInput={setSlug} required mono hint="Lowercase letters, digits, -. Fixed once a secret is written." />
                    <button type="submit">Add environment</button>
                </form>
            </section>
            <section aria-labelledby="access-h">
                <h2 id="access-h">Server access</h2>
                <p>
                    {l.project.serverAccess
                        ? 'On: the server keeps a copy of the project key, sealed under its root key. It can decrypt for the Infisical-compatible API, reference expansion and integrations.'
                        : 'Off: end to end encrypted. Only members’ browsers and CLIs can decrypt; the Infisical-compatible API answers that the project needs server access.'}
                </p>
                <button onClick={() => setAccess(true)}>{l.project.serverAccess ? 'Turn server access off' : 'Give the server access'}</button>
            </section>
            <section aria-labelledby="rotate-h">
                <h2 id="rotate-h">Key rotation</h2>
                <p>
                    A new project key, made in this browser: every version of every secret is decrypted and sealed again under it here, and the key is sealed to every
                    member. Do it after someone leaves. The project’s service tokens stop working (they hold the old key); make new ones.
                </p>
                <button onClick={() => setRotate(true)}>Rotate the project key</button>
            </section>
            <Confirm
                open={rotate}
                title="Rotate the project key"
                body="Every version is sealed again under a new key, in one transaction; service tokens of this project are revoked."
                action="Rotate"
                onClose={() => setRotate(false)}
                onConfirm={() =>
                    act(async () => {
                        const r = await state.session!.rotateKey(pid);
                        say(`Key rotated: ${r.versions} versions sealed again for ${r.members} members.`);
                    }, null)
                }
            />
            <Confirm
                open={access}
                title={l.project.serverAccess ? 'Turn server access off' : 'Give the server access'}
                body={
                    l.project.serverAccess
                        ? 'The server deletes its copy of the key. Infisical SDKs and integrations stop working for this project.'
                        : 'This browser hands the project key to the server, which can then read every value of this project. Anyone who controls the server (or its root key) can too.'
                }
                action={l.project.serverAccess ? 'Turn off' : 'Give access'}
                onClose={() => setAccess(false)}
                onConfirm={() => act(() => state.session!.setServerAccess(pid, !l.project.serverAccess), 'Server access changed.')}
            />
            <Confirm
                open={!!deleting}
                title="Delete environment"
                body={deleting ? `Delete ${deleting.name}? Only an environment where no secret was ever written can be deleted.` : ''}
                action="Delete"
                onClose={() => setDeleting(null)}
                onConfirm={() => act(() => state.session!.deleteEnvironment(pid, deleting!.slug), `${deleting!.name} deleted.`)}
            />
        </div>
    );
}
