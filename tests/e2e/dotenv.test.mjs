// dotenv.test.mjs - src/base/dotenv.c against the real readers.
//
// 1. The reader: for every file in tests/dotenv/ (and for generated files from a
//    fixed seed) `dotenv_tool parse` must equal the npm `dotenv` package's parse().
// 2. The writer: for many values, `dotenv_tool write` (plain and --export) must
//    produce text that dotenv.parse() and `/bin/sh` (`set -a; . ./file`) both read
//    back as exactly the value, with nothing executed; values it refuses must be
//    exactly the ones dotenv has no syntax for.
//
// Needs `cd tests && npm install` and a build; the tool is found at
// $ARCA_BUILD_DIR/tests/unit/dotenv_tool (ARCA_BUILD_DIR defaults to "build",
// relative to the repository root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const dotenv = require('dotenv');

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const buildDir = path.resolve(root, process.env.ARCA_BUILD_DIR || 'build');
const tool = path.join(buildDir, 'tests', 'unit', 'dotenv_tool');
const corpusDir = path.join(root, 'tests', 'dotenv');

// ARCA_DOTENV_FUZZ=N runs N times as many generated cases (seeds stay fixed).
const scale = Math.max(1, Number(process.env.ARCA_DOTENV_FUZZ) || 1);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'arca-dotenv-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// ---- helpers ---------------------------------------------------------------------------

