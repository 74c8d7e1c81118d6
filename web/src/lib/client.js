// @ts-check
/* The web app's arca client: the routes of docs/api.md with every key and
 * value sealed and opened here, never on the server.  Plain JavaScript (JSDoc
 * types) like the crypto module, so node --test drives it against a real
 * server and the CLI (tests/web/client.test.mjs).
 *
 * A Session holds the bearer token, the user's key pair and the project keys
 * it opened, in memory only: nothing is written to localStorage. */
import * as C from '../crypto/index.js';

const A = '/api/arca/v1';

/** An API refusal, in words a person can act on. */
export class ApiError extends Error {
    /** @param {number} status @param {string} message @param {any} [body] @param {number} [retryAfter] */
    constructor(status, message, body, retryAfter) {
        super(message);
        this.status = status;
        this.body = body;
        this.retryAfter = retryAfter || 0;
    }
}

/** @param {number} status @param {any} body @param {number} retry */
function explain(status, body, retry) {
    const msg = body && typeof body.message === 'string' ? body.message : '';
    if (status === 429)
        return `Too many attempts: try again in ${retry || 60} seconds.`;
    if (status === 403) return msg ? `Not allowed: ${msg}.` : 'Not allowed.';
    if (status === 401 && !msg) return 'Your session has ended: sign in again.';
    if (status >= 500 && !msg) return 'The server failed; try again.';
    if (status === 0) return 'The server cannot be reached.';
    return msg ? msg.charAt(0).toUpperCase() + msg.slice(1) + (/[.!?]$/.test(msg) ? '' : '.') :
        `The server answered ${status}.`;
}

export class Api {
    /** @param {string} [base] the server's origin ('' in the browser) @param {typeof fetch} [fetchImpl] */
    constructor(base = '', fetchImpl) {
        this.base = base;
        this.fetch = fetchImpl || globalThis.fetch.bind(globalThis);
        /** @type {((e: ApiError) => void) | null} */
        this.onUnauthorized = null;
    }

    /** @param {string} method @param {string} path @param {any} [body] @param {string} [token] */
    async call(method, path, body, token) {
        /** @type {Record<string, string>} */
        const headers = {};
        if (body !== undefined) headers['Content-Type'] = 'application/json';
        if (token) headers.Authorization = `Bearer ${token}`;
        let res;
        try {
            res = await this.fetch(this.base + path, {
                method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
            });
        } catch {
            throw new ApiError(0, explain(0, null, 0));
        }
        let json = null;
        try {
            json = await res.json();
        } catch {
            json = null;
        }
        if (!res.ok) {
            const retry = Number(res.headers.get('retry-after')) || 0;
            const e = new ApiError(res.status, explain(res.status, json, retry), json, retry);
            if (res.status === 401 && token && this.onUnauthorized) this.onUnauthorized(e);
            throw e;
        }
        return json;
    }
}

/** @param {Record<string, string | number | boolean | undefined | null>} q */
export function qs(q) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null) p.set(k, String(v));
    const s = p.toString();
    return s ? `?${s}` : '';
}

/** The keys and body fields of a new account (setup, sign-up).
 * @param {string} password */
function newAccount(password) {
    const salt = C.random(C.SALT_BYTES);
    const { authKey, kek } = C.passwordDerive(password, salt, C.KDF_OPSLIMIT, C.KDF_MEMLIMIT);
    const kp = C.keypairNew();
    const sealed = C.box(kek, C.USER_PRIVATE_KEY_LABEL, kp.privateKey);
    C.wipe(kek);
    const body = {
        authKey: C.toB64(authKey),
        kdf: { salt: C.toB64(salt), opslimit: C.KDF_OPSLIMIT, memlimit: C.KDF_MEMLIMIT },
        publicKey: C.toB64(kp.publicKey),
        encryptedPrivateKey: C.toB64(sealed),
    };
    C.wipe(authKey);
    return { body, kp };
}

/** First run: the admin account and its organization.
 * @param {Api} api @param {{email: string, password: string, organization: string}} a */
