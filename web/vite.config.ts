// Vite builds the app into content-hashed files (assets/<name>-<hash>.js);
// src/server/gen_web.py embeds them into the arca binary.  No inline script
// or style ends up in index.html: the server's CSP forbids both.
import { defineConfig } from 'vite';

export default defineConfig({
    base: '/',
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: {
        outDir: process.env.ARCA_WEB_OUT || 'dist',
        emptyOutDir: true,
        target: 'es2022',
        assetsInlineLimit: 0,
        modulePreload: { polyfill: false },
        sourcemap: false,
        reportCompressedSize: false,
    },
});
