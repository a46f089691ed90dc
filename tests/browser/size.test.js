'use strict';
/*
 * size.test.js - the budget: consent.js + consent.css as shipped, each
 * compressed with gzip -9, together at most 6 KB (6144 bytes). Also checks
 * that the shipped files are what `make assets` (static/src/build.mjs,
 * esbuild) builds from static/src/: it builds them into a temporary folder
 * and compares byte for byte.
 */
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

const ROOT = path.resolve(__dirname, '..', '..');
const STATIC = path.join(ROOT, 'static');
const BUDGET = 6144;
const gzip9 = (b) => zlib.gzipSync(b, { level: 9 }).length;

it('consent.js + consent.css fit in 6 KB gzip -9', () => {
    let total = 0;
    for (const name of ['consent.js', 'consent.css']) {
        const raw = fs.readFileSync(path.join(STATIC, name));
        const gz = gzip9(raw);
        total += gz;
        console.log(`${name}: ${raw.length} bytes raw, ${gz} bytes gzip -9`);
    }
    console.log(`consent.js + consent.css: ${total} bytes gzip -9 (budget ${BUDGET})`);
    assert.ok(total <= BUDGET, `${total} > ${BUDGET}`);
});

it('the shipped files are what make assets builds from static/src/', (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consent-assets-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    execFileSync(process.execPath, [path.join(STATIC, 'src', 'build.mjs'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    const built = fs.readdirSync(dir).sort();
    assert.deepEqual(built, ['consent-extra.css', 'consent-extra.js', 'consent-gpp.js', 'consent.css', 'consent.js']);
    for (const name of built)
        assert.ok(fs.readFileSync(path.join(dir, name)).equals(fs.readFileSync(path.join(STATIC, name))),
                  `static/${name} is not what static/src/${name} builds: run make assets`);
});

it('the shipped script has no eval, no inline style writes and no HTML insertion', () => {
    const js = fs.readFileSync(path.join(STATIC, 'consent.js'), 'utf8');
    for (const bad of [/\beval\(/, /new Function/, /\.style\b/, /innerHTML/, /outerHTML/,
                       /insertAdjacentHTML/, /document\.write/, /setAttribute\("style"/])
        assert.doesNotMatch(js, bad);
});