export async function setup(api, { email, password, organization }) {
    await C.ready();
    const { body, kp } = newAccount(password);
    const r = await api.call('POST', `${A}/bootstrap`, { email, organization, ...body });
    return new Session(api, r.token, r.user, kp.publicKey, kp.privateKey);
}

/** Sign-up from an invite.
 * @param {Api} api @param {{inviteToken: string, email: string, password: string}} a */
export async function signUp(api, { inviteToken, email, password }) {
    await C.ready();
    const { body, kp } = newAccount(password);
    const r = await api.call('POST', `${A}/signup`, { inviteToken, email, ...body });
    return new Session(api, r.token, r.user, kp.publicKey, kp.privateKey);
}

/** Sign-in: the server's KDF parameters, the auth key sent, the private key
 * opened with the KEK (and checked against the public key the server sent).
 * @param {Api} api @param {string} email @param {string} password */
export async function signIn(api, email, password) {
    await C.ready();
    const { kdf } = await api.call('POST', `${A}/auth/params`, { email });
    const { authKey, kek } = C.passwordDerive(password, C.fromB64(kdf.salt), kdf.opslimit,
        kdf.memlimit);
    let r;
    try {
        r = await api.call('POST', `${A}/auth/login`, { email, authKey: C.toB64(authKey) });
    } finally {
        C.wipe(authKey);
    }
    let sk;
    try {
        sk = C.unbox(kek, C.USER_PRIVATE_KEY_LABEL, C.fromB64(r.user.encryptedPrivateKey));
    } catch {
        throw new ApiError(0, 'Your private key cannot be opened: the server sent a damaged or foreign key.');
    } finally {
        C.wipe(kek);
    }
    const pk = C.fromB64(r.user.publicKey);
    if (!C.keypairMatches(pk, sk))
        throw new ApiError(0, 'The server sent a public key that does not match your private key.');
    return new Session(api, r.token, r.user, pk, sk);
}

/**
 * @typedef {{id: string, key: string, type: string, version: number, value: string | null,
 *   comment: string, updatedAt: string, environment: string, path: string, error?: string}} Secret
 */

/**
 * A machine identity's client secret (32 random bytes, hex) for the private
 * key given (wiped here): the body the server gets — the auth key derived from
 * the secret and the private key sealed under its KEK — and the secret, to be
 * shown once.
 * @param {Uint8Array} privateKey
 */
function newClientSecret(privateKey) {
    const raw = C.random(32);
    const secret = C.toHex(raw);
    C.wipe(raw);
    const { authKey, kek } = C.secretDerive(C.utf8(secret));
    const sealed = C.box(kek, C.IDENTITY_PRIVATE_KEY_LABEL, privateKey);
    C.wipe(kek);
    C.wipe(privateKey);
    const body = { authKey: C.toB64(authKey), encryptedPrivateKey: C.toB64(sealed), prefix: secret.slice(0, 6) };
    C.wipe(authKey);
    return { secret, body };
}

export class Session {
    /** @param {Api} api @param {string} token @param {{id: string, email: string}} user
     *  @param {Uint8Array} publicKey @param {Uint8Array} privateKey */
    constructor(api, token, user, publicKey, privateKey) {
        this.api = api;
        this.token = token;
        this.user = { id: user.id, email: user.email };
        this.publicKey = publicKey;
        this.privateKey = privateKey;
        /** @type {Map<string, Uint8Array>} */
        this.keys = new Map();
    }

    /** @param {string} method @param {string} path @param {any} [body] */
    call(method, path, body) {
        return this.api.call(method, path, body, this.token);
    }

    /** What a tab that opted in keeps in sessionStorage (the token and key pair;
     * project keys are opened again from the server). */
    saved() {
        return JSON.stringify({ token: this.token, user: this.user, publicKey: C.toB64(this.publicKey), privateKey: C.toB64(this.privateKey) });
    }

    /** @param {Api} api @param {string} text from saved() */
    static async restore(api, text) {
        await C.ready();
        const o = JSON.parse(text);
        const pk = C.fromB64(o.publicKey), sk = C.fromB64(o.privateKey);
        if (!C.keypairMatches(pk, sk)) throw new Error('damaged saved session');
        const s = new Session(api, o.token, o.user, pk, sk);
        await s.me(); // the token still works (else 401)
        return s;
    }

