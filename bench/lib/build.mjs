// build.mjs - the arca binary a benchmark measures: ARCA_BIN when set, else a
// release build in build-rel/ with the web app (set up on first use, after
// `npm ci` in web/ if needed, then brought up to date with ninja), whose path it puts in ARCA_BIN (the harness reads it when it is
// loaded: import it after this).  Progress goes to stderr.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: ROOT,
    stdio: ['ignore', process.stderr, process.stderr], ...opts });

/* -> the build directory the binary comes from (ARCA_BUILD_DIR, or the one
 * ARCA_BIN is in, when ARCA_BIN is set) */
export function ensureArca() {
    if (process.env.ARCA_BIN)
        return process.env.ARCA_BUILD_DIR
            ?? path.resolve(path.dirname(process.env.ARCA_BIN), '..', '..');
    const dir = path.join(ROOT, 'build-rel');
    /* with the web app, as a user's build: bench/profile.mjs serves its css */
    if (!existsSync(path.join(ROOT, 'web', 'node_modules')))
        sh('npm', ['ci', '--no-audit', '--no-fund'], { cwd: path.join(ROOT, 'web') });
    if (!existsSync(path.join(dir, 'meson-private', 'coredata.dat')))
        sh('meson', ['setup', 'build-rel', '--buildtype=release', '-Dweb=enabled']);
    sh('ninja', ['-C', 'build-rel']);
    process.env.ARCA_BIN = path.join(dir, 'src', 'cli', 'arca');
    return dir;
}
