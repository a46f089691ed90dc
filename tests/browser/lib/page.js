'use strict';
/*
 * page.js - test pages made on the fly: the demo site's consent.js with the
 * attributes a test needs, served on the stack's origin under
 * /consent/made/ (the real script, API and CSS; only the page is made up).
 *
 *   await madePages(v);
 *   await v.page.goto(made({ 'data-theme': 'dark' }, { head: '<meta …>', body: '…' }));
 */
const { DEMO } = require('./browser');

const PAGES = new Map();
let next = 0;

/* A page URL (path) with the script's attributes and extra head/body HTML. */
function made(attrs = {}, { head = '', body = '', before = '' } = {}) {
    const a = Object.entries(attrs).map(([k, v]) => ` ${k}='${v}'`).join('');
    const name = `p${next++}.html`;
    PAGES.set(name, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>made</title>${head}` +
        `${before}<script src="/consent/consent.js" data-site="demo"${a}></script></head>` +
        `<body><main><h1>A made page</h1><p><a href="${DEMO}">demo</a></p>${body}</main>` +
        '<script type="text/plain" data-consent="analytics" src="/consent/demo/analytics.js"></script>' +
        '<script type="text/plain" data-consent="advertising" src="/consent/demo/ads.js"></script>' +
        '</body></html>');
    return '/consent/made/' + name;
}

/* Serves the made pages to visitor v's context. */
async function madePages(v) {
    await v.context.route('**/consent/made/**', (route) => {
        const name = new URL(route.request().url()).pathname.split('/').pop();
        const body = PAGES.get(name);
        return route.fulfill(body === undefined ? { status: 404, body: 'none' }
            : { status: 200, contentType: 'text/html; charset=utf-8', body });
    });
}

module.exports = { made, madePages };