    /** Forgets every key (lock, sign-out). */
    wipe() {
        C.wipe(this.privateKey);
        for (const k of this.keys.values()) C.wipe(k);
        this.keys.clear();
        this.token = '';
    }

    async signOut() {
        try {
            await this.call('POST', `${A}/auth/logout`, {});
        } finally {
            this.wipe();
        }
    }

    me() {
        return this.call('GET', `${A}/users/me`);
    }

    async projects() {
        return (await this.call('GET', `${A}/projects`)).projects;
    }

    /** A project with the caller's role, its key opened.  @param {string} id */
    async project(id) {
        const r = await this.call('GET', `${A}/projects/${encodeURIComponent(id)}`);
        if (!this.keys.has(id)) {
            try {
                this.keys.set(id, C.unwrap(this.publicKey, this.privateKey,
                    C.fromB64(r.membership.encryptedProjectKey)));
            } catch {
                throw new ApiError(0, 'The key of this project cannot be opened: it was not sealed to your key pair.');
            }
        }
        return r;
    }

    /** The fingerprint function of a project's values (overview grid).
     * @param {string} id @returns {(path: string, key: string, value: string) => string} */
    fingerprinter(id) {
        const fk = C.fingerprintKey(this.key(id));
        return (path, key, value) => C.fingerprint(fk, path, key, value);
    }

    /** @param {string} id */
    key(id) {
        const k = this.keys.get(id);
        if (!k) throw new Error('project key not loaded');
        return k;
    }

    /** A new project: a random key sealed to the caller; with serverAccess the
     * server is handed the key too (Infisical-compatible routes, integrations).
     * @param {string} name @param {boolean} serverAccess */
    async createProject(name, serverAccess) {
        const key = C.random(C.KEY_BYTES);
        const r = await this.call('POST', `${A}/projects`, {
            name, encryptedProjectKey: C.toB64(C.wrap(this.publicKey, key)),
        });
        this.keys.set(r.project.id, key);
        if (serverAccess) return (await this.setServerAccess(r.project.id, true)).project;
        return r.project;
    }

    /** @param {string} id @param {boolean} on */
    setServerAccess(id, on) {
        return this.call('PATCH', `${A}/projects/${id}`,
            on ? { serverAccess: true, projectKey: C.toB64(this.key(id)) } : { serverAccess: false });
    }

    /** Opens a listed secret's records.  @param {string} projectId @param {any} s
     *  @param {string} environment @param {string} path */
    open(projectId, s, environment, path) {
        const owner = s.type === 'personal' ? this.user.id : '';
        const env = s.environment || environment, p = s.path || path;
        const ad = { projectId, environment: env, path: p, key: s.key, field: '' };
        /** @type {Secret} */
        const out = { id: s.id, key: s.key, type: s.type, version: s.version, value: null,
            comment: '', updatedAt: s.updatedAt, environment: env, path: p };
        try {
            if (s.value != null)
                out.value = C.recordOpenText(this.key(projectId),
                    { ...ad, field: C.adField(owner, 'value') }, s.value);
            if (s.comment)
                out.comment = C.recordOpenText(this.key(projectId),
                    { ...ad, field: C.adField(owner, 'comment') }, s.comment);
        } catch {
            out.value = null;
            out.error = 'does not decrypt (tampered with, or moved)';
        }
        return out;
    }

    /** The folder's secrets, opened.  @param {string} projectId @param {string} environment @param {string} path */
    async secrets(projectId, environment, path = '/') {
        const r = await this.call('GET', `${A}/projects/${projectId}/secrets${qs({ environment, secretPath: path })}`);
        return /** @type {Secret[]} */ (r.secrets.map((/** @type {any} */ s) => this.open(projectId, s, environment, path)));
    }

