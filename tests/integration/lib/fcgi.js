'use strict';
/*
 * fcgi.js - one FastCGI request straight to one consentd (no nginx), for
 * tests that must address one instance of several: the FastCGI responder
 * protocol (version 1) with the parameters nginx/consent.conf passes.
 *
 *   const res = await fcgiRequest(port, { path: '/consent/v1/banner', query: 'site=demo',
 *                                         remoteAddr: '46.4.0.1', headers: { Cookie: c } });
 *   res.status, res.headers (lower-case names; set-cookie is a list), res.body, res.json
 */
const net = require('node:net');

const BEGIN_REQUEST = 1;
const END_REQUEST = 3;
const PARAMS = 4;
const STDIN = 5;
const STDOUT = 6;
const RESPONDER = 1;

function record(type, content) {
    const out = [];
    for (let at = 0; at === 0 || at < content.length; at += 65535) {
        const part = content.subarray(at, at + 65535);
        const h = Buffer.alloc(8);
        h.writeUInt8(1, 0);
        h.writeUInt8(type, 1);
        h.writeUInt16BE(1, 2);              // request ID
        h.writeUInt16BE(part.length, 4);
        out.push(h, part);
        if (part.length === 0)
            break;
    }
    return Buffer.concat(out);
}

function pairLength(n) {
    if (n < 128)
        return Buffer.from([n]);
    const b = Buffer.alloc(4);
    b.writeUInt32BE((n | 0x80000000) >>> 0);
    return b;
}

function params(env) {
    const parts = [];
    for (const [k, v] of Object.entries(env)) {
        const kb = Buffer.from(k);
        const vb = Buffer.from(String(v));
        parts.push(pairLength(kb.length), pairLength(vb.length), kb, vb);
    }
    return Buffer.concat(parts);
}

/* The CGI answer (Status line, headers, body) as { status, headers, body, json }. */
function parseAnswer(buf) {
    const text = buf.toString('utf8');
    const end = text.indexOf('\r\n\r\n');
    const head = end < 0 ? text : text.slice(0, end);
    const body = end < 0 ? '' : text.slice(end + 4);
    const headers = { 'set-cookie': [] };
    let status = 200;
    for (const line of head.split('\r\n')) {
        const i = line.indexOf(':');
        if (i < 0)
            continue;
        const name = line.slice(0, i).toLowerCase();
        const value = line.slice(i + 1).trim();
        if (name === 'status')
            status = Number(value.split(' ')[0]);
        else if (name === 'set-cookie')
            headers['set-cookie'].push(value);
        else
            headers[name] = value;
    }
    let json;
    try {
        json = JSON.parse(body);
    } catch (_) {
        json = undefined;
    }
    return { status, headers, body, json };
}

/*
 * One request to the FastCGI server on 127.0.0.1:port. headers become
 * HTTP_* parameters (Content-Type becomes CONTENT_TYPE); body (a string)
 * is sent with CONTENT_LENGTH.
 */
function fcgiRequest(port, { method = 'GET', path, query = '', headers = {}, body,
                             remoteAddr = '127.0.0.1', timeoutMs = 10000 } = {}) {
    const env = {
        REQUEST_METHOD: method,
        QUERY_STRING: query,
        DOCUMENT_URI: path,
        REQUEST_URI: query ? `${path}?${query}` : path,
        SERVER_PROTOCOL: 'HTTP/1.1',
        REMOTE_ADDR: remoteAddr,
    };
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    if (body !== undefined)
        env.CONTENT_LENGTH = String(payload.length);
    for (const [k, v] of Object.entries(headers)) {
        if (k.toLowerCase() === 'content-type')
            env.CONTENT_TYPE = v;
        else
            env[`HTTP_${k.toUpperCase().replace(/-/g, '_')}`] = v;
    }
    const begin = Buffer.alloc(8);
    begin.writeUInt16BE(RESPONDER, 0);
    const wire = Buffer.concat([
        record(BEGIN_REQUEST, begin),
        record(PARAMS, params(env)), record(PARAMS, Buffer.alloc(0)),
        ...(payload.length > 0 ? [record(STDIN, payload)] : []), record(STDIN, Buffer.alloc(0)),
    ]);
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        let buf = Buffer.alloc(0);
        const out = [];
        let done = false;
        const finish = (err, res) => {
            if (done)
                return;
            done = true;
            sock.destroy();
            if (err)
                reject(err);
            else
                resolve(res);
        };
        sock.setTimeout(timeoutMs, () => finish(new Error(`FastCGI ${method} ${path} on ${port}: no answer within ${timeoutMs} ms`)));
        sock.once('error', (e) => finish(e));
        sock.once('connect', () => sock.write(wire));
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            while (buf.length >= 8) {
                const type = buf.readUInt8(1);
                const len = buf.readUInt16BE(4);
                const pad = buf.readUInt8(6);
                if (buf.length < 8 + len + pad)
                    break;
                if (type === STDOUT)
                    out.push(buf.subarray(8, 8 + len));
                buf = buf.subarray(8 + len + pad);
                if (type === END_REQUEST) {
                    finish(null, parseAnswer(Buffer.concat(out)));
                    return;
                }
            }
        });
        sock.once('end', () => finish(new Error(`FastCGI ${method} ${path} on ${port}: closed before the end of the answer`)));
    });
}

module.exports = { fcgiRequest };