function toolParse(file) {
  const r = spawnSync(tool, ['parse', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `dotenv_tool parse ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Returns { ok: true, text } or { ok: false, status, stderr }.
function toolWrite(obj, exportStyle = false) {
  const args = exportStyle ? ['write', '--export'] : ['write'];
  const r = spawnSync(tool, args, { input: JSON.stringify(obj), encoding: 'utf8' });
  if (r.status === 0) return { ok: true, text: r.stdout };
  return { ok: false, status: r.status, stderr: r.stderr };
}

// What /bin/sh (dash) reads: source the file with set -a, print the keys we want.
function shellRead(text, keys) {
  const dir = fs.mkdtempSync(path.join(tmp, 'sh-'));
  fs.writeFileSync(path.join(dir, 'vars.env'), text);
  const print = `const o = {}; for (const k of JSON.parse(process.env.ARCA_TEST_KEYS))
    if (k in process.env) o[k] = process.env[k]; process.stdout.write(JSON.stringify(o));`;
  const r = spawnSync('/bin/sh', ['-c', 'set -a; . ./vars.env; exec "$ARCA_TEST_NODE" -e "$ARCA_TEST_PRINT"'], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      ARCA_TEST_NODE: process.execPath,
      ARCA_TEST_PRINT: print,
      ARCA_TEST_KEYS: JSON.stringify(keys),
    },
  });
  assert.equal(r.status, 0, `sh failed: ${r.stderr}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return JSON.parse(r.stdout);
}

// A small deterministic PRNG (mulberry32) so failures reproduce.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick(rand, arr) {
  return arr[Math.floor(rand() * arr.length)];
}

// ---- the theory of what dotenv can express -----------------------------------------------
//
// dotenv's value is one of:
//  - a '…' or `…` quoted value: any text in which every such quote is preceded by a
//    backslash; no carriage return (dotenv turns every CR of the file into LF);
//  - a "…" quoted value: every " preceded by a backslash, and \n, \r turned into LF, CR,
//    so the result never holds the two characters \n or \r;
//  - an unquoted remainder of a line: no '#', no LF (raw CR/LF are line ends), unless
//    the line starts with '"', when \n and \r escapes apply (and the result then never
//    holds a literal \n or \r).
// So a value is certainly impossible when all of these fail.  This is exact for values
// without U+2028/U+2029, which JavaScript's regex also treats as line ends: there some
// more values are impossible, checked below against real dotenv.
function unescapedQuote(v, q) {
  for (let i = 0; i < v.length; i++) if (v[i] === q && (i === 0 || v[i - 1] !== '\\')) return true;
  return false;
}

function dotenvCannot(v) {
  const cr = v.includes('\r');
  const lf = v.includes('\n');
  const lit = /\\[nr]/.test(v);
  return (cr || unescapedQuote(v, "'")) &&
    (cr || unescapedQuote(v, '`')) &&
    (lit || unescapedQuote(v, '"')) &&
    (v.includes('#') || ((lf || cr) && lit));
}

const hasLineSep = (v) => /[\u2028\u2029]/.test(v);

// The dotenv lines the writer may use, to show with real dotenv that none works for a
// value it refuses (each followed by lines that would catch a runaway quoted value).
function dotenvCandidates(key, v) {
  const escCR = v.replace(/\r/g, '\\r');
  const escAll = escCR.replace(/\n/g, '\\n');
  const bodies = [`'${v}'`, `"${escCR}"`, `"${escAll}"`, `\`${v}\``, v.startsWith('"') ? escAll : v];
  const out = [];
  for (const b of bodies) for (const g of ['', " #''", ' #""', ' #``']) out.push(`${key}=${b}${g}\n`);
  return out;
}

function dotenvReadsExactly(text, key, v) {
  for (const suffix of ['', '\'\n"\n`\n']) {
    const got = dotenv.parse(Buffer.from(text + suffix));
    if (Object.keys(got).length !== 1 || got[key] !== v) return false;
  }
  return true;
}

// ---- 1. the reader ---------------------------------------------------------------------------

test('dotenv_tool exists', () => {
  assert.ok(fs.existsSync(tool), `build the tool first: ${tool}`);
});

test('corpus: dotenv_tool parse equals dotenv.parse for every file', () => {
  const files = fs.readdirSync(corpusDir).filter((f) => f.endsWith('.env')).sort();
  assert.ok(files.length >= 15, 'corpus is missing');
  for (const f of files) {
    const file = path.join(corpusDir, f);
    const expected = dotenv.parse(fs.readFileSync(file));
    assert.deepStrictEqual(toolParse(file), { ...expected }, f);
  }
});

test('generated files: dotenv_tool parse equals dotenv.parse (seed 20261129)', () => {
  const rand = rng(20261129);
  const pieces = [
    'A', 'B', 'KEY', 'export ', 'export', '=', ' = ', ':', ': ', '\n', '\r\n', '\r', ' ', '\t',
    "'", '"', '`', '\\', "\\'", '\\"', '\\`', '\\n', '\\r', '#', ' #', 'x', 'value', '$X', '.',
    '-', '\u2028', '\u2029', '\u00a0', '\ufeff', 'é', '😀', '\u3000', '\x0b', '\x0c', '==',
  ];
  for (let i = 0; i < 300 * scale; i++) {
    let text = '';
    const n = 1 + Math.floor(rand() * 40);
    for (let j = 0; j < n; j++) text += pick(rand, pieces);
    const file = path.join(tmp, `gen-${i}.env`);
    fs.writeFileSync(file, text);
    assert.deepStrictEqual(toolParse(file), { ...dotenv.parse(Buffer.from(text)) },
      `generated file ${i}: ${JSON.stringify(text)}`);
  }
});

test('reader refuses NUL bytes and invalid UTF-8', () => {
  for (const [name, bytes] of [['nul', Buffer.from('A=1\0\n')], ['latin1', Buffer.from([0x41, 0x3d, 0xe9, 0x0a])]]) {
    const file = path.join(tmp, `${name}.env`);
    fs.writeFileSync(file, bytes);
    const r = spawnSync(tool, ['parse', file], { encoding: 'utf8' });
    assert.equal(r.status, 2, name);
  }
});

// ---- 2. the writer ---------------------------------------------------------------------------

const canary = path.join(tmp, 'canary');

const handPicked = [
  '', 'plain', 'with spaces', '  leading', 'trailing  ', ' both ', '\t tab \t',
  "'", '"', '`', "''", '""', '``', "it's", 'say "hi"', 'a `b` c', `'"`, `'\``, `"\``,
  `'"\``, `a'b"c\`d`, `'quoted'`, `"quoted"`, `\`quoted\``, `'x" y'`,
  '$HOME', '${HOME}', '$(id)', '`id`', "$'x'", '$1 $@ $*', 'a$', '$',
  `$(touch ${canary})`, `\`touch ${canary}\``, `'; touch ${canary}; '`, `"; touch ${canary}; "`,
  `$(touch ${canary})'`, `\`touch ${canary}\`'"`, `x'$(touch ${canary})'\n`, `\n$(touch ${canary})\n`,
  `'\n\`touch ${canary}\`\n"`, `%s%n$(touch ${canary})`,
  '\\', '\\\\', 'a\\', "a\\'", 'a\\"', 'C:\\Users\\new', '\\n', '\\r', 'a\\nb', '\\\\n',
  "\\n'", '\\n"', '\\n`', "\\'", "'\\", '"\\', '`\\', "x'\\", 'x"\\', "x'\"\\", "x'\"`\\",
  '\n', '\n\n', 'a\nb', 'a\n', '\na', "a\nb'c", 'a\n"b"\nc', "a\n'b'\n`c`",
  'line1\nINNER=evil\nexport X=1\nY: 2', "it's\nA=1\n'", 'x\nARCA_DOTENV_K\ny', 'ARCA_DOTENV_K',
  'x\nARCA_DOTENV_K\nARCA_DOTENV_K_1\ny\'"`',
  '\r', 'a\rb', 'a\r\nb', '\r\n', "it's\r", 'a"b\r', "a\\n\r", "'\"\r", "'\"`\r",
  '#', 'a#b', 'a #b', '# comment', "#'", '#"', '#`', "'#\"`", "'#\"`\n", "'\"`#\\",
  '%', '%%', '%s', '%d%n', '-n', '-e', '--', '-n\n',
  'é', 'こんにちは', '😀 smile', '\u00a0nbsp\u00a0', '\ufeffbom', '\u3000wide\u3000',
  '\u2028', 'a\u2028b', '\u2029', "a'\u2028b", 'a"\u2028b"', "'\u2028`\u2028\"",
  " '\u2028`\u2028\"\u2028 ", 'x\u2028K=v', "\u2028'",
  '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----\n',
  '-----BEGIN CERTIFICATE-----\r\nMIIBszCCAVmgAwIBAgIUQ\r\n-----END CERTIFICATE-----\r\n',
  'x'.repeat(4096), "'".repeat(300), '\\'.repeat(301), '\n'.repeat(50) + 'x',
];

function fuzzValues(seed, count) {
  const rand = rng(seed);
  const pieces = [
    "'", '"', '`', '\\', '$', '(', ')', '{', '}', '#', ' ', '\t', '\n', '\r', 'n', 'r', 'x',
    '=', ':', 'K=', 'export ', '%', '-', ';', '|', '&', '<', '>', '*', '~', '!', 'é', '😀',
    '\u2028', '\u2029', '\u00a0', '\ufeff', '\\n', '$(', '${', 'ARCA_DOTENV_K',
  ];
  const out = [];
  for (let i = 0; i < count; i++) {
    let v = '';
    const n = Math.floor(rand() * 12);
    for (let j = 0; j < n; j++) v += pick(rand, pieces);
    out.push(v);
  }
  return out;
}

function checkValues(values, label) {
  const accepted = { plain: [], export: [] };
  let refused = 0;
  for (const [style, exp] of [['plain', false], ['export', true]]) {
    for (const v of values) {
      const w = toolWrite({ K: v }, exp);
      const cannot = dotenvCannot(v);
      if (!w.ok) {
        assert.equal(w.status, 3, `${label}: unexpected failure for ${JSON.stringify(v)}: ${w.stderr}`);
        if (v.length >= 3) assert.ok(!w.stderr.includes(v), 'the refusal echoes the value');
        if (!cannot) {
          // Only values with U+2028/U+2029 may be impossible beyond the simple theory;
          // show that none of the writer's dotenv forms works with the real dotenv.
          assert.ok(hasLineSep(v), `${label}: refused a value dotenv can express: ${JSON.stringify(v)}`);
          for (const c of dotenvCandidates('K', v)) {
            assert.ok(!dotenvReadsExactly(c, 'K', v), `${label}: real dotenv reads ${JSON.stringify(c)}`);
          }
        }
        refused++;
        if (process.env.ARCA_DOTENV_VERBOSE) console.log('refused', cannot ? 'theory' : 'line-sep', JSON.stringify(v));
        continue;
      }
      assert.ok(!cannot, `${label}: wrote a value dotenv cannot express: ${JSON.stringify(v)}`);
      if (exp) {
        // every assignment is an export: the first line, and the one in the here-document
        const lines = w.text.split('\n');
        assert.match(lines[0], /^export K=/, `${label}: ${w.text}`);
        const h = lines.findIndex((l) => /^: <<'ARCA_DOTENV_K(_[0-9]+)?'$/.test(l));
        if (h >= 0) assert.match(lines[h + 1], /^export K=/, `${label}: ${w.text}`);
      }
      const got = dotenv.parse(Buffer.from(w.text));
      assert.deepStrictEqual({ ...got }, { K: v }, `${label} (${style}): dotenv reads ${JSON.stringify(w.text)}`);
      accepted[style].push(v);
    }
  }
  // All accepted values in one file: no entry disturbs another, for either reader.
  for (const [style, exp] of [['plain', false], ['export', true]]) {
    const obj = {};
    accepted[style].forEach((v, i) => { obj[`K${i}`] = v; });
    const w = toolWrite(obj, exp);
    assert.ok(w.ok, w.stderr);
    assert.deepStrictEqual({ ...dotenv.parse(Buffer.from(w.text)) }, obj, `${label} (${style}): dotenv, whole file`);
    // sh in batches: the environment of one exec is limited in size
    const keys = Object.keys(obj);
    for (let i = 0; i < keys.length; i += 200) {
      const part = {};
      for (const k of keys.slice(i, i + 200)) part[k] = obj[k];
      const text = toolWrite(part, exp).text;
      assert.deepStrictEqual(shellRead(text, Object.keys(part)), part, `${label} (${style}): sh`);
      assert.ok(!fs.existsSync(canary), `${label} (${style}): the shell executed a value`);
    }
  }
  return refused;
}

test('writer: hand-picked values read back the same by dotenv and sh, nothing runs', () => {
  const refused = checkValues(handPicked, 'hand-picked');
  assert.ok(refused > 0);
});

test('writer: fuzz values (seed 4242) read back the same or are refused exactly when impossible', () => {
  const refused = checkValues(fuzzValues(4242, 400 * scale), 'fuzz');
  assert.ok(refused > 0 && refused < 400 * scale);
});

test('writer: these values are refused, and only because dotenv has no syntax for them', () => {
  const impossible = [
    `'"\`#`,                 // all three quotes unescaped, and '#' (never in an unquoted value)
    `a'b"c\`d #e`,
    `'"\`\n#`,
    `x\r\\n'`,               // CR rules out ' and ` quotes; literal \n rules out "…" and unquoted
    `\\r\r'\``,
    `'"\`\n\\n`,             // line break plus literal \n outside '…'/`…`
    " '\u2028`\u2028\"\u2028 ", // JS treats U+2028 as a line end right after each quote
  ];
  for (const v of impossible) {
    for (const exp of [false, true]) {
      const w = toolWrite({ K: v }, exp);
      assert.equal(w.status, 3, `should refuse ${JSON.stringify(v)}`);
      assert.match(w.stderr, /dotenv has no syntax/);
    }
  }
  const possible = [`'"\`\n`, `'"\`\r`, `'"\``, `'"\\\``, `'"\`\\n`, `\\'"\`#`, `'\\"\`#\n`];
  for (const v of possible) {
    const w = toolWrite({ K: v });
    assert.ok(w.ok, `should write ${JSON.stringify(v)}: ${w.stderr}`);
  }
});

test('writer: refuses keys that are not valid names, and __proto__', () => {
  for (const k of ['', '1A', 'A-B', 'A.B', 'A B', 'É', '__proto__', 'x'.repeat(256)]) {
    const w = toolWrite({ [k]: 'v' });
    assert.equal(w.status, 3, `key ${JSON.stringify(k)}`);
  }
  assert.ok(toolWrite({ _ok: 'v', A1: 'v', ['x'.repeat(255)]: 'v' }).ok);
});

test('writer: output shapes', () => {
  assert.equal(toolWrite({ K: 'hello world' }).text, "K='hello world'\n");
  assert.equal(toolWrite({ K: 'hello' }, true).text, "export K='hello'\n");
  assert.equal(toolWrite({ K: "it's" }).text, "K=\"it's\"\n");
  const split = toolWrite({ K: "it's $5" }).text;
  assert.equal(split, "K='it'\\''s $5'\n: <<'ARCA_DOTENV_K'\nK=\"it's $5\"\nARCA_DOTENV_K\n");
  // the here-document tag never equals a line of the value
  const v = "'\nARCA_DOTENV_K\n$x";
  const t = toolWrite({ K: v }).text;
  assert.ok(t.includes("<<'ARCA_DOTENV_K_1'"), t);
});