    /**
     * The folder's secrets and its imports' (the server's blocks, opened):
     * imported keys the folder does not have itself, the last import winning,
     * as libarca merges them.
     * @param {string} projectId @param {string} environment @param {string} path
     */
    async secretsWithImports(projectId, environment, path = '/') {
        const r = await this.call('GET', `${A}/projects/${projectId}/secrets${qs({ environment, secretPath: path, imports: 'true' })}`);
        const own = /** @type {Secret[]} */ (r.secrets.map((/** @type {any} */ s) => this.open(projectId, s, environment, path)));
        const have = new Set(own.map((s) => s.key));
        /** @type {(Secret & {from: string})[]} */
        const imported = [];
        for (const block of [...(r.imports || [])].reverse())
            for (const s of block.secrets) {
                if (s.type === 'personal' || have.has(s.key)) continue;
                have.add(s.key);
                imported.push({ ...this.open(projectId, s, s.environment || block.environment, s.path || block.path), from: `${block.environment}:${block.path}` });
            }
        return { secrets: own, imported };
    }

    /** @param {string} projectId @param {string} environment @param {string} path */
    async imports(projectId, environment, path) {
        return (await this.call('GET', `${A}/projects/${projectId}/imports${qs({ environment, path })}`)).secretImports;
    }

    /** @param {string} projectId @param {string} environment @param {string} path @param {{environment: string, path: string}} from */
    addImport(projectId, environment, path, from) {
        return this.call('POST', `${A}/projects/${projectId}/imports`, { environment, path, import: from });
    }

    /** @param {string} projectId @param {string} id */
    removeImport(projectId, id) {
        return this.call('DELETE', `${A}/projects/${projectId}/imports/${id}`);
    }

    /**
     * Expands ${KEY}, ${env.KEY} and ${env.a.b.KEY} in value as libarca and the
     * server do (at most 8 deep, a cycle or a missing secret is an error),
     * fetching other folders once.  Throws an Error naming the reference.
     * @param {string} projectId @param {string} environment @param {string} path
     * @param {string} value @param {Map<string, Map<string, string>>} [cache]
     */
    async expand(projectId, environment, path, value, cache = new Map()) {
        /** @param {string} env @param {string} p */
        const folder = async (env, p) => {
            const k = `${env}\0${p}`;
            if (!cache.has(k)) {
                const list = await this.secrets(projectId, env, p);
                const m = new Map();
                for (const s of list) if (s.value !== null && (s.type === 'shared' || s.type === 'personal')) {
                    if (s.type === 'personal' || !m.has(s.key)) m.set(s.key, s.value);
                }
                cache.set(k, m);
            }
            return /** @type {Map<string, string>} */ (cache.get(k));
        };
        /** @param {string} v @param {string} env @param {string} p @param {string[]} chain */
        const run = async (v, env, p, chain) => {
            if (chain.length > 8) throw new Error(`references nest deeper than 8: ${chain.join(' -> ')}`);
            let out = '';
            let i = 0;
            for (;;) {
                const at = v.indexOf('${', i);
                const end = at < 0 ? -1 : v.indexOf('}', at + 2);
                if (at < 0 || end < 0) return out + v.slice(i);
                out += v.slice(i, at);
                const ref = v.slice(at + 2, end);
                const parts = ref.split('.');
                const key = /** @type {string} */ (parts.pop());
                const renv = parts.length ? /** @type {string} */ (parts.shift()) : env;
                const rpath = parts.length ? '/' + parts.join('/') : ref.includes('.') ? '/' : p;
                const id = `${renv}:${rpath}:${key}`;
                if (chain.includes(id)) throw new Error(`\${${ref}} is a cycle`);
                const m = await folder(renv, rpath).catch(() => new Map());
                if (!m.has(key)) throw new Error(`\${${ref}} does not resolve`);
                out += await run(/** @type {string} */ (m.get(key)), renv, rpath, [...chain, id]);
                i = end + 1;
            }
        };
        return run(value, environment, path, []);
    }

