/* .env text in and out, as arca's CLI reads and writes it (src/base/dotenv.c):
 * the reader is the `dotenv` npm package's (its LINE expression: export,
 * KEY: value, single/double/backtick quotes, multi-line quoted values, \n and
 * \r escapes in double quotes only, # comments, the last assignment wins);
 * the writer quotes so that dotenv and a POSIX shell read the same value back. */

const LINE =
    /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm;

export const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Ordered [key, value] pairs, a key once (its last value). */
export function parseDotenv(src: string): [string, string][] {
    const out = new Map<string, string>();
    const lines = src.replace(/\r\n?/gm, '\n');
    LINE.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = LINE.exec(lines)) !== null) {
        const key = m[1];
        let value = (m[2] || '').trim();
        const q = value[0];
        value = value.replace(/^(['"`])([\s\S]*)\1$/gm, '$2');
        if (q === '"') value = value.replace(/\\n/g, '\n').replace(/\\r/g, '\r');
        out.delete(key);
        out.set(key, value);
    }
    return [...out];
}

/** Keys the .env text names that arca cannot store (dotenv accepts '.' and '-'). */
export function badKeys(pairs: [string, string][]) {
    return pairs.filter(([k]) => !KEY_RE.test(k)).map(([k]) => k);
}

/** One line (or a multi-line quoted block) that reads back to value; null when
 * no quoting reads back the same in dotenv and a shell. */
export function dotenvLine(key: string, value: string): string | null {
    if (/^[A-Za-z0-9_./:@%+,=-]*$/.test(value)) return `${key}=${value}`;
    if (!value.includes("'") && !value.includes('\r') && !(value.includes('\n') && value.includes('#'))) return `${key}='${value}'`;
    if (!/["\\$`\r]/.test(value) && !value.includes('\\n')) return `${key}="${value}"`;
    if (!value.includes('`') && !value.includes('\n') && !value.includes('\r')) return `${key}=\`${value}\``;
    return null;
}

export function toDotenv(secrets: { key: string; value: string | null; comment?: string }[]) {
    const lines: string[] = [];
    const skipped: string[] = [];
    for (const s of secrets) {
        if (s.value === null) continue;
        const l = dotenvLine(s.key, s.value);
        if (l === null) skipped.push(s.key);
        else {
            if (s.comment && !s.comment.includes('\n')) lines.push(`# ${s.comment}`);
            lines.push(l);
        }
    }
    return { text: lines.join('\n') + (lines.length ? '\n' : ''), skipped };
}

export type Change = { key: string; kind: 'added' | 'changed' | 'deleted'; value?: string };

/** What saving next (a folder as .env text) over current would do. */
export function diff(current: { key: string; value: string | null }[], next: [string, string][]): Change[] {
    const cur = new Map(current.filter((s) => s.value !== null).map((s) => [s.key, s.value as string]));
    const out: Change[] = [];
    const seen = new Set<string>();
    for (const [k, v] of next) {
        seen.add(k);
        if (!cur.has(k)) out.push({ key: k, kind: 'added', value: v });
        else if (cur.get(k) !== v) out.push({ key: k, kind: 'changed', value: v });
    }
    for (const k of cur.keys()) if (!seen.has(k)) out.push({ key: k, kind: 'deleted' });
    return out;
}
