// The protocol vectors (tests/data/vectors.json), checked against the page's
// own envelope code and the very vendored files the page loads.
//   node --test tests/js/
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const nacl = require('../../site/vendor/tweetnacl-1.0.3/nacl-fast.min.js');
const blakejs = require('../../site/vendor/blakejs-1.2.1/blake2b.js');
const makeEnvelope = require('../../site/js/envelope.js');

const qd = makeEnvelope(nacl, blakejs);
const vectors = JSON.parse(readFileSync(new URL('../data/vectors.json', import.meta.url), 'utf8'));
const b64u = qd.b64uEncode;
const bytes = qd.b64uDecode;

/* Test-only: open a sealed box as libsodium's crypto_box_seal_open does. The page never opens one. */
function openSealedBox(sealed, publicKey, secretKey) {
  const epk = sealed.subarray(0, 32);
  const nonce = new Uint8Array(blakejs.blake2b(Uint8Array.from([...epk, ...publicKey]), undefined, 24));
  return nacl.box.open(sealed.subarray(32), nonce, epk, secretKey);
}

test('case code derivations', () => {
  for (const c of vectors.cases) {
    assert.equal(qd.normaliseCaseCode(c.code), c.normalised);
    assert.equal(qd.formatCaseCode(c.normalised), c.code);
    const keys = qd.deriveCase(c.code);
    assert.equal(b64u(keys.caseId), c.case_id);
    assert.equal(b64u(keys.authToken), c.auth_token);
    assert.equal(b64u(keys.authHash), c.auth_hash);
    assert.equal(b64u(keys.replyPublicKey), c.reply_public);
  }
});

test('typed codes are normalised', () => {
  for (const t of vectors.typed_codes) assert.equal(qd.normaliseCaseCode(t.typed), t.normalised);
  for (const bad of ['', '7K3M-Q9XD-2PWA-H4T', '7K3M-Q9XD-2PWA-H4TBX', '7K3M-Q9XD-2PWA-H4TU']) {
    assert.throws(() => qd.normaliseCaseCode(bad), { code: 'bad_code' });
  }
});

test('new case codes are 16 Crockford characters and differ', () => {
  const seen = new Set();
  for (let i = 0; i < 200; i++) {
    const code = qd.newCaseCode();
    assert.match(code, /^[0-9A-HJKMNP-TV-Z]{16}$/);
    seen.add(code);
  }
  assert.equal(seen.size, 200);
});

test('key id', () => {
  assert.equal(b64u(qd.keyId(bytes(vectors.recipient.public))), vectors.recipient.key_id);
});

test('padding lengths', () => {
  for (const p of vectors.padding) {
    const data = bytes(p.data);
    const padded = qd.pad(data);
    assert.equal(padded.length, p.padded_length);
    assert.deepEqual(padded.subarray(0, data.length), data);
    assert.equal(padded[data.length], 0x80);
    assert.ok(padded.subarray(data.length + 1).every((b) => b === 0));
  }
  assert.equal(qd.bucketSize(64 * 1024 - 1), 64 * 1024);
  assert.throws(() => qd.bucketSize(64 * 1024), { code: 'too_long' });
});

test('the payload serialises as Python does', () => {
  const json = vectors.secretbox.payload_json;
  assert.equal(JSON.stringify(JSON.parse(json)), json);
});

test('secretbox ciphertext for the fixed key, nonce and payload', () => {
  const s = vectors.secretbox;
  const padded = qd.pad(qd.encodePayload(JSON.parse(s.payload_json)));
  assert.equal(b64u(nacl.secretbox(padded, bytes(s.nonce), bytes(s.key))), s.ct);
});