    /**
     * Writes and deletes in one transaction.
     * @param {string} projectId @param {string} environment @param {string} path
     * @param {{key: string, value?: string, comment?: string, delete?: boolean, personal?: boolean}[]} items
     */
    async batch(projectId, environment, path, items) {
        const key = this.key(projectId);
        const secrets = items.map((it) => {
            const type = it.personal ? 'personal' : undefined;
            if (it.delete) return { key: it.key, delete: true, ...(type ? { type } : {}) };
            const owner = it.personal ? this.user.id : '';
            const ad = { projectId, environment, path, key: it.key, field: '' };
            /** @type {any} */
            const o = {
                key: it.key,
                value: C.recordSealText(key, { ...ad, field: C.adField(owner, 'value') }, it.value ?? ''),
            };
            if (it.comment)
                o.comment = C.recordSealText(key, { ...ad, field: C.adField(owner, 'comment') }, it.comment);
            if (type) o.type = type;
            return o;
        });
        return (await this.call('POST', `${A}/projects/${projectId}/secrets/batch`,
            { environment, secretPath: path, secrets })).secrets;
    }

    /** @param {string} projectId @param {string} environment @param {string} path @param {string} key */
    async versions(projectId, environment, path, key) {
        const r = await this.call('GET', `${A}/projects/${projectId}/secrets/${encodeURIComponent(key)}/versions${qs({ environment, secretPath: path })}`);
        return r.versions.map((/** @type {any} */ v) => ({
            ...this.open(projectId, { key, type: 'shared', value: v.value, comment: v.comment, version: v.version, updatedAt: v.updatedAt }, environment, path),
            actorId: v.actorId, deleted: v.value == null,
        }));
    }

    /** @param {string} projectId @param {string} environment @param {string} path @param {string} key @param {number} version */
    rollbackOne(projectId, environment, path, key, version) {
        return this.call('POST', `${A}/projects/${projectId}/secrets/${encodeURIComponent(key)}/rollback`,
            { environment, secretPath: path, version });
    }

    /** @param {string} projectId @param {string} environment @param {string} path @param {string} to ISO time */
    rollbackFolder(projectId, environment, path, to) {
        return this.call('POST', `${A}/projects/${projectId}/secrets/rollback`, { environment, secretPath: path, to });
    }

    /** @param {string} projectId @param {string} environment @param {string} path */
    async folders(projectId, environment, path = '/') {
        return (await this.call('GET', `${A}/projects/${projectId}/folders${qs({ environment, path })}`)).folders;
    }

    /** @param {string} projectId @param {string} environment @param {string} path @param {string} name */
    createFolder(projectId, environment, path, name) {
        return this.call('POST', `${A}/projects/${projectId}/folders`, { environment, path, name });
    }

    /** @param {string} projectId @param {string} environment @param {string} path @param {string} name */
    deleteFolder(projectId, environment, path, name) {
        return this.call('DELETE', `${A}/projects/${projectId}/folders/${encodeURIComponent(name)}${qs({ environment, path })}`);
    }

    /** @param {string} projectId */
    async members(projectId) {
        return (await this.call('GET', `${A}/projects/${projectId}/members`)).members;
    }

    /** Adds a person of the organization: the project key sealed to them here.
     * @param {string} projectId @param {string} email @param {string} role */
    async addMember(projectId, email, role) {
        const { user } = await this.call('GET', `${A}/users/lookup${qs({ email })}`);
        return this.call('POST', `${A}/projects/${projectId}/members`, {
            principalType: 'user', principalId: user.id, role,
            encryptedProjectKey: C.toB64(C.wrap(C.fromB64(user.publicKey), this.key(projectId))),
        });
    }

    /** @param {string} projectId @param {string} principalId @param {string} role */
    setRole(projectId, principalId, role) {
        return this.call('PATCH', `${A}/projects/${projectId}/members/${principalId}`, { role });
    }

    /** @param {string} projectId @param {string} principalId */
    removeMember(projectId, principalId) {
        return this.call('DELETE', `${A}/projects/${projectId}/members/${principalId}`);
    }

    /** @param {string} email @param {string} orgRole */
    invite(email, orgRole = 'member') {
        return this.call('POST', `${A}/invites`, { email, orgRole });
    }

