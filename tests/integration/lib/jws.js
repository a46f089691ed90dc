'use strict';
/*
 * jws.js - checking receipts the way anyone outside would: the JWKS from
 * /consent/v1/keys and node:crypto's Ed25519 verify.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

/* { ok, header, payload (Buffer) } of a compact JWS checked with a JWK. */
function verifyJws(jws, jwk) {
    const parts = jws.split('.');
    assert.equal(parts.length, 3, `compact JWS: ${jws}`);
    const [h, p, s] = parts;
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
    const ok = crypto.verify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
    return { ok, header, payload: Buffer.from(p, 'base64url') };
}

/* The stack's one signing key as a JWK. */
async function jwks(stack) {
    const res = await stack.request({ path: '/consent/v1/keys' });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.keys.length, 1);
    return res.json.keys[0];
}

module.exports = { verifyJws, jwks };
