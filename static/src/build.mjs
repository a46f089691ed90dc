/*
 * build.mjs - builds what browsers load from the readable sources in this
 * folder, with esbuild (the version pinned in package.json, installed into
 * build/npm by the Makefile): consent.js and consent.css (every page), the
 * on-demand modules consent-extra.{js,css} and consent-gpp.js.
 *
 *   make assets                        (node static/src/build.mjs)
 *   node static/src/build.mjs OUTDIR   the same into another folder
 *
 * Files are written only when they change; the script URL with the content
 * hash is printed last. tests/browser/size.test.js builds into a temporary
 * folder and fails when a shipped file differs from what this builds.
 *
 * Minified names: esbuild shortens every local name, and every property
 * whose name ends in "_" (the three scripts' own properties: window.consent's
 * hooks for the modules, the core's state handed to consent-extra.js), with
 * one mangle cache for all three files so that they agree. Every other
 * property is a browser's, the server's, a site's or localStorage's, and is
 * kept.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(SRC, '..', '..');
const STATIC = join(ROOT, 'static');

/* The script every page loads first: the core's mangle cache is the one the
 * modules must follow. */
const SCRIPTS = ['consent.js', 'consent-extra.js', 'consent-gpp.js'];
const STYLES = ['consent.css', 'consent-extra.css'];

/* esbuild as the Makefile installs it (build/npm/node_modules). */
function loadEsbuild() {
    try {
        return createRequire(join(ROOT, 'build', 'npm', 'package.json'))('esbuild');
    } catch (e) {
        throw new Error(`esbuild is not installed in build/npm (${e.message.split('\n')[0]}): ` +
                        'run make build/npm/node_modules/.package-lock.json');
    }
}

const banner = (name) => `/*! ${name} - readable source: src/${name} */`;

/*
 * Every shipped file as { name: text }. Scripts: ES2020 (the banner needs a
 * browser with <dialog> anyway), no comments but the banner line. They are
 * handed to esbuild as the bundle's only input (stdin: no imports, nothing
 * added): as a whole program, the file gets its declarations merged and
 * const written as let, which a file-by-file transform does not do.
 */
async function build() {
    const esbuild = loadEsbuild();
    const files = {};
    let mangleCache = {};
    for (const name of SCRIPTS) {
        const result = await esbuild.build({
            stdin: { contents: readFileSync(join(SRC, name), 'utf8'), loader: 'js', sourcefile: name },
            bundle: true, format: 'esm', target: 'es2020', write: false,
            minify: true, legalComments: 'none', mangleProps: /_$/, mangleCache,
            banner: { js: banner(name) }, logLevel: 'error',
        });
        mangleCache = result.mangleCache;
        files[name] = result.outputFiles[0].text;
    }
    for (const name of STYLES) {
        const result = await esbuild.transform(readFileSync(join(SRC, name), 'utf8'), {
            loader: 'css', minify: true, legalComments: 'none', banner: banner(name), sourcefile: name,
        });
        files[name] = result.code;
    }
    return files;
}

/* The version for the long-cached URL /consent/v/VERSION/consent.js: the
 * first 12 hex digits of the SHA-256 of the shipped script and stylesheet,
 * so it changes exactly when what browsers load changes. */
function version(files) {
    return createHash('sha256').update(files['consent.js']).update(files['consent.css']).digest('hex').slice(0, 12);
}

/* Writes files into dir, each only when it changed. */
function write(files, dir) {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
        const file = join(dir, name);
        if (existsSync(file) && readFileSync(file, 'utf8') === text)
            continue;
        writeFileSync(file, text);
        console.log(`wrote ${relative(process.cwd(), file)} (${Buffer.byteLength(text)} bytes)`);
    }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    const files = await build();
    write(files, process.argv[2] ? resolve(process.argv[2]) : STATIC);
    console.log(`script URL: /consent/v/${version(files)}/consent.js`);
}