    /**
     * A machine identity of the organization: its key pair and client secret
     * are made here; the server gets the public key, the auth key derived from
     * the secret and the private key sealed under the secret's KEK.  With a
     * projectId it joins the project (its key sealed to it here).  The client
     * secret is returned once, to be shown once.
     * @param {string} name @param {{projectId?: string, role?: string}} [opts]
     */
    async createIdentity(name, { projectId, role } = {}) {
        const kp = C.keypairNew();
        const { secret, body: clientSecret } = newClientSecret(kp.privateKey);
        /** @type {any} */
        const body = { name, publicKey: C.toB64(kp.publicKey), clientSecret };
        if (projectId) body.organizationId = (await this.project(projectId)).project.organizationId;
        const r = await this.call('POST', `${A}/identities`, body);
        if (projectId)
            await this.addIdentity(projectId, { id: r.identity.id, publicKey: C.toB64(kp.publicKey) }, role || 'viewer');
        return { identity: r.identity, clientSecret: secret };
    }

    async identities() {
        return (await this.call('GET', `${A}/identities`)).identities;
    }

    /** @param {string} id */
    deleteIdentity(id) {
        return this.call('DELETE', `${A}/identities/${id}`);
    }

    /** @param {string} id */
    async clientSecrets(id) {
        return (await this.call('GET', `${A}/identities/${encodeURIComponent(id)}/client-secrets`)).clientSecrets;
    }

    /**
     * A new client secret re-keys the identity (this browser cannot open its
     * private key): a new key pair made here, the key of each of its projects
     * sealed to the new public key, the private key sealed under the new
     * secret's KEK.  The server revokes its other secrets.  Only projects this
     * browser can see count: for one it cannot, the server answers which.
     * @param {string} id @param {{description?: string}} [o]
     */
    async createClientSecret(id, { description } = {}) {
        const kp = C.keypairNew();
        /** @type {any[]} */
        const memberships = [];
        for (const p of await this.projects()) {
            let members;
            try {
                members = await this.members(p.id);
            } catch {
                continue; // members not listable: the server names the project
            }
            if (!members.some((/** @type {any} */ m) => m.principalType === 'identity' && m.principalId === id)) continue;
            if (!this.keys.has(p.id)) await this.project(p.id);
            memberships.push({ projectId: p.id, encryptedProjectKey: C.toB64(C.wrap(kp.publicKey, this.key(p.id))) });
        }
        const { secret, body: cs } = newClientSecret(kp.privateKey);
        /** @type {any} */
        const body = { ...cs, publicKey: C.toB64(kp.publicKey), memberships };
        if (description) body.description = description;
        const r = await this.call('POST', `${A}/identities/${encodeURIComponent(id)}/client-secrets`, body);
        return { clientSecret: r.clientSecret, secret, otherSecretsRevoked: !!r.otherSecretsRevoked };
    }

    /** @param {string} id @param {string} secretId */
    revokeClientSecret(id, secretId) {
        return this.call('DELETE', `${A}/identities/${encodeURIComponent(id)}/client-secrets/${encodeURIComponent(secretId)}`);
    }

    /**
     * A share link, made here as arca_share_create does (src/client/share.c):
     * random id and link key, the value boxed under the content key (label
     * "share:<id>"), with a password split by Argon2id.  Only ciphertext, the
     * access key and the password's auth key are sent; the link (with its key
     * after #) is returned to be shown once.
     * @param {string} value @param {{expiresIn?: number, maxViews?: number, password?: string, orgOnly?: boolean, origin?: string}} [o]
     */
    async createShare(value, { expiresIn = 86400, maxViews = 1, password, orgOnly = false, origin = location.origin } = {}) {
        await C.ready();
        const plain = C.utf8(value);
        if (plain.length > 65536) throw new ApiError(0, `The value is ${plain.length} bytes: a share holds at most 65536.`);
        const key = C.random(C.KEY_BYTES);
        let id = '';
        do /* an id never starts with '-', which a command line would read as a flag */
            id = C.toB64url(C.random(16));
        while (id[0] === '-');
        /** @type {any} */
        const body = { id, expiresIn, maxViews, orgOnly };
        let kek = null;
        if (password) {
            const salt = C.random(C.SALT_BYTES);
            const d = C.passwordDerive(password, salt, C.KDF_OPSLIMIT, C.KDF_MEMLIMIT);
            body.password = { authKey: C.toB64(d.authKey), salt: C.toB64(salt), opslimit: C.KDF_OPSLIMIT, memlimit: C.KDF_MEMLIMIT };
            C.wipe(d.authKey);
            kek = d.kek;
        }
        const keys = C.shareKeys(key, kek);
        C.wipe(kek);
        body.accessKey = C.toB64(keys.access);
        body.ciphertext = C.toB64(C.box(keys.content, `share:${id}`, plain));
        C.wipe(keys.content);
        C.wipe(keys.access);
        C.wipe(plain);
        const r = await this.call('POST', `${A}/shares`, body);
        const link = `${origin}/s/${id}#${C.toB64url(key)}`;
        C.wipe(key);
        return { share: r.share, link };
    }

