/* Quiet Door envelope, protocol version 2 (docs/PROTOCOL.md); reads version 1 too.
 *
 * Pure functions, no DOM, so the page (app.js) and the node tests run the same
 * code. The file defines one factory that takes the two vendored libraries:
 *
 *   var qd = QuietDoorEnvelope(nacl, blakejs);   // tweetnacl 1.0.3, blakejs 1.2.1
 *
 * No primitive is written here: X25519, Ed25519, XSalsa20-Poly1305 and SHA-512 come from
 * tweetnacl, BLAKE2b from blakejs. crypto_box_seal and crypto_box_seed_keypair
 * are composed from them exactly as libsodium defines them.
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) {
    module.exports = factory;
  } else {
    root.QuietDoorEnvelope = factory;
  }
})(typeof self !== 'undefined' ? self : globalThis, function (nacl, blakejs) {
  'use strict';

  var VERSION = 2;
  var READABLE_VERSIONS = [1, 2]; // 1: written before version 2
  var CASE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  var CASE_CODE_CHARS = 16;
  var MIN_BUCKET = 1024;
  var MAX_BUCKET = 64 * 1024;
  var MAX_KEYS = 33; // up to 32 staff recipients, plus the case's own key
  var MSG_ID_BYTES = 16;
  var SEALED_KEY_BYTES = 80;
  var MAX_TEXT = 20000;
  var B64U = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  var utf8 = new TextEncoder();

  function protocolError(code, message) {
    var error = new Error(message);
    error.name = 'ProtocolError';
    error.code = code;
    return error;
  }

  // --- encodings -------------------------------------------------------------

  function b64uEncode(bytes) {
    var out = '';
    var i = 0;
    for (; i + 2 < bytes.length; i += 3) {
      var n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      out += B64U[n >> 18] + B64U[(n >> 12) & 63] + B64U[(n >> 6) & 63] + B64U[n & 63];
    }
    if (bytes.length - i === 1) {
      out += B64U[bytes[i] >> 2] + B64U[(bytes[i] & 3) << 4];
    } else if (bytes.length - i === 2) {
      var m = (bytes[i] << 8) | bytes[i + 1];
      out += B64U[m >> 10] + B64U[(m >> 4) & 63] + B64U[(m & 15) << 2];
    }
    return out;
  }

  /* Strict: only the base64url alphabet, no padding, canonical trailing bits. */
  function b64uDecode(text) {
    if (typeof text !== 'string' || text.length % 4 === 1) {
      throw protocolError('bad_base64', 'not base64url');
    }
    var out = new Uint8Array(Math.floor((text.length * 3) / 4));
    var bits = 0;
    var value = 0;
    var j = 0;
    for (var i = 0; i < text.length; i++) {
      var digit = B64U.indexOf(text[i]);
      if (digit < 0) throw protocolError('bad_base64', 'not base64url');
      value = ((value << 6) | digit) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[j++] = (value >> bits) & 255;
      }
    }
    if ((value & ((1 << bits) - 1)) !== 0) {
      throw protocolError('bad_base64', 'not canonical base64url');
    }
    return out;
  }

  function concat(a, b) {
    var out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }

  /* A BLAKE2b personalisation: the ASCII label, zero-padded to 16 bytes. */
  function personal(label) {
    var out = new Uint8Array(16);
    out.set(utf8.encode(label));
    return out;
  }

  var PERSON_CASE_ID_V1 = personal('qd1.case_id');
  var PERSON_CASE_ID = personal('qd2.case_id');
  var PERSON_UPDATE_SEED = personal('qd2.update_seed');
  var PERSON_RECORD_ID = personal('qd2.record_id');
  var PERSON_AUTH = personal('qd1.auth');
  var PERSON_AUTH_HASH = personal('qd1.auth_hash');
  var PERSON_REPLY_SEED = personal('qd1.reply_seed');
  var PERSON_KEY_ID = personal('qd1.key_id');
  var STUDENT_LABEL = 'QD2-STUDENT\n';
  var STAFF_LABEL = 'QD1-STAFF\n';

  function blake2b(data, size, person) {
    return blakejs.blake2b(data, undefined, size, undefined, person);
  }

  // --- case codes ------------------------------------------------------------

  /* 16 characters of Crockford base32 (80 bits); 256 is a multiple of 32, so `& 31` is uniform. */
  function newCaseCode() {
    var random = nacl.randomBytes(CASE_CODE_CHARS);
    var code = '';
    for (var i = 0; i < CASE_CODE_CHARS; i++) code += CASE_ALPHABET[random[i] & 31];
    return code;
  }

  /* What a student may type between the characters: spaces of any kind, dashes, dots, underscores. */
  var CODE_SEPARATORS = /[\s\ufeff\-\u2010-\u2015\u2212._]/g;

  /* What a student types back: any case, spaces or dashes, O for 0, I or L for 1. Only ASCII
   * letters and digits count: a non-ASCII letter (an "ı" that upper-cases to "I") is refused. */
  function normaliseCaseCode(text) {
    var cleaned = String(text).replace(CODE_SEPARATORS, '');
    var valid = /^[\x21-\x7e]*$/.test(cleaned);
    cleaned = cleaned.toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1');
    valid = valid && cleaned.length === CASE_CODE_CHARS;
    for (var i = 0; valid && i < cleaned.length; i++) {
      valid = CASE_ALPHABET.indexOf(cleaned[i]) >= 0;
    }
    if (!valid) {
      throw protocolError('bad_code', 'a case code has 16 letters and digits, like 7K3M-Q9XD-2PWA-H4TB');
    }
    return cleaned;
  }

  function formatCaseCode(code) {
    return normaliseCaseCode(code).match(/.{4}/g).join('-');
  }

  /* libsodium's crypto_box_seed_keypair: the secret key is SHA-512(seed)[0..32]. */
  function seedKeyPair(seed) {
    return nacl.box.keyPair.fromSecretKey(nacl.hash(seed).slice(0, 32));
  }

  /* A version-2 case id: bound to the case's two public keys, which only the code gives. */
  function caseIdFor(replyPublic, updatePublic) {
    return blake2b(concat(replyPublic, updatePublic), 16, PERSON_CASE_ID);
  }

  function deriveCase(code) {
    var secret = utf8.encode(normaliseCaseCode(code));
    var token = blake2b(secret, 32, PERSON_AUTH);
    var reply = seedKeyPair(blake2b(secret, 32, PERSON_REPLY_SEED));
    var update = nacl.sign.keyPair.fromSeed(blake2b(secret, 32, PERSON_UPDATE_SEED));
    return {
      caseId: caseIdFor(reply.publicKey, update.publicKey),
      caseIdV1: blake2b(secret, 16, PERSON_CASE_ID_V1),
      authToken: token,
      authHash: blake2b(token, 32, PERSON_AUTH_HASH),
      replyPublicKey: reply.publicKey,
      replySecretKey: reply.secretKey,
      updatePublicKey: update.publicKey,
      updateSecretKey: update.secretKey
    };
  }

  /* A training record's case id: bound to its throwaway key. */
  function recordId(recordPublic) {
    return blake2b(recordPublic, 16, PERSON_RECORD_ID);
  }

  function keyId(x25519Public) {
    return blake2b(x25519Public, 8, PERSON_KEY_ID);
  }

  // --- signatures -----------------------------------------------------------

  /* Canonical JSON, as Python's json.dumps(obj, sort_keys=True, separators=(",", ":"),
   * ensure_ascii=False): keys sorted by code point, strings as JSON.stringify writes them
   * (the same escapes), whole numbers only (the protocol has no floats). */
  function canonicalJson(value) {
    if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
    if (value !== null && typeof value === 'object') {
      return '{' + Object.keys(value).sort(byCodePoint).map(function (name) {
        return JSON.stringify(name) + ':' + canonicalJson(value[name]);
      }).join(',') + '}';
    }
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw protocolError('bad_message', 'a number that is not a whole number');
    }
    if (value === undefined || typeof value === 'function') {
      throw protocolError('bad_message', 'not a JSON value');
    }
    return JSON.stringify(value);
  }

  /* Code-point order (Python's), not UTF-16 order (JavaScript's default). */
  function byCodePoint(a, b) {
    var x = Array.from(a);
    var y = Array.from(b);
    for (var i = 0; i < x.length && i < y.length; i++) {
      var d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d) return d;
    }
    return x.length - y.length;
  }

  /* What a signature covers: a label, then the payload without "sig" as canonical JSON. */
  function signedText(label, payload) {
    var rest = {};
    Object.keys(payload).forEach(function (name) { if (name !== 'sig') rest[name] = payload[name]; });
    return label + canonicalJson(rest);
  }

  /* publicKey: 32 bytes, or their base64url text. */
  function verifies(label, payload, publicKey) {
    try {
      var key = typeof publicKey === 'string' ? b64uDecode(publicKey) : publicKey;
      var sig = b64uDecode(payload.sig);
      return sig.length === 64 && key.length === 32 &&
        nacl.sign.detached.verify(utf8.encode(signedText(label, payload)), sig, key);
    } catch (error) {
      return false;
    }
  }

  // --- padding ---------------------------------------------------------------

  function bucketSize(length) {
    var size = MIN_BUCKET;
    while (size < length + 1) size *= 2;
    if (size > MAX_BUCKET) {
      throw protocolError('too_long', 'the message is too long (' + length + ' bytes; at most ' +
        (MAX_BUCKET - 1) + ')');
    }
    return size;
  }

  /* ISO/IEC 7816-4: 0x80, then zeros up to the bucket size. */
  function pad(data) {
    var out = new Uint8Array(bucketSize(data.length));
    out.set(data);
    out[data.length] = 0x80;
    return out;
  }

  // --- sealing ---------------------------------------------------------------

  /* libsodium's crypto_box_seal: epk || crypto_box(m, BLAKE2b(epk || pk, 24), pk, esk). */
  function sealedBox(message, publicKey) {
    var ephemeral = nacl.box.keyPair();
    var nonce = blake2b(concat(ephemeral.publicKey, publicKey), 24);
    var sealed = concat(ephemeral.publicKey, nacl.box(message, nonce, publicKey, ephemeral.secretKey));
    ephemeral.secretKey.fill(0);
    return sealed;
  }

  function encodePayload(payload) {
    return utf8.encode(JSON.stringify(payload));
  }

  /* A time to the minute, in UTC: 2026-11-28T14:05Z. */
  function minute(date) {
    return date.toISOString().slice(0, 16) + 'Z';
  }

  /* The header every payload starts with: what binds it to its school, case and kind. */
  function header(kind, school, caseId, date) {
    return {
      v: VERSION,
      kind: kind,
      school: school,
      case_id: b64uEncode(caseId),
      msg_id: b64uEncode(nacl.randomBytes(MSG_ID_BYTES)),
      sent: minute(date)
    };
  }

  function withFields(head, fields) {
    Object.keys(fields).forEach(function (name) { head[name] = fields[name]; });
    return head;
  }

  /* Seal a payload to keys (32-byte X25519 public keys, the case's own key among them).
   * options.contentKey and options.nonce exist for the test vectors only. */
  function sealEnvelope(school, payload, keys, options) {
    if (keys.length < 1 || keys.length > MAX_KEYS) {
      throw protocolError('bad_key', 'an envelope is sealed to 1 to ' + MAX_KEYS + ' keys');
    }
    keys.forEach(function (pk) {
      if (pk.length !== 32) throw protocolError('bad_key', 'a public key has 32 bytes');
    });
    var padded = pad(encodePayload(payload));
    var key = (options && options.contentKey) || nacl.randomBytes(nacl.secretbox.keyLength);
    var nonce = (options && options.nonce) || nacl.randomBytes(nacl.secretbox.nonceLength);
    var envelope = {
      v: VERSION,
      school: school,
      nonce: b64uEncode(nonce),
      ct: b64uEncode(nacl.secretbox(padded, nonce, key)),
      keys: keys.map(function (pk) {
        return { to: b64uEncode(keyId(pk)), sealed: b64uEncode(sealedBox(key, pk)) };
      })
    };
    padded.fill(0);
    if (!(options && options.contentKey)) key.fill(0);
    return envelope;
  }

  /* The school's keys (base64url text, as the page carries them) and the case's own key. */
  function caseKeysFor(recipients, caseKeys) {
    return recipients.map(b64uDecode).concat([caseKeys.replyPublicKey]);
  }

  function wipeCase(caseKeys) {
    [caseKeys.authToken, caseKeys.replySecretKey, caseKeys.updateSecretKey, caseKeys.caseId,
      caseKeys.caseIdV1].forEach(function (bytes) { bytes.fill(0); });
  }

  /* A student's first report, {caseCode, body}, body being what POST /api/v1/cases takes.
   * answers is {what, safe_now, more}. */
  function newReport(school, lang, recipients, answers, date) {
    var code = newCaseCode();
    var caseKeys = deriveCase(code);
    var payload = withFields(header('report', school, caseKeys.caseId, date), {
      lang: lang,
      reply_pk: b64uEncode(caseKeys.replyPublicKey),
      update_pk: b64uEncode(caseKeys.updatePublicKey),
      answers: { what: answers.what, safe_now: answers.safe_now, more: answers.more }
    });
    var body = {
      case_id: b64uEncode(caseKeys.caseId),
      auth_hash: b64uEncode(caseKeys.authHash),
      envelope: sealEnvelope(school, payload, caseKeysFor(recipients, caseKeys))
    };
    wipeCase(caseKeys);
    return { caseCode: formatCaseCode(code), body: body };
  }

  /* A staff member's training record: sealed to the school and a throwaway key, whose
   * public half it carries and whose hash is its case id; nobody keeps a code for it. */
  function newTraining(school, recipients, record, date) {
    var throwaway = nacl.box.keyPair();
    throwaway.secretKey.fill(0);
    var token = nacl.randomBytes(32);
    var payload = withFields(header('training', school, recordId(throwaway.publicKey), date), record);
    payload.record_pk = b64uEncode(throwaway.publicKey);
    return {
      case_id: payload.case_id,
      auth_hash: b64uEncode(blake2b(token, 32, PERSON_AUTH_HASH)),
      envelope: sealEnvelope(school, payload, recipients.map(b64uDecode).concat([throwaway.publicKey]))
    };
  }

  /* A student's later message on their case, signed with the case's update key: the envelope
   * that POST /api/v1/case/messages takes. caseId: the id the relay found the case under
   * (the version-1 id for a case opened before version 2). */
  function newUpdate(caseKeys, caseId, school, lang, recipients, text, date) {
    var payload = withFields(header('update', school, caseId, date), { lang: lang, text: text });
    payload.sig = b64uEncode(nacl.sign.detached(utf8.encode(signedText(STUDENT_LABEL, payload)),
      caseKeys.updateSecretKey));
    return sealEnvelope(school, payload, caseKeysFor(recipients, caseKeys));
  }

  /* The headers that prove a student holds the case code: a case id, and the token. */
  function caseHeaders(caseKeys, caseId) {
    return {
      'X-QD-Case': b64uEncode(caseId),
      'Authorization': 'Bearer ' + b64uEncode(caseKeys.authToken)
    };
  }

  /* Reading: the version-2 id, and the version-1 id the relay looks up when the first is not
   * there (one request, one try for the wrong-code throttle). */
  function lookupHeaders(caseKeys) {
    var headers = caseHeaders(caseKeys, caseKeys.caseId);
    headers['X-QD-Case-V1'] = b64uEncode(caseKeys.caseIdV1);
    return headers;
  }

  // --- reading a case --------------------------------------------------------

  /* libsodium's crypto_box_seal_open, composed from tweetnacl's box.open. */
  function openSealedBox(sealed, publicKey, secretKey) {
    if (sealed.length !== SEALED_KEY_BYTES) return null;
    var epk = sealed.subarray(0, 32);
    var nonce = blake2b(concat(epk, publicKey), 24);
    return nacl.box.open(sealed.subarray(32), nonce, epk, secretKey);
  }

  function unpad(padded) {
    var end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end--;
    if (end < 0 || padded[end] !== 0x80) throw protocolError('bad_message', 'bad padding');
    return padded.subarray(0, end);
  }

  var SENT_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\dZ$/;
  var KINDS_FROM = { 'public': ['report'], student: ['update'], staff: ['reply', 'receipt'] };

  function isText(value, limit) {
    return typeof value === 'string' && value.length <= limit;
  }

  function isVersion(value) {
    return READABLE_VERSIONS.indexOf(value) >= 0;
  }

  function sameBytes(a, b) {
    return a.length === b.length && a.every(function (byte, i) { return byte === b[i]; });
  }

  /* The report binds to this code: its keys are the code's, and (version 2) its case id is
   * the hash of both; a version-1 report only in a case the relay found by its version-1 id. */
  function reportBinds(caseKeys, caseId, payload) {
    var a = payload.answers;
    var wellFormed = !!a && isText(a.what, MAX_TEXT) && isText(a.more, MAX_TEXT) &&
      ['yes', 'no', 'unsure', ''].indexOf(a.safe_now) >= 0 &&
      payload.reply_pk === b64uEncode(caseKeys.replyPublicKey);
    if (!wellFormed) return false;
    if (payload.v === 1) return sameBytes(caseId, caseKeys.caseIdV1);
    return payload.update_pk === b64uEncode(caseKeys.updatePublicKey) &&
      payload.case_id === b64uEncode(caseIdFor(b64uDecode(payload.reply_pk), b64uDecode(payload.update_pk)));
  }

  /* An update is the student's: signed with the code's update key (version 2), or, written
   * before version 2, unsigned in a case opened before version 2. */
  function updateIsMine(caseKeys, caseId, payload) {
    if (!isText(payload.text, MAX_TEXT)) return false;
    if (payload.v === 1) return payload.sig === undefined && sameBytes(caseId, caseKeys.caseIdV1);
    return verifies(STUDENT_LABEL, payload, caseKeys.updatePublicKey);
  }

  function staffWellFormed(payload) {
    var from = payload.from;
    return !!from && typeof from === 'object' && isText(from.id, 64) && isText(from.key, 43) &&
      isText(payload.sig, 86) && (payload.kind === 'receipt' || isText(payload.text, MAX_TEXT));
  }

  /* Decrypt and check one message of the student's own case, as the relay listed it
   * ({id, received, author, envelope}); caseId is the id the relay found the case under.
   * Throws a ProtocolError for anything that is not a well-formed message of this case,
   * school and route, or a student's message the code's keys do not prove; never returns
   * half a message. A staff message's signer is checked by readCase. */
  function openCaseMessage(caseKeys, school, caseId, row) {
    var env = row && row.envelope;
    if (!env || !isVersion(env.v) || env.school !== school || !Array.isArray(env.keys)) {
      throw protocolError('bad_message', 'not an envelope of this school');
    }
    var mine = b64uEncode(keyId(caseKeys.replyPublicKey));
    var sealed = env.keys.filter(function (k) { return k && k.to === mine; })[0];
    if (!sealed) throw protocolError('bad_message', 'not sealed to this case');
    var contentKey = openSealedBox(b64uDecode(sealed.sealed), caseKeys.replyPublicKey,
      caseKeys.replySecretKey);
    var padded = contentKey && nacl.secretbox.open(b64uDecode(env.ct), b64uDecode(env.nonce), contentKey);
    if (!padded) throw protocolError('bad_message', 'cannot decrypt: damaged');
    var payload;
    try {
      payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(unpad(padded)));
    } catch (error) {
      throw protocolError('bad_message', 'the payload is not JSON');
    }
    var allowed = KINDS_FROM[row.author] || [];
    var ok = payload && typeof payload === 'object' && isVersion(payload.v) &&
      allowed.indexOf(payload.kind) >= 0 && payload.school === school &&
      payload.case_id === b64uEncode(caseId) && isText(payload.msg_id, 32) &&
      typeof payload.sent === 'string' && SENT_RE.test(payload.sent);
    if (ok && payload.kind === 'report') ok = reportBinds(caseKeys, caseId, payload);
    else if (ok && payload.kind === 'update') ok = updateIsMine(caseKeys, caseId, payload);
    else if (ok) ok = staffWellFormed(payload);
    if (!ok) throw protocolError('bad_message', 'not a message of this case');
    return payload;
  }

  /* signers: the school's staff keys as the page carries them, [{key, until}]. A staff
   * message counts as the school's if its signature verifies with its key and the key is
   * listed, current (until null) or on or before its last day. */
  function signedBySchool(payload, signers) {
    var day = payload.sent.slice(0, 10);
    var listed = signers.some(function (s) {
      return s.key === payload.from.key && (s.until === null || day <= s.until);
    });
    return listed && verifies(STAFF_LABEL, payload, payload.from.key);
  }

  /* The whole thread, the case the relay found it under (caseId) and the school's signers:
   * {messages: [{payload, recognised}] in the order written, each once; unverified: how many
   * were hidden; v1: the case was opened before version 2}. A staff message whose signer is
   * not recognised is kept, with recognised false; a second report is hidden. */
  function readCase(caseKeys, school, caseId, rows, signers) {
    var seen = {};
    var messages = [];
    var unverified = 0;
    var reported = false;
    rows.forEach(function (row, index) {
      var payload;
      try {
        payload = openCaseMessage(caseKeys, school, caseId, row);
      } catch (error) {
        unverified++;
        return;
      }
      if (seen[payload.msg_id]) return;
      seen[payload.msg_id] = true;
      if (payload.kind === 'report' && reported) {
        unverified++;
        return;
      }
      reported = reported || payload.kind === 'report';
      var staff = KINDS_FROM.staff.indexOf(payload.kind) >= 0;
      messages.push({
        payload: payload,
        recognised: !staff || signedBySchool(payload, signers),
        index: index
      });
    });
    messages.sort(function (a, b) {
      return a.payload.sent < b.payload.sent ? -1 : a.payload.sent > b.payload.sent ? 1 : a.index - b.index;
    });
    return {
      messages: messages.map(function (m) { return { payload: m.payload, recognised: m.recognised }; }),
      unverified: unverified,
      v1: sameBytes(caseId, caseKeys.caseIdV1)
    };
  }

  return {
    b64uEncode: b64uEncode,
    b64uDecode: b64uDecode,
    newCaseCode: newCaseCode,
    normaliseCaseCode: normaliseCaseCode,
    formatCaseCode: formatCaseCode,
    deriveCase: deriveCase,
    caseIdFor: caseIdFor,
    recordId: recordId,
    keyId: keyId,
    canonicalJson: canonicalJson,
    signedText: signedText,
    bucketSize: bucketSize,
    pad: pad,
    sealedBox: sealedBox,
    openSealedBox: openSealedBox,
    encodePayload: encodePayload,
    sealEnvelope: sealEnvelope,
    newReport: newReport,
    newTraining: newTraining,
    newUpdate: newUpdate,
    caseHeaders: caseHeaders,
    lookupHeaders: lookupHeaders,
    openCaseMessage: openCaseMessage,
    readCase: readCase
  };
});