test('the whole envelope for the fixed key and nonce', () => {
  const env = vectors.envelope;
  const caseKey = qd.deriveCase(vectors.cases[0].code).replyPublicKey;
  const made = qd.sealEnvelope(
    env.school,
    JSON.parse(vectors.secretbox.payload_json),
    [bytes(vectors.recipient.public), caseKey],
    { contentKey: bytes(vectors.secretbox.key), nonce: bytes(vectors.secretbox.nonce) },
  );
  // Sealed boxes are random; everything else is fixed.
  const { keys, ...rest } = made;
  const { keys: expectedKeys, ...expectedRest } = env;
  assert.deepEqual(rest, expectedRest);
  assert.deepEqual(keys.map((k) => k.to), expectedKeys.map((k) => k.to));
  const recipient = vectors.recipient;
  const opened = openSealedBox(bytes(keys[0].sealed), bytes(recipient.public), bytes(recipient.secret));
  assert.equal(b64u(opened), vectors.secretbox.key);
});

test('a sealed box made by libsodium opens with the recipient secret key', () => {
  const r = vectors.recipient;
  const opened = openSealedBox(bytes(vectors.sealed_box.sealed), bytes(r.public), bytes(r.secret));
  assert.ok(opened, 'libsodium sealed box did not open');
  assert.equal(b64u(opened), vectors.sealed_box.message);
  const key = nacl.box.keyPair.fromSecretKey(bytes(r.secret));
  assert.equal(b64u(key.publicKey), r.public);
});

test('our sealed box is 80 bytes for a key and opens; a tampered one does not', () => {
  const r = vectors.recipient;
  const message = nacl.randomBytes(32);
  const sealed = qd.sealedBox(message, bytes(r.public));
  assert.equal(sealed.length, 80);
  assert.deepEqual(openSealedBox(sealed, bytes(r.public), bytes(r.secret)), message);
  sealed[40] ^= 1;
  assert.equal(openSealedBox(sealed, bytes(r.public), bytes(r.secret)), null);
});

test('base64url is strict', () => {
  for (let n = 0; n < 40; n++) {
    const data = nacl.randomBytes(n);
    assert.deepEqual(bytes(b64u(data)), data);
    assert.equal(b64u(data), Buffer.from(data).toString('base64url'));
  }
  for (const bad of ['A', 'AB=', 'AB+/', 'AB C', 'AR', 'AAB']) {
    assert.throws(() => bytes(bad), { code: 'bad_base64' }, bad);
  }
});

function openAsRecipient(envelope) {
  const r = vectors.recipient;
  const mine = b64u(qd.keyId(bytes(r.public)));
  const sealed = envelope.keys.find((k) => k.to === mine);
  const contentKey = openSealedBox(bytes(sealed.sealed), bytes(r.public), bytes(r.secret));
  const padded = nacl.secretbox.open(bytes(envelope.ct), bytes(envelope.nonce), contentKey);
  const end = padded.lastIndexOf(0x80);
  return { length: padded.length, payload: JSON.parse(new TextDecoder().decode(padded.subarray(0, end))) };
}

const NOW = new Date(Date.UTC(2026, 10, 28, 14, 5, 59));

