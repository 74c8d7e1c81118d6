/* Small building blocks: labelled fields, dialogs (the native <dialog>: focus
 * trap and Escape for free), links that route in the app, the masked value. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

import { navigate } from './state';

export function Link(p: { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }) {
    return (
        <a
            href={p.href}
            class={p.class}
            aria-current={p['aria-current']}
            onClick={(e) => {
                if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
                e.preventDefault();
                navigate(p.href);
            }}
        >
            {p.children}
        </a>
    );
}

let fieldN = 0;
export function useId(prefix = 'f') {
    const ref = useRef('');
    if (!ref.current) ref.current = `${prefix}${++fieldN}`;
    return ref.current;
}

type FieldProps = {
    label: string;
    value: string;
    onInput: (v: string) => void;
    type?: string;
    autocomplete?: string;
    required?: boolean;
    multiline?: boolean;
    hint?: string;
    autofocus?: boolean;
    placeholder?: string;
    spellcheck?: boolean;
    mono?: boolean;
    rows?: number;
    minLength?: number;
    step?: number;
};
export function Field(p: FieldProps) {
    const id = useId();
    const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
    useEffect(() => {
        if (p.autofocus) ref.current?.focus();
    }, []);
    const common = {
        id,
        ref,
        value: p.value,
        required: p.required,
        placeholder: p.placeholder,
        spellcheck: p.spellcheck ?? false,
        class: p.mono ? 'mono' : undefined,
        'aria-describedby': p.hint ? `${id}-hint` : undefined,
        onInput: (e: Event) => p.onInput((e.currentTarget as HTMLInputElement).value),
    };
    return (
        <div class="field">
            <label for={id}>{p.label}</label>
            {p.multiline ? (
                <textarea {...common} rows={p.rows ?? 3} autocomplete="off" />
            ) : (
                <input {...common} type={(p.type ?? 'text') as 'text'} autocomplete={p.autocomplete ?? 'off'} minLength={p.minLength} step={p.step} />
            )}
            {p.hint && (
                <small id={`${id}-hint`} class="hint">
                    {p.hint}
                </small>
            )}
        </div>
    );
}

export function Dialog(p: { title: string; open: boolean; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
    const ref = useRef<HTMLDialogElement>(null);
    const id = useId('dlg');
    useEffect(() => {
        const d = ref.current;
        if (!d) return;
        if (p.open && !d.open) d.showModal();
        if (!p.open && d.open) d.close();
    }, [p.open]);
    return (
        <dialog
            ref={ref}
            class={p.wide ? 'wide' : undefined}
            aria-labelledby={id}
            onClose={() => p.open && p.onClose()}
            onCancel={(e) => {
                e.preventDefault();
                p.onClose();
            }}
        >
            {p.open && (
                <>
                    <header class="dialog-head">
                        <h2 id={id}>{p.title}</h2>
                        <button type="button" class="icon" aria-label="Close" onClick={p.onClose}>
                            ×
                        </button>
                    </header>
                    {p.children}
                </>
            )}
        </dialog>
    );
}

/** A value is text: rendered as a text node, never as markup. */
export function Masked(p: { value: string | null; shown: boolean; error?: string }) {
    if (p.error) return <span class="bad">{p.error}</span>;
    if (p.value === null) return <span class="muted">no value</span>;
    if (!p.shown)
        return (
            <span class="masked" aria-label="hidden value">
                ••••••••
            </span>
        );
    return <span class="value mono">{p.value === '' ? <em class="muted">empty</em> : p.value}</span>;
}

export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]) {
    const [s, set] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
    const [n, setN] = useState(0);
    useEffect(() => {
        let live = true;
        set((o) => ({ ...o, loading: true }));
        fn().then(
            (data) => live && set({ data, loading: false }),
            (e) => live && set({ error: e instanceof Error ? e.message : String(e), loading: false }),
        );
        return () => {
            live = false;
        };
    }, [...deps, n]);
    return { ...s, reload: () => setN((x) => x + 1) };
}

export async function copyText(text: string) {
    try {
        await navigator.clipboard.writeText(text);
        return true;
    } catch {
        return false;
    }
}

export function download(name: string, text: string, type: string) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function when(iso: string | undefined) {
    if (!iso) return '';
    const d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString();
}
