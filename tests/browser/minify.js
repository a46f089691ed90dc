'use strict';
/*
 * minify.js - builds the shipped static/consent.js and static/consent.css,
 * the on-demand module static/consent-extra.{js,css} and the GPP page API
 * static/consent-gpp.js (loaded where a GPP section applies), from their
 * readable sources in static/src/ (terser for the script, a few
 * whitespace rules for the stylesheet). Both outputs are committed, so
 * running the banner needs no build; size.test.js checks they are current.
 *
 *   node tests/browser/minify.js           write the outputs, print the
 *                                          versioned script URL (content hash)
 *   node tests/browser/minify.js --check   exit 1 when an output is stale
 *
 * Existing static/*.gz copies (nginx's gzip_static, from `make gz`) are
 * rewritten too, so the browser never gets an old script. (The support
 * page's chart library, uPlot, is not built here: the Makefile installs it
 * from the npm registry into static/admin/vendor/, never committed.)
 */
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const STATIC = path.resolve(__dirname, '..', '..', 'static');

async function minifyJs(source, name = 'consent') {
    const { minify } = require('terser');
    const out = await minify(source, {
        ecma: 2017,
        compress: { passes: 2 },
        mangle: true,
        format: { comments: false, preamble: `/*! ${name}.js - readable source: src/${name}.js */` },
    });
    return out.code + '\n';
}

/* Comments out, whitespace collapsed; spaces kept where CSS needs them
 * (descendant combinators such as ".cc :focus-visible", calc()). */
function minifyCss(source, name = 'consent') {
    return `/*! ${name}.css - readable source: src/${name}.css */\n` + source
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\s+/g, ' ')
        .replace(/\s*([{};,>])\s*/g, '$1')
        .replace(/:\s+/g, ':')
        .replace(/;}/g, '}')
        .trim() + '\n';
}

/* Does FILE.gz exist and hold something other than FILE? */
function staleGz(file) {
    const gz = file + '.gz';
    if (!fs.existsSync(gz))
        return false;
    try {
        return !zlib.gunzipSync(fs.readFileSync(gz)).equals(fs.readFileSync(file));
    } catch (_) {
        return true;
    }
}

/* The script every page loads, and the modules it loads on demand
 * (consent-extra: the declaration, clean-up, embed placeholders;
 * consent-gpp: the __gpp page API, script only). */
const BUILT = ['consent', 'consent-extra', 'consent-gpp'];

async function build() {
    const out = {};
    for (const name of BUILT) {
        const file = (ext) => path.join(STATIC, 'src', `${name}.${ext}`);
        out[`${name}.js`] = await minifyJs(fs.readFileSync(file('js'), 'utf8'), name);
        if (fs.existsSync(file('css')))
            out[`${name}.css`] = minifyCss(fs.readFileSync(file('css'), 'utf8'), name);
    }
    return out;
}

/* The version for the long-cached URL /consent/v/VERSION/consent.js: the
 * first 12 hex digits of the SHA-256 of the shipped script and stylesheet,
 * so it changes exactly when what browsers load changes. */
function version(files) {
    const h = require('node:crypto').createHash('sha256');
    h.update(files['consent.js']).update(files['consent.css']);
    return h.digest('hex').slice(0, 12);
}

module.exports = { build, minifyCss, minifyJs, staleGz, version, STATIC };

if (require.main === module) {
    build().then((files) => {
        let stale = 0;
        for (const [name, text] of Object.entries(files)) {
            const file = path.join(STATIC, name);
            const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
            if (process.argv.includes('--check')) {
                if (old !== text) {
                    console.error(`static/${name} is not built from static/src/${name}: ` +
                                  'run node tests/browser/minify.js');
                    stale = 1;
                }
            } else {
                if (old !== text) {
                    fs.mkdirSync(path.dirname(file), { recursive: true });
                    fs.writeFileSync(file, text);
                    console.log(`wrote static/${name} (${Buffer.byteLength(text)} bytes)`);
                }
                // nginx serves static/NAME.gz instead when it exists (gzip_static,
                // written by `make gz`): keep it in step.
                if (fs.existsSync(file + '.gz') && staleGz(file))
                    fs.writeFileSync(file + '.gz', zlib.gzipSync(text, { level: 9 }));
            }
        }
        if (!process.argv.includes('--check'))
            console.log(`script URL: /consent/v/${version(files)}/consent.js`);
        process.exit(stale);
    }, (e) => {
        console.error(e);
        process.exit(1);
    });
}
