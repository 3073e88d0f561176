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
    assert.equal(b64u(keys.updatePublicKey), c.update_public);
    assert.equal(b64u(keys.caseIdV1), c.case_id_v1);
    assert.equal(b64u(qd.caseIdFor(keys.replyPublicKey, keys.updatePublicKey)), c.case_id);
  }
});

test('a student signature: the signed text and the signature', () => {
  const v = vectors.student_signature;
  const pair = nacl.sign.keyPair.fromSeed(bytes(v.seed));
  const payload = JSON.parse(v.payload_json);
  assert.equal(qd.signedText('QD2-STUDENT\n', payload), v.signed_text);
  const sig = nacl.sign.detached(new TextEncoder().encode(v.signed_text), pair.secretKey);
  assert.equal(b64u(sig), v.signature);
});

test('the staff signature text is the canonical JSON Python writes', () => {
  const v = vectors.staff_signature;
  assert.equal(qd.signedText('QD1-STAFF\n', JSON.parse(v.payload_json)), v.signed_text);
});

test('canonical JSON sorts keys by code point and refuses floats', () => {
  assert.equal(qd.canonicalJson({ b: [1, 'é\n\u2028\u0001'], a: { z: null, '\u{1F600}': 1, '\uffff': 2 } }),
    '{"a":{"z":null,"\uffff":2,"\u{1F600}":1},"b":[1,"é\\n\u2028\\u0001"]}');
  for (const bad of [{ v: 1.5 }, { v: 2 ** 53 }, [undefined]]) {
    assert.throws(() => qd.canonicalJson(bad), { code: 'bad_message' });
  }
});

test('a training record is bound to its throwaway key', () => {
  const v = vectors.training_record;
  assert.equal(b64u(qd.recordId(bytes(v.record_public))), v.case_id);
});

