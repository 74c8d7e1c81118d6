// tools/k8s_validate.mjs - checks deploy/kubernetes/*.yaml with kubectl, offline.
//
// `kubectl apply --dry-run=client` needs the API server's discovery documents
// even with --validate=false (it maps each kind to its resource), and schema
// validation needs the server's OpenAPI document.  With no cluster on these
// machines, this script serves the discovery documents of the few API groups
// the manifests use (core v1 and apps/v1) on 127.0.0.1 and points kubectl at
// them: kubectl then parses every document, checks each apiVersion/kind is one
// it can map, builds the objects it would apply, and prints their names.  The
// schema itself is not checked here (no OpenAPI document offline); the
// behaviour the manifests describe is tested as processes in
// tests/e2e/agent.test.mjs.
//
//   node tools/k8s_validate.mjs [DIR]   (default deploy/kubernetes)
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..',
    'deploy', 'kubernetes');
const core = [
    ['configmaps', 'ConfigMap'], ['secrets', 'Secret'], ['services', 'Service'],
    ['serviceaccounts', 'ServiceAccount'], ['persistentvolumeclaims', 'PersistentVolumeClaim'],
    ['namespaces', 'Namespace', false],
];
const apps = [['deployments', 'Deployment'], ['statefulsets', 'StatefulSet']];
const rbac = [['roles', 'Role'], ['rolebindings', 'RoleBinding'],
    ['clusterroles', 'ClusterRole', false], ['clusterrolebindings', 'ClusterRoleBinding', false]];
const list = (gv, rs) => ({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv,
    resources: rs.map(([name, kind, namespaced = true]) => ({ name, singularName: '', kind, namespaced,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] })) });
const group = (name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }],
    preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } });
const docs = {
    '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
    '/apis': { kind: 'APIGroupList', apiVersion: 'v1',
        groups: [group('apps'), group('rbac.authorization.k8s.io')] },
    '/api/v1': list('v1', core),
    '/apis/apps/v1': list('apps/v1', apps),
    '/apis/rbac.authorization.k8s.io/v1': list('rbac.authorization.k8s.io/v1', rbac),
    '/version': { major: '1', minor: '28', gitVersion: 'v1.28.0' },
};
const server = http.createServer((req, res) => {
    const doc = docs[req.url.split('?')[0]];
    res.writeHead(doc ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(doc ?? { kind: 'Status', code: 404 }));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}`;
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
/* kubectl keeps a discovery cache under $HOME/.kube: a throwaway home */
const home = mkdtempSync(path.join(os.tmpdir(), 'arca-kubectl-'));
let failed = 0;
for (const f of files) {
    /* asynchronously: this process answers kubectl's requests meanwhile */
    const r = await new Promise((resolve) => execFile('kubectl', ['apply', '--dry-run=client',
        '--validate=false', '--server', url, '--namespace', 'ci', '-o', 'name', '-f', path.join(dir, f)],
    { encoding: 'utf8', env: { ...process.env, KUBECONFIG: '/dev/null', HOME: home },
        timeout: 60000 }, (error, stdout, stderr) => resolve({ status: error ? error.code ?? 1 : 0,
        stdout, stderr, error })));
    const names = r.stdout.trim().split('\n').filter(Boolean);
    if (r.status !== 0 || names.length === 0) {
        failed++;
        console.error(`k8s: ${f}: kubectl refused it (exit ${r.status}):\n${r.stderr}${r.error ?? ''}`);
    } else {
        console.log(`k8s: ${f}: ${names.join(', ')}`);
    }
    /* a readiness probe asks /api/ready (503 while the database or the audit log fails);
     * /api/status answers 200 whatever they do, and is for liveness only */
    const text = readFileSync(path.join(dir, f), 'utf8');
    for (const m of text.matchAll(/readinessProbe:[^\n]*\n\s*httpGet:\s*\n\s*path:\s*(\S+)/g)) {
        if (m[1] !== '/api/ready') {
            failed++;
            console.error(`k8s: ${f}: the readinessProbe asks ${m[1]}, not /api/ready`);
        }
    }
}
server.close();
rmSync(home, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
