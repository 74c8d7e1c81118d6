// disk.mjs - what the disk allows: the latency of one 512-byte append followed
// by fdatasync(2), in a file of dir (put it on the disk the data directory is
// on), as many times as fit in maxIterations and maxSeconds.  A durable answer
// costs at least one such append; 16 connections each waiting for one allow
// at most 16 / latency answers a second when each group commit costs exactly
// one append and one fdatasync (the "physics check").
import { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/* -> {iterations, seconds, p50_ms, p99_ms} */
export function fdatasyncLatency(dir, { maxIterations = 5000, maxSeconds = 5 } = {}) {
    const file = path.join(dir, `fdatasync-probe-${process.pid}`);
    const fd = openSync(file, 'a', 0o600);
    const rec = Buffer.alloc(512, 0x61);
    const ms = [];
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(Math.round(maxSeconds * 1e9));
    try {
        for (let i = 0; i < maxIterations; i++) {
            const a = process.hrtime.bigint();
            if (a > end)
                break;
            writeSync(fd, rec);
            fdatasyncSync(fd);
            ms.push(Number(process.hrtime.bigint() - a) / 1e6);
        }
    } finally {
        closeSync(fd);
        unlinkSync(file);
    }
    ms.sort((x, y) => x - y);
    return { iterations: ms.length, seconds: Number(process.hrtime.bigint() - t0) / 1e9,
        p50_ms: quantile(ms, 0.5), p99_ms: quantile(ms, 0.99) };
}
