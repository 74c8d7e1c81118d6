// cli_options.test.mjs - one table says what each command takes (issue 14,
// consistency): a flag the command does not take is refused; global flags
// work anywhere; --flag=value is --flag value; booleans take --flag, --no-flag
// or --flag=true|false and nothing else; every exit code of docs/cli.md's
// table is what the CLI returns; `arca help CMD` is `arca CMD --help`; the
// top-level help has one line per command; "did you mean"; --format is
// honoured or refused; every command's --help agrees with docs/cli.md; the
// completion scripts and the man page are made from the same table.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import {
    ARCA_BIN, REPO_ROOT, bootstrapAndLogin, closedPort, createProject, newCli, removeTempDirs,
    startServer, tempDir,
} from './harness.mjs';

const T = { timeout: 180000 };
const GLOBALS = new Set(['api-url', 'config-dir', 'ca-cert', 'help']);

let srv;
let cli;
let pid;
let commands; /* every command of the top-level help */

async function ok(args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

/* The flags of a command's --help, "flags:" section: [{name, bool, short}]. */
async function helpFlags(cmd) {
    const r = await ok([...cmd.split(' '), '--help']);
    const section = (r.stdout.split('\nflags:\n')[1] ?? '').split('\n\n')[0];
    return [...section.matchAll(/^\s+(?:-(\w), )?--(\[no-\])?([a-z][a-z-]*)( [A-Z])?/gm)]
        .map((m) => ({ name: m[3], short: m[1], neg: !!m[2], value: !!m[4] }));
}

before(async () => {
    srv = await startServer();
    cli = await newCli(srv);
    await bootstrapAndLogin(cli);
    pid = ['--project-id', (await createProject(cli, 'options')).id];
    await ok(['secrets', 'set', 'A=1', 'B=${A}-b', '--env', 'prod', ...pid]);
    const top = await ok(['--help']);
    commands = [...top.stdout.split('commands:\n')[1].split('\n\n')[0]
        .matchAll(/^ {2}(\S+(?: \S+)*?) {2,}\S/gm)].map((m) => m[1]).filter((c) => c !== 'version');
    assert.ok(commands.length > 40, `the top-level help lists the commands: ${commands.length}`);
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

test('a flag the command does not take is refused, not ignored', T, async () => {
    const r = await cli.arca(['projects', 'list', '--tls-key', 'x', '--threads', '3']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /'arca projects list' does not take --tls-key/);
    const s = await cli.arca(['secrets', 'delete', 'A', '--show-values', ...pid]);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /does not take --show-values/);
});

test('global flags and the command\'s own work before the command too', T, async () => {
    const after = await ok(['secrets', 'list', '--env', 'prod', '--format', 'json', ...pid]);
    const before = await ok(['--format', 'json', '--project-id', pid[1], '-e', 'prod', 'secrets', 'list']);
    assert.deepEqual(JSON.parse(before.stdout), JSON.parse(after.stdout));
    const url = await ok(['--api-url', srv.url, '--format=json', 'projects', 'list']);
    assert.ok(Array.isArray(JSON.parse(url.stdout)));
    const bad = await cli.arca(['--threads', '3', 'projects', 'list']);
    assert.equal(bad.code, 2);
});

test('--flag=value, --flag value and -f value are the same', T, async () => {
    const forms = [['--env', 'prod', '--format', 'json'], ['--env=prod', '--format=json'],
        ['-e', 'prod', '-f', 'json'], ['-eprod', '-fjson']];
    const outs = [];
    for (const f of forms)
        outs.push((await ok(['secrets', 'get', 'A', 'B', ...f, ...pid])).stdout);
    for (const o of outs.slice(1))
        assert.equal(o, outs[0]);
    /* every value flag of every command takes both forms (the parser sees the same) */
    for (const c of commands)
        for (const f of (await helpFlags(c)).filter((x) => x.value)) {
            const a = await cli.arca([...c.split(' '), `--${f.name}=x`, '--help']);
            const b = await cli.arca([...c.split(' '), `--${f.name}`, 'x', '--help']);
            assert.equal(a.code, 0, `arca ${c} --${f.name}=x --help: ${a.stderr}`);
            assert.equal(b.code, 0, `arca ${c} --${f.name} x --help: ${b.stderr}`);
        }
});

test('booleans: --flag, --no-flag, --flag=true|false; any other value is an error', T, async () => {
    const raw = (await ok(['secrets', 'get', 'B', '--plain', '--env', 'prod', '--no-expand', ...pid])).stdout;
    assert.equal(raw, '${A}-b\n');
    assert.equal((await ok(['secrets', 'get', 'B', '--plain', '--env', 'prod', '--expand=false', ...pid])).stdout, raw);
    assert.equal((await ok(['secrets', 'get', 'B', '--plain', '--env', 'prod', '--expand=off', ...pid])).stdout, raw);
    assert.equal((await ok(['secrets', 'get', 'B', '--plain', '--env', 'prod', '--expand', ...pid])).stdout, '1-b\n');
    const bad = await cli.arca(['secrets', 'get', 'B', '--env', 'prod', '--expand=maybe', ...pid]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--expand takes true or false, not 'maybe'/);
    const neg = await cli.arca(['secrets', 'list', '--no-show-values=true', ...pid]);
    assert.equal(neg.code, 2);
    /* projects update: one boolean form, --server-access / --no-server-access */
    const p = JSON.parse((await ok(['projects', 'create', 'bools', '--format', 'json'])).stdout);
    let r = await ok(['projects', 'update', p.id, '--server-access', '--format', 'json']);
    assert.equal(JSON.parse(r.stdout).serverAccess, true);
    r = await ok(['projects', 'update', p.id, '--no-server-access', '--format', 'json']);
    assert.equal(JSON.parse(r.stdout).serverAccess, false);
    r = await ok(['projects', 'update', p.id, '--server-access=true', '--format', 'json']);
    assert.equal(JSON.parse(r.stdout).serverAccess, true);
});

test('every exit code of docs/cli.md\'s table is what the CLI returns', T, async () => {
    const doc = await readFile(path.join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
    const codes = [...doc.split('## Exit codes')[1].split('\n## ')[0].matchAll(/^\| (\d+) \|/gm)]
        .map((m) => Number(m[1]));
    assert.deepEqual(codes, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const fresh = await newCli(srv);
    const dir = await tempDir('arca-exit-');
    await writeFile(path.join(dir, 'bad.backup'), 'not a backup\n');
    const limited = await startServer({ args: ['--login-limit-account', '1,1'] });
    const lim = await newCli(limited);
    const scenarios = {
        0: () => cli.arca(['whoami']),
        1: () => cli.arca(['export', '--env', 'prod', '-o', path.join(dir, 'no', 'such', 'dir', 'x'), ...pid]),
        2: () => cli.arca(['secrets', 'list', '--no-such-flag']),
        3: () => fresh.arca(['whoami']),
        4: () => cli.arca(['secrets', 'get', 'NOPE', '--env', 'prod', ...pid]),
        5: () => cli.arca(['secrets', 'set', '1BAD=x', '--env', 'prod', ...pid]),
        6: async () => fresh.arca(['login', '--email', 'a@example.com', '--password-stdin', '--api-url',
            `http://127.0.0.1:${await closedPort()}`], { input: 'pw\n' }),
        7: () => cli.arca(['bootstrap', '--email', 'b@example.com', '--password-stdin', '--organization', 'x'],
            { input: 'a-long-password-123\n' }),
        8: () => cli.arca(['restore', '--input', path.join(dir, 'bad.backup'), '--data-dir', path.join(dir, 'new')]),
        9: async () => {
            for (let i = 0; i < 5; i++) {
                const r = await lim.arca(['login', '--email', 'nobody@example.com', '--password-stdin'],
                    { input: 'wrong-password-123\n' });
                if (r.code !== 3)
                    return r;
            }
            return { code: 3, stderr: 'never rate limited' };
        },
    };
    try {
        for (const code of codes) {
            assert.ok(scenarios[code], `a scenario for exit ${code}`);
            const r = await scenarios[code]();
            assert.equal(r.code, code, `exit ${code}: got ${r.code}: ${r.stderr}`);
        }
    } finally {
        await limited.stop();
    }
});

test('arca help CMD is arca CMD --help; the top-level help has one line per command', T, async () => {
    for (const c of ['secrets set', 'run', 'identities client-secret create']) {
        const a = await ok(['help', ...c.split(' ')]);
        const b = await ok([...c.split(' '), '--help']);
        assert.equal(a.stdout, b.stdout);
        assert.match(a.stdout, new RegExp(`^usage: arca ${c}`));
    }
    const top = await ok(['help']);
    for (const c of commands)
        assert.match(top.stdout, new RegExp(`^ {2}${c} {2,}\\S.*$`, 'm'), `one line for ${c}`);
});

test('did you mean: a mistyped command, subcommand or flag gets a hint', T, async () => {
    let r = await cli.arca(['sercets', 'list']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /did you mean 'arca secrets list'\?/);
    r = await cli.arca(['secrets', 'lst']);
    assert.match(r.stderr, /did you mean 'arca secrets list'\?/);
    r = await cli.arca(['secrets', 'list', '--show-value']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /did you mean --show-values\?/);
});

test('--format is honoured or refused, never ignored', T, async () => {
    for (const c of commands) {
        const takes = (await helpFlags(c)).some((f) => f.name === 'format');
        const r = await cli.arca([...c.split(' '), '--format', 'json', '--help']);
        assert.equal(r.code, takes ? 0 : 2, `arca ${c} --format json: ${r.stderr}`);
    }
    const r = await cli.arca(['secrets', 'list', '--format', 'xml', ...pid]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown --format 'xml'/);
});

test('every command\'s --help names the flags docs/cli.md names for it', T, async () => {
    const doc = await readFile(path.join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
    const block = doc.split('## Commands\n```\n')[1].split('```')[0];
    const docFlags = new Map();
    let cur = null;
    for (let line of block.split('\n')) {
        line = line.replace(/\s#.*$/, '');
        const m = /^(?:echo "\$PW" \| )?arca (.*)$/.exec(line);
        if (m)
            cur = commands.filter((c) => m[1] === c || m[1].startsWith(c + ' '))
                .sort((a, b) => b.length - a.length)[0] ?? null;
        else if (!/^\s/.test(line))
            cur = null;
        if (!cur)
            continue;
        const set = docFlags.get(cur) ?? new Set();
        for (const f of line.matchAll(/--(?:no-)?([a-z][a-z-]*)/g))
            if (!GLOBALS.has(f[1]))
                set.add(f[1]);
        docFlags.set(cur, set);
    }
    for (const c of commands) {
        assert.ok(docFlags.has(c), `docs/cli.md has a synopsis of arca ${c}`);
        const help = new Set((await helpFlags(c)).map((f) => f.name));
        assert.deepEqual([...docFlags.get(c)].sort(), [...help].sort(), `flags of arca ${c}: docs vs --help`);
    }
});

test('bash completion is made from the same table', T, async () => {
    const script = (await ok(['completion', 'bash'])).stdout;
    const run = promisify(execFile);
    const complete = async (words) => {
        const { stdout } = await run('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); ` +
            'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _arca; printf "%s\\n" "${COMPREPLY[@]}"']);
        return stdout.trim().split('\n').filter(Boolean);
    };
    assert.deepEqual(await complete(['arca', 'secrets', 'li']), ['list']);
    assert.deepEqual(await complete(['arca', 'secrets', 'list', '--show']), ['--show-values']);
    assert.deepEqual(await complete(['arca', 'identities', 'client-secret', 're']), ['revoke']);
    assert.ok((await complete(['arca', 'sec'])).includes('secrets'));
    assert.deepEqual(await complete(['arca', '-e', 'prod', 'secrets', 'list', '--env', 'dev', '--rec']), ['--recursive']);
    /* every command's flags are offered after it */
    for (const c of commands) {
        const offered = await complete(['arca', ...c.split(' '), '--']);
        for (const f of await helpFlags(c))
            assert.ok(offered.includes(`--${f.name}`), `completion of arca ${c} offers --${f.name}`);
    }
    const zsh = (await ok(['completion', 'zsh'])).stdout;
    assert.match(zsh, /^#compdef arca/);
    const fish = (await ok(['completion', 'fish'])).stdout;
    assert.match(fish, /complete -c arca -n '__fish_seen_subcommand_from secrets; and __fish_seen_subcommand_from list' -l show-values/);
    assert.equal((await cli.arca(['completion', 'tcsh'])).code, 2);
});

test('the man page is made from the same table and installed by the build', T, async () => {
    const man = (await ok(['man'])).stdout;
    assert.match(man, /^\.TH ARCA 1/);
    for (const c of commands) {
        assert.ok(man.includes(`.SS "arca ${c.replace(/-/g, '\\-')}`), `the man page has arca ${c}`);
        for (const f of await helpFlags(c))
            assert.ok(man.includes(`\\-\\-${f.neg ? '[no\\-]' : ''}${f.name.replace(/-/g, '\\-')}`),
                `man: --${f.name}`);
    }
    const build = process.env.ARCA_BUILD_DIR ?? path.join(REPO_ROOT, 'build');
    assert.equal(await readFile(path.join(build, 'src', 'cli', 'arca.1'), 'utf8'), man,
        'the build made arca.1 with arca man');
    const { stdout } = await promisify(execFile)('meson', ['introspect', build, '--installed']);
    assert.ok(Object.values(JSON.parse(stdout)).some((p) => /\/man1\/arca\.1$/.test(p)), 'arca.1 is installed');
    assert.ok(ARCA_BIN && access);
});