    /** The caller's active shares (never a value). */
    async shares() {
        return (await this.call('GET', `${A}/shares`)).shares;
    }

    /** @param {string} id */
    revokeShare(id) {
        return this.call('DELETE', `${A}/shares/${encodeURIComponent(id)}`);
    }

    async sharePolicy() {
        return (await this.call('GET', `${A}/share-policy`)).policy;
    }

    /** @param {{maxExpiresIn?: number, allowAnonymous?: boolean}} p */
    async setSharePolicy(p) {
        return (await this.call('PUT', `${A}/share-policy`, p)).policy;
    }

    /** @param {string} projectId @param {{id: string, publicKey: string}} identity @param {string} role */
    addIdentity(projectId, identity, role) {
        return this.call('POST', `${A}/projects/${projectId}/members`, {
            principalType: 'identity', principalId: identity.id, role,
            encryptedProjectKey: C.toB64(C.wrap(C.fromB64(identity.publicKey), this.key(projectId))),
        });
    }

    /**
     * Key rotation: every stored version re-sealed here under a new key, the
     * new key sealed to every member, all in one request (all or nothing);
     * with server access on, the server is handed the new key.  The project's
     * service tokens are revoked by the server (they hold the old key).
     * @param {string} projectId
     */
    async rotateKey(projectId) {
        const { project } = await this.project(projectId);
        const old = this.key(projectId);
        const r = await this.call('GET', `${A}/projects/${projectId}/versions`);
        const nk = C.random(C.KEY_BYTES);
        /** @param {any} v @param {string} field @param {string | null} b64 */
        const reseal = (v, field, b64) => {
            if (b64 == null) return null;
            const ad = { projectId, environment: v.environment, path: v.path, key: v.key, field: C.adField(v.owner, field) };
            const plain = C.recordDecrypt(old, ad, C.fromB64(b64));
            const out = C.toB64(C.recordEncrypt(nk, ad, plain));
            C.wipe(plain);
            return out;
        };
        const versions = r.versions.map((/** @type {any} */ v) => ({
            secretId: v.secretId, version: v.version, value: reseal(v, 'value', v.value), comment: reseal(v, 'comment', v.comment),
        }));
        const members = r.members.map((/** @type {any} */ m) => ({
            principalId: m.principalId, encryptedProjectKey: C.toB64(C.wrap(C.fromB64(m.publicKey), nk)),
        }));
        await this.call('POST', `${A}/projects/${projectId}/rotate-key`, { members, versions });
        C.wipe(old);
        this.keys.set(projectId, nk);
        if (project.serverAccess) await this.setServerAccess(projectId, true);
        return { versions: versions.length, members: members.length };
    }

    /** @param {string} projectId */
    async roles(projectId) {
        return (await this.call('GET', `${A}/projects/${projectId}/roles`)).roles;
    }

    /** A custom role: rules {subject, actions, environments?, secretPath?, deny?}
     * (authz.h); the server refuses rules beyond the creator's own rights.
     * @param {string} projectId @param {{slug: string, name?: string, rules: any[]}} role */
    createRole(projectId, role) {
        return this.call('POST', `${A}/projects/${projectId}/roles`, role);
    }

    /** @param {string} projectId @param {string} slug */
    deleteRole(projectId, slug) {
        return this.call('DELETE', `${A}/projects/${projectId}/roles/${encodeURIComponent(slug)}`);
    }