test('typed codes are normalised', () => {
  for (const t of vectors.typed_codes) assert.equal(qd.normaliseCaseCode(t.typed), t.normalised);
  // Non-ASCII letters are refused, even those whose upper case is an ASCII letter.
  const nonAscii = ['7K3M-Q9XD-2PWA-H4Tı', '7K3M-Q9XD-2PWA-H4Tſ', '7K3M-Q9XD-2PWA-H4T８', '7K3M-Q9XD-2PWA-H4ＴB'];
  for (const bad of ['', '7K3M-Q9XD-2PWA-H4T', '7K3M-Q9XD-2PWA-H4TBX', '7K3M-Q9XD-2PWA-H4TU', ...nonAscii]) {
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
const SCHOOL = 'lincoln-high';
const STAFF = nacl.sign.keyPair.fromSeed(bytes(vectors.staff_signature.seed));
const SIGNERS = [{ key: b64u(STAFF.publicKey), until: null }];

function row(author, envelope, id = 'a'.repeat(24)) {
  return { id, received: '2026-11-28', author, envelope };
}

/* What the relay would list for a payload sealed to the school and the case. */
function sealedRow(keys, author, payload) {
  return row(author, qd.sealEnvelope(SCHOOL, payload, [bytes(vectors.recipient.public), keys.replyPublicKey]));
}

function staffPayload(keys, fields, signer = STAFF, caseId = keys.caseId) {
  const payload = {
    v: 2, kind: 'reply', school: SCHOOL, case_id: b64u(caseId), msg_id: b64u(nacl.randomBytes(16)),
    sent: '2026-11-29T09:30Z', text: 'We read it.',
    from: { id: 'dana-ortiz', key: b64u(signer.publicKey) }, ...fields,
  };
  if (payload.kind === 'receipt') delete payload.text;
  const text = new TextEncoder().encode(qd.signedText('QD1-STAFF\n', payload));
  return { ...payload, sig: b64u(nacl.sign.detached(text, signer.secretKey)) };
}

test('a new report: the request, the header and the keys', () => {
  const r = vectors.recipient;
  const answers = { what: 'something is wrong', safe_now: 'no', more: '' };
  const { caseCode, body } = qd.newReport(SCHOOL, 'en', [r.public], answers, NOW);
  assert.match(caseCode, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
  const keys = qd.deriveCase(caseCode);
  assert.deepEqual(Object.keys(body).sort(), ['auth_hash', 'case_id', 'envelope']);
  assert.equal(body.case_id, b64u(keys.caseId));
  assert.equal(body.auth_hash, b64u(keys.authHash));
  const envelope = body.envelope;
  assert.deepEqual(Object.keys(envelope).sort(), ['ct', 'keys', 'nonce', 'school', 'v']);
  assert.equal(envelope.v, 2);
  assert.deepEqual(envelope.keys.map((k) => k.to),
    [b64u(qd.keyId(bytes(r.public))), b64u(qd.keyId(keys.replyPublicKey))]);
  const { length, payload } = openAsRecipient(envelope);
  assert.equal(length, 1024);
  assert.equal(bytes(payload.msg_id).length, 16);
  const { msg_id: _random, ...rest } = payload;
  assert.deepEqual(rest, {
    v: 2, kind: 'report', school: SCHOOL, case_id: b64u(keys.caseId),
    sent: '2026-11-28T14:05Z', lang: 'en', reply_pk: b64u(keys.replyPublicKey),
    update_pk: b64u(keys.updatePublicKey), answers,
  });
  // The student's own code opens the report too: the case code alone reads the whole thread.
  const thread = qd.readCase(keys, SCHOOL, keys.caseId, [row('public', envelope)], SIGNERS);
  assert.deepEqual(thread, { messages: [{ payload, recognised: true }], unverified: 0, v1: false });
});

test('an update is signed with the case update key and shows; a forged one does not', () => {
  const r = vectors.recipient;
  const keys = qd.deriveCase(vectors.cases[0].code);
  const update = qd.newUpdate(keys, keys.caseId, SCHOOL, 'es', [r.public], 'más detalles', NOW);
  assert.equal(update.v, 2);
  const { payload } = openAsRecipient(update);
  assert.deepEqual([payload.v, payload.kind, payload.case_id], [2, 'update', b64u(keys.caseId)]);
  assert.deepEqual([payload.lang, payload.text], ['es', 'más detalles']);
  const signed = new TextEncoder().encode(qd.signedText('QD2-STUDENT\n', payload));
  assert.ok(nacl.sign.detached.verify(signed, bytes(payload.sig), keys.updatePublicKey));
  assert.equal(update.keys.length, 2);
  const { sig, ...unsigned } = payload;
  const other = nacl.sign.keyPair();
  const forgedSig = nacl.sign.detached(new TextEncoder().encode(qd.signedText('QD2-STUDENT\n', unsigned)), other.secretKey);
  const forged = [
    { ...unsigned, msg_id: b64u(nacl.randomBytes(16)), text: 'FORGED' }, // no signature
    { ...unsigned, msg_id: b64u(nacl.randomBytes(16)), text: 'FORGED', sig: b64u(forgedSig) },
    { ...payload, msg_id: b64u(nacl.randomBytes(16)) }, // the signature of another message
    { ...unsigned, v: 1, msg_id: b64u(nacl.randomBytes(16)) }, // version 1 in a version-2 case
  ];
  const rows = [row('student', update), ...forged.map((p) => sealedRow(keys, 'student', p))];
  const thread = qd.readCase(keys, SCHOOL, keys.caseId, rows, SIGNERS);
  assert.deepEqual(thread.messages, [{ payload, recognised: true }]);
  assert.equal(thread.unverified, forged.length);
});

test('a training record carries its throwaway key, which its case id and envelope name', () => {
  const r = vectors.recipient;
  const record = { person: { name: 'Rosa', role: 'Nurse', school: SCHOOL }, modules: [] };
  const training = qd.newTraining(SCHOOL, [r.public], record, NOW);
  assert.equal(training.envelope.keys.length, 2, 'a training record looks like a report to the relay');
  const opened = openAsRecipient(training.envelope).payload;
  assert.deepEqual([opened.v, opened.kind, opened.case_id], [2, 'training', training.case_id]);
  assert.equal(b64u(qd.recordId(bytes(opened.record_pk))), training.case_id);
  assert.equal(training.envelope.keys[1].to, b64u(qd.keyId(bytes(opened.record_pk))));
  assert.deepEqual(opened.person, record.person);
});

test('a report that does not bind to the code, or a second report, is hidden', () => {
  const keys = qd.deriveCase(vectors.cases[0].code);
  const other = qd.deriveCase(vectors.cases[1].code);
  const header = { v: 2, kind: 'report', school: SCHOOL, case_id: b64u(keys.caseId), sent: '2026-11-28T14:05Z', lang: 'en' };
  const report = (fields) => ({
    ...header, msg_id: b64u(nacl.randomBytes(16)), reply_pk: b64u(keys.replyPublicKey),
    update_pk: b64u(keys.updatePublicKey), answers: { what: 'w', safe_now: 'yes', more: '' }, ...fields,
  });
  const genuine = report({});
  const forged = [
    report({ update_pk: b64u(other.updatePublicKey) }), // the relay's own update key
    report({ reply_pk: b64u(other.replyPublicKey) }), // a reply key the relay holds
    report({ v: 1, update_pk: undefined }), // version 1 under a version-2 id
    report({ answers: { what: 'SECOND', safe_now: 'no', more: '' } }), // a second report
  ];
  const rows = [genuine, ...forged].map((p) => sealedRow(keys, 'public', JSON.parse(JSON.stringify(p))));
  const thread = qd.readCase(keys, SCHOOL, keys.caseId, rows, SIGNERS);
  assert.deepEqual(thread.messages.map((m) => m.payload.msg_id), [genuine.msg_id]);
  assert.equal(thread.unverified, forged.length);
});

test('a case opened before version 2 opens by its version-1 id, labelled', () => {
  const keys = qd.deriveCase(vectors.cases[0].code);
  const v1 = { v: 1, school: SCHOOL, case_id: b64u(keys.caseIdV1), sent: '2026-11-28T14:05Z', lang: 'en' };
  const rows = [
    sealedRow(keys, 'public', { ...v1, kind: 'report', msg_id: 'AAAAAAAAAAAAAAAAAAAAAA', reply_pk: b64u(keys.replyPublicKey), answers: { what: 'old', safe_now: '', more: '' } }),
    sealedRow(keys, 'student', { ...v1, kind: 'update', msg_id: 'AQAAAAAAAAAAAAAAAAAAAA', text: 'old update' }),
    row('student', qd.newUpdate(keys, keys.caseIdV1, SCHOOL, 'en', [vectors.recipient.public], 'new update', NOW)),
    sealedRow(keys, 'staff', staffPayload(keys, { v: 1 }, STAFF, keys.caseIdV1)),
  ];
  const thread = qd.readCase(keys, SCHOOL, keys.caseIdV1, rows, SIGNERS);
  assert.deepEqual(thread.messages.map((m) => [m.payload.kind, m.recognised]),
    [['report', true], ['update', true], ['update', true], ['reply', true]]);
  assert.deepEqual([thread.unverified, thread.v1], [0, true]);
  // The same rows under the version-2 id: nothing binds.
  assert.equal(qd.readCase(keys, SCHOOL, keys.caseId, rows, SIGNERS).unverified, rows.length);
});

test('a staff reply sealed by libsodium opens with the case code', () => {
  const v = vectors.case_message;
  const keys = qd.deriveCase(v.code.toLowerCase().replace(/-/g, ' '));
  const payload = JSON.parse(v.payload_json);
  const thread = qd.readCase(keys, SCHOOL, bytes(payload.case_id), [v.row, v.row], SIGNERS);
  assert.deepEqual(thread.messages, [{ payload, recognised: true }], 'a replayed message shows once');
  assert.equal(thread.unverified, 0);
});

test('a staff message by an unknown signer, or with a bad signature, shows, not recognised', () => {
  const keys = qd.deriveCase(vectors.cases[0].code);
  const stranger = nacl.sign.keyPair();
  const genuine = staffPayload(keys, {});
  const badSig = { ...staffPayload(keys, {}), text: 'changed after signing' };
  const unknown = staffPayload(keys, { kind: 'receipt' }, stranger);
  const rows = [genuine, badSig, unknown].map((p) => sealedRow(keys, 'staff', p));
  const read = (signers) => qd.readCase(keys, SCHOOL, keys.caseId, rows, signers).messages.map((m) => m.recognised);
  assert.deepEqual(read(SIGNERS), [true, false, false]);
  assert.deepEqual(read([]), [false, false, false]);
  // A previous key counts for messages sent on or before its last day.
  const previous = (until) => [{ key: b64u(STAFF.publicKey), until }];
  assert.deepEqual(read(previous('2026-11-29')), [true, false, false]);
  assert.deepEqual(read(previous('2026-11-28')), [false, false, false]);
  assert.deepEqual(read([...SIGNERS, { key: b64u(stranger.publicKey), until: null }]), [true, false, true]);
});

test('a message from another school, case or route, or tampered, is not shown', () => {
  const v = vectors.case_message;
  const keys = qd.deriveCase(v.code);
  const caseId = bytes(JSON.parse(v.payload_json).case_id);
  const tampered = structuredClone(v.row);
  const ct = bytes(tampered.envelope.ct);
  ct[20] ^= 1;
  tampered.envelope.ct = b64u(ct);
  const rows = [
    tampered,
    { ...v.row, author: 'student' },
    { ...v.row, author: 'public' },
    { ...v.row, envelope: { ...v.row.envelope, school: 'riverside-middle' } },
    { ...v.row, envelope: { ...v.row.envelope, v: 3 } },
    { ...v.row, envelope: null },
  ];
  const thread = qd.readCase(keys, SCHOOL, caseId, rows, SIGNERS);
  assert.deepEqual(thread.messages, []);
  assert.equal(thread.unverified, rows.length);
  const other = qd.deriveCase(vectors.cases[1].code);
  assert.equal(qd.readCase(other, SCHOOL, other.caseId, [v.row], SIGNERS).unverified, 1);
  assert.equal(qd.readCase(keys, 'riverside-middle', caseId, [v.row], SIGNERS).unverified, 1);
  const otherId = caseId.map((b, i) => (i === 0 ? b ^ 1 : b));
  assert.equal(qd.readCase(keys, SCHOOL, otherId, [v.row], SIGNERS).unverified, 1);
});

test('the case headers carry the case ids and the token, not the code', () => {
  const c = vectors.cases[0];
  const keys = qd.deriveCase(c.code);
  assert.deepEqual(qd.lookupHeaders(keys), {
    'X-QD-Case': c.case_id, 'X-QD-Case-V1': c.case_id_v1, Authorization: 'Bearer ' + c.auth_token,
  });
  assert.deepEqual(qd.caseHeaders(keys, keys.caseIdV1), { 'X-QD-Case': c.case_id_v1, Authorization: 'Bearer ' + c.auth_token });
});

test('a report that does not fit 64 KiB is refused before sealing', () => {
  const answers = { what: 'x'.repeat(64 * 1024), safe_now: '', more: '' };
  assert.throws(() => qd.newReport('s', 'en', [vectors.recipient.public], answers, new Date()), { code: 'too_long' });
});
