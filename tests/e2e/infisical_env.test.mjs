// infisical_env.test.mjs - existing Infisical setups keep working: the CLI
// reads .infisical.json ("workspaceId") where there is no .arca.json, and
// takes INFISICAL_API_URL and INFISICAL_TOKEN when the ARCA_ variables are unset.
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { bootstrapAndLogin, createProject, newCli, removeTempDirs, startServer }
    from './harness.mjs';

let server;
after(async () => {
    await server?.kill();
    await removeTempDirs();
});

test('.infisical.json, INFISICAL_API_URL and INFISICAL_TOKEN are honoured', async () => {
    server = await startServer();
    const cli = await newCli(server);
    await bootstrapAndLogin(cli);
    const p = await createProject(cli, 'legacy');
    const other = await createProject(cli, 'other');
    for (const [proj, v] of [[p.id, 'from-legacy'], [other.id, 'from-other']]) {
        const r = await cli.arca(['secrets', 'set', `WHERE=${v}`, '--env=prod', '--project-id', proj]);
        assert.equal(r.code, 0, r.stderr);
    }

    /* a checkout that only has Infisical's file, and only Infisical's URL variable */
    const dir = path.join(cli.cwd, 'infisical-app', 'sub');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(cli.cwd, 'infisical-app', '.infisical.json'),
        JSON.stringify({ workspaceId: p.id, defaultEnvironment: '', gitBranchToEnvironmentMapping: null }));
    const env = { ARCA_API_URL: '', INFISICAL_API_URL: `${server.url}/api` };
    let r = await cli.arca(['secrets', 'get', 'WHERE', '--env=prod', '--plain'], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'from-legacy\n');

    /* .arca.json wins where both are present */
    await writeFile(path.join(cli.cwd, 'infisical-app', '.arca.json'),
        JSON.stringify({ projectId: other.id }));
    r = await cli.arca(['secrets', 'get', 'WHERE', '--env=prod', '--plain'], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'from-other\n');

    /* INFISICAL_TOKEN: a service token, no login, no project file needed */
    const st = await cli.arca(['service-token', 'create', '--name', 'legacy-ci', '--env=prod',
        '--project-id', p.id, '--format', 'json']);
    assert.equal(st.code, 0, st.stderr);
    const token = JSON.parse(st.stdout).token;
    const bare = await newCli(server);
    r = await bare.arca(['run', '--env=prod', '--', 'sh', '-c', 'printf %s "$WHERE"'],
        { env: { ARCA_API_URL: '', INFISICAL_API_URL: server.url, INFISICAL_TOKEN: token } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'from-legacy');
    await server.stop();
});