    /** A service token: the project key boxed under a key that only the token carries.
     * @param {string} projectId @param {{name: string, scopes: {environment: string, secretPath: string}[], write: boolean, expiresIn: number}} t */
    async createServiceToken(projectId, { name, scopes, write, expiresIn }) {
        const tk = C.random(C.KEY_BYTES);
        const r = await this.call('POST', `${A}/projects/${projectId}/service-tokens`, {
            name, scopes, access: write ? 'read-write' : 'read', expiresIn,
            encryptedProjectKey: C.toB64(C.box(tk, C.SERVICE_TOKEN_LABEL, this.key(projectId))),
        });
        const token = `${r.serviceToken}.${C.toHex(tk)}`;
        C.wipe(tk);
        return { token, data: r.serviceTokenData };
    }

    /** @param {string} projectId */
    async serviceTokens(projectId) {
        return (await this.call('GET', `${A}/projects/${projectId}/service-tokens`)).serviceTokens;
    }

    /** @param {string} projectId @param {string} id */
    revokeServiceToken(projectId, id) {
        return this.call('DELETE', `${A}/projects/${projectId}/service-tokens/${id}`);
    }

    /** @param {Record<string, string | number | undefined>} q */
    auditLogs(q) {
        return this.call('GET', `${A}/audit-logs${qs(q)}`);
    }

    auditVerify() {
        return this.call('GET', `${A}/audit-logs/verify`);
    }

    /** @param {string} projectId @param {{name: string, slug: string}} e */
    addEnvironment(projectId, e) {
        return this.call('POST', `${A}/projects/${projectId}/environments`, e);
    }

    /** @param {string} projectId @param {string} slug @param {{name?: string, slug?: string, position?: number}} e */
    updateEnvironment(projectId, slug, e) {
        return this.call('PATCH', `${A}/projects/${projectId}/environments/${slug}`, e);
    }

    /** @param {string} projectId @param {string} slug */
    deleteEnvironment(projectId, slug) {
        return this.call('DELETE', `${A}/projects/${projectId}/environments/${slug}`);
    }
}

/**
 * Opens a share link's value: `info` first (no view counted), then `open`
 * (counts one).  The link's key never leaves the browser: only the access key
 * derived from it is sent; with a password, only its auth key.
 * @param {Api} api @param {string} id @param {string} keyB64url @param {{password?: string, token?: string, count?: boolean}} [o]
 */
export async function openShare(api, id, keyB64url, { password, token, count = true } = {}) {
    await C.ready();
    const linkKey = C.fromB64url(keyB64url);
    if (linkKey.length !== 32) throw new ApiError(0, 'This link is damaged: its key is not 32 bytes.');
    let { access } = C.shareKeys(linkKey);
    const info = await api.call('POST', `${A}/shares/${encodeURIComponent(id)}/info`, { accessKey: C.toB64(access) }, token);
    const kdf = info.kdf || info.share?.kdf || null;
    if (!count) return { info: info.share, kdf };
    /** @type {any} */
    const body = { accessKey: C.toB64(access) };
    let kek = null;
    if (kdf) {
        if (!password) throw new ApiError(0, 'This share is protected by a password.');
        const d = C.passwordDerive(password, C.fromB64(kdf.salt), kdf.opslimit, kdf.memlimit);
        body.authKey = C.toB64(d.authKey);
        C.wipe(d.authKey);
        kek = d.kek;
    }
    const keys = C.shareKeys(linkKey, kek);
    C.wipe(kek);
    const r = await api.call('POST', `${A}/shares/${encodeURIComponent(id)}/open`, body, token);
    let value;
    try {
        const plain = C.unbox(keys.content, `share:${id}`, C.fromB64(r.share.ciphertext));
        value = C.fromUtf8(plain);
        C.wipe(plain);
    } catch {
        throw new ApiError(0, 'The shared value does not decrypt: the link is damaged.');
    } finally {
        C.wipe(keys.content);
        C.wipe(linkKey);
    }
    delete r.share.ciphertext;
    return { value, share: r.share };
}
