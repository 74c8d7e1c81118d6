/* The app's state: the session (in memory only: never localStorage, so a
 * reload asks for the password again), the route, and messages.  A tiny
 * store: components subscribe with useStore and re-render on every change. */
import { useEffect, useState } from 'preact/hooks';

import type { Api, Session } from './lib/client.js';

export type Toast = { kind: 'ok' | 'error'; text: string; id: number };

export const state = {
    session: null as Session | null,
    api: null as Api | null,
    email: '', // kept through a lock, so unlocking asks for the password only
    locked: false,
    toast: null as Toast | null,
    dirty: '' as string, // what would be lost by leaving, '' when nothing
    path: location.pathname,
    search: location.search,
    hash: location.hash,
    paletteOpen: false,
    restoring: false, // a tab's kept session being opened
};

const listeners = new Set<() => void>();
let version = 0;
export function emit() {
    version++;
    for (const l of [...listeners]) l();
}
export function useStore() {
    const [, set] = useState(0);
    const seen = version;
    useEffect(() => {
        const l = () => set((n) => n + 1);
        listeners.add(l);
        if (version !== seen) l(); // changed between render and subscription
        return () => void listeners.delete(l);
    }, []);
    return state;
}

let libP: Promise<typeof import('./lib/client.js')> | null = null;
/** The client and its crypto (libsodium, the largest part of the app): loaded
 * after the first screen is drawn. */
export function lib() {
    return (libP ||= import('./lib/client.js'));
}
export async function api() {
    if (!state.api) {
        const l = await lib();
        state.api = new l.Api('');
        state.api.onUnauthorized = () => lock('Your session has ended: sign in again.');
    }
    return state.api;
}

let toastN = 0;
export function say(text: string, kind: 'ok' | 'error' = 'ok') {
    state.toast = { kind, text, id: ++toastN };
    emit();
    const id = toastN;
    setTimeout(() => {
        if (state.toast?.id === id) {
            state.toast = null;
            emit();
        }
    }, kind === 'error' ? 10000 : 4000);
}
export function sayError(e: unknown) {
    say(e instanceof Error ? e.message : String(e), 'error');
}

/* ---- routing: history API, app routes under /, the folder path in ?path= */

export function navigate(to: string, { replace = false, force = false } = {}) {
    if (!force && state.dirty && !confirm(`${state.dirty} Leave anyway?`)) return;
    state.dirty = '';
    if (replace) history.replaceState(null, '', to);
    else history.pushState(null, '', to);
    syncRoute();
    window.scrollTo(0, 0);
}
export function syncRoute() {
    state.path = location.pathname;
    state.search = location.search;
    state.hash = location.hash;
    state.paletteOpen = false;
    emit();
}
window.addEventListener('popstate', syncRoute);
window.addEventListener('beforeunload', (e) => {
    if (state.dirty) {
        e.preventDefault();
        e.returnValue = '';
    }
});

export function query(name: string) {
    return new URLSearchParams(state.search).get(name);
}

/* ---- session, lock, idle lock */

export const IDLE_LOCK_MS = 30 * 60 * 1000;
let lastActivity = Date.now();
for (const ev of ['pointerdown', 'keydown', 'wheel', 'touchstart'])
    window.addEventListener(ev, () => (lastActivity = Date.now()), { passive: true, capture: true });
setInterval(() => {
    if (state.session && Date.now() - lastActivity > IDLE_LOCK_MS) lock('Locked after 30 minutes without activity.');
}, 15000);

/* Opt-in per tab: the session kept in sessionStorage (this tab only, gone when
 * it closes) so that a reload does not ask for the password. */
const TAB_KEY = 'arca.session';
function forgetTab() {
    try {
        sessionStorage.removeItem(TAB_KEY);
    } catch {
        /* storage disabled */
    }
}

export async function restoreTab() {
    let text: string | null = null;
    try {
        text = sessionStorage.getItem(TAB_KEY);
    } catch {
        return;
    }
    if (!text) return;
    state.restoring = true;
    emit();
    try {
        const l = await lib();
        signedIn(await l.Session.restore(await api(), text), true);
    } catch {
        forgetTab();
    } finally {
        state.restoring = false;
        emit();
    }
}

export function signedIn(s: Session, keepInTab = false) {
    if (keepInTab)
        try {
            sessionStorage.setItem(TAB_KEY, s.saved());
        } catch {
            /* storage disabled: memory only */
        }
    else forgetTab();
    state.session = s;
    state.email = s.user.email;
    state.locked = false;
    lastActivity = Date.now();
    emit();
}

/** Forgets every key and the token (revoked on the server); the email stays
 * so that unlocking asks for the password only. */
export function lock(why = 'Locked.') {
    const s = state.session;
    if (!s) return;
    forgetTab();
    state.session = null;
    state.locked = true;
    state.dirty = '';
    s.signOut().catch(() => {});
    say(why);
    emit();
}

export async function signOut() {
    const s = state.session;
    forgetTab();
    state.session = null;
    state.locked = false;
    state.email = '';
    state.dirty = '';
    if (s) await s.signOut().catch(() => {});
    navigate('/login', { force: true });
}
