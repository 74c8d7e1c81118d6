// nginx.mjs - the peer HTTP server: nginx (Debian package), 2 workers, keep-alive,
// on a loopback port, serving files from its own temporary prefix; no access log,
// or (accessLog) one buffered as arca buffers its own (64 KiB per worker, flushed
// at least every second).  Run by this process in the foreground (daemon off)
// and stopped by it.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { closedPort, tempDir } from '../../tests/e2e/harness.mjs';
import { startTimed } from './procs.mjs';

function conf(prefix, port, accessLog) {
    const tmp = (n) => `${n}_temp_path ${path.join(prefix, 'tmp', n)};`;
    return `worker_processes 2;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 1024; }
http {
    ${accessLog ? `access_log ${path.join(prefix, 'access.log')} combined buffer=64k flush=1s;`
        : 'access_log off;'}
    ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(tmp).join('\n    ')}
    default_type application/json;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:${port};
        root ${path.join(prefix, 'www')};
        location / { }
    }
}
`;
}

/* files: {name: Buffer|string} served as /name, from a new temporary prefix
 * (removed by the harness's removeTempDirs()); accessLog: write one.  Returns
 * startTimed()'s handle (url, pid, startupMs, stop). */
export async function startNginx(files, { accessLog = false } = {}) {
    const prefix = await tempDir('arca-bench-nginx-');
    const www = path.join(prefix, 'www');
    await mkdir(path.join(prefix, 'tmp'), { recursive: true });
    await mkdir(www, { recursive: true });
    /* as root nginx's workers run as nobody: they must be able to read the files
     * (hence a prefix of its own in TMPDIR, not under a private directory) */
    await chmod(prefix, 0o755);
    for (const [name, body] of Object.entries(files))
        await writeFile(path.join(www, name), body, { mode: 0o644 });
    await writeFile(path.join(www, 'status'), '{"message":"Ok"}', { mode: 0o644 });
    const port = await closedPort();
    await writeFile(path.join(prefix, 'nginx.conf'), conf(prefix, port, accessLog));
    return startTimed('nginx', ['-p', prefix, '-e', path.join(prefix, 'error.log'), '-c',
        path.join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { port, statusPath: '/status',
        logFile: path.join(prefix, 'stderr.log'), env: { PATH: process.env.PATH }, cwd: prefix });
}