test('a new report: the request, the header and the keys', () => {
  const r = vectors.recipient;
  const answers = { what: 'something is wrong', safe_now: 'no', more: '' };
  const { caseCode, body } = qd.newReport('lincoln-high', 'en', [r.public], answers, NOW);
  assert.match(caseCode, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
  const keys = qd.deriveCase(caseCode);
  assert.deepEqual(Object.keys(body).sort(), ['auth_hash', 'case_id', 'envelope']);
  assert.equal(body.case_id, b64u(keys.caseId));
  assert.equal(body.auth_hash, b64u(keys.authHash));
  const envelope = body.envelope;
  assert.deepEqual(Object.keys(envelope).sort(), ['ct', 'keys', 'nonce', 'school', 'v']);
  assert.deepEqual(envelope.keys.map((k) => k.to),
    [b64u(qd.keyId(bytes(r.public))), b64u(qd.keyId(keys.replyPublicKey))]);
  const { length, payload } = openAsRecipient(envelope);
  assert.equal(length, 1024);
  assert.equal(bytes(payload.msg_id).length, 16);
  const { msg_id: _random, ...rest } = payload;
  assert.deepEqual(rest, {
    v: 1, kind: 'report', school: 'lincoln-high', case_id: b64u(keys.caseId),
    sent: '2026-11-28T14:05Z', lang: 'en', reply_pk: b64u(keys.replyPublicKey), answers,
  });
  // The student's own code opens the report too: the case code alone reads the whole thread.
  const thread = qd.readCase(keys, 'lincoln-high', [{ id: 'x', received: '2026-11-28', author: 'public', envelope }]);
  assert.equal(thread.unreadable, 0);
  assert.deepEqual(thread.messages, [payload]);
});

test('an update and a training record have the same header and keys', () => {
  const r = vectors.recipient;
  const keys = qd.deriveCase(vectors.cases[0].code);
  const update = qd.newUpdate(keys, 'lincoln-high', 'es', [r.public], 'más detalles', NOW);
  const { payload } = openAsRecipient(update);
  assert.equal(payload.kind, 'update');
  assert.equal(payload.case_id, b64u(keys.caseId));
  assert.deepEqual([payload.lang, payload.text], ['es', 'más detalles']);
  assert.equal(update.keys.length, 2);
  const record = { person: { name: 'Rosa', role: 'Nurse', school: 'lincoln-high' }, modules: [] };
  const training = qd.newTraining('lincoln-high', [r.public], record, NOW);
  assert.equal(training.envelope.keys.length, 2, 'a training record looks like a report to the relay');
  const opened = openAsRecipient(training.envelope).payload;
  assert.equal(opened.kind, 'training');
  assert.equal(opened.case_id, training.case_id);
  assert.deepEqual(opened.person, record.person);
});

test('a staff reply sealed by libsodium opens with the case code', () => {
  const v = vectors.case_message;
  const keys = qd.deriveCase(v.code.toLowerCase().replace(/-/g, ' '));
  const thread = qd.readCase(keys, 'lincoln-high', [v.row, v.row]);
  assert.deepEqual(thread.messages, [JSON.parse(v.payload_json)], 'a replayed message shows once');
  assert.equal(thread.unreadable, 0);
});

test('a message from another school, case or route, or tampered, is not shown', () => {
  const v = vectors.case_message;
  const keys = qd.deriveCase(v.code);
  const tampered = structuredClone(v.row);
  const ct = bytes(tampered.envelope.ct);
  ct[20] ^= 1;
  tampered.envelope.ct = b64u(ct);
  const rows = [
    tampered,
    { ...v.row, author: 'student' },
    { ...v.row, author: 'public' },
    { ...v.row, envelope: { ...v.row.envelope, school: 'riverside-middle' } },
    { ...v.row, envelope: null },
  ];
  const thread = qd.readCase(keys, 'lincoln-high', rows);
  assert.deepEqual(thread, { messages: [], unreadable: rows.length });
  assert.equal(qd.readCase(qd.deriveCase(vectors.cases[1].code), 'lincoln-high', [v.row]).unreadable, 1);
  assert.equal(qd.readCase(keys, 'riverside-middle', [v.row]).unreadable, 1);
});

test('the case headers carry the case id and the token, not the code', () => {
  const c = vectors.cases[0];
  const headers = qd.caseHeaders(qd.deriveCase(c.code));
  assert.deepEqual(headers, { 'X-QD-Case': c.case_id, Authorization: 'Bearer ' + c.auth_token });
});

test('a report that does not fit 64 KiB is refused before sealing', () => {
  const answers = { what: 'x'.repeat(64 * 1024), safe_now: '', more: '' };
  assert.throws(() => qd.newReport('s', 'en', [vectors.recipient.public], answers, new Date()), { code: 'too_long' });
});
