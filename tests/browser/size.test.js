'use strict';
/*
 * size.test.js - the budget: consent.js + consent.css as shipped, each
 * compressed with gzip -9, together at most 6 KB (6144 bytes). Also checks
 * that the shipped files are built from static/src/ (minify.js).
 */
const { it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { build, STATIC } = require('./minify');

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

it('the shipped files are built from static/src/ (node tests/browser/minify.js)', async () => {
    const files = await build();
    for (const [name, text] of Object.entries(files))
        assert.equal(fs.readFileSync(path.join(STATIC, name), 'utf8'), text,
                     `static/${name} is stale: run node tests/browser/minify.js`);
});

it('the shipped script has no eval, no inline style writes and no HTML insertion', () => {
    const js = fs.readFileSync(path.join(STATIC, 'consent.js'), 'utf8');
    for (const bad of [/\beval\(/, /new Function/, /\.style\b/, /innerHTML/, /outerHTML/,
                       /insertAdjacentHTML/, /document\.write/, /setAttribute\("style"/])
        assert.doesNotMatch(js, bad);
});
