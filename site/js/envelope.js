/* Quiet Door envelope, protocol version 1 (docs/PROTOCOL.md).
 *
 * Pure functions, no DOM, so the page (app.js) and the node tests run the same
 * code. The file defines one factory that takes the two vendored libraries:
 *
 *   var qd = QuietDoorEnvelope(nacl, blakejs);   // tweetnacl 1.0.3, blakejs 1.2.1
 *
 * No primitive is written here: X25519, XSalsa20-Poly1305 and SHA-512 come from
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

  var VERSION = 1;
  var CASE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  var CASE_CODE_CHARS = 16;
  var MIN_BUCKET = 1024;
  var MAX_BUCKET = 64 * 1024;
  var MAX_RECIPIENTS = 32;
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

  var PERSON_CASE_ID = personal('qd1.case_id');
  var PERSON_AUTH = personal('qd1.auth');
  var PERSON_AUTH_HASH = personal('qd1.auth_hash');
  var PERSON_REPLY_SEED = personal('qd1.reply_seed');
  var PERSON_KEY_ID = personal('qd1.key_id');

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

  /* What a student types back: any case, spaces or dashes, O for 0, I or L for 1. */
  function normaliseCaseCode(text) {
    var cleaned = String(text).toUpperCase().replace(/[- ]/g, '')
      .replace(/O/g, '0').replace(/[IL]/g, '1');
    var valid = cleaned.length === CASE_CODE_CHARS;
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

  function deriveCase(code) {
    var secret = utf8.encode(normaliseCaseCode(code));
    var token = blake2b(secret, 32, PERSON_AUTH);
    var reply = seedKeyPair(blake2b(secret, 32, PERSON_REPLY_SEED));
    return {
      caseId: blake2b(secret, 16, PERSON_CASE_ID),
      authToken: token,
      authHash: blake2b(token, 32, PERSON_AUTH_HASH),
      replyPublicKey: reply.publicKey,
      replySecretKey: reply.secretKey
    };
  }

  function keyId(x25519Public) {
    return blake2b(x25519Public, 8, PERSON_KEY_ID);
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

  /* The device's time to the minute, in UTC: 2026-11-28T14:05Z. */
  function writtenAt(date) {
    return date.toISOString().slice(0, 16) + 'Z';
  }

  function reportPayload(lang, date, replyPublicKey, answers) {
    return {
      type: 'report',
      lang: lang,
      written: writtenAt(date),
      reply_pk: b64uEncode(replyPublicKey),
      answers: { what: answers.what, safe_now: answers.safe_now, more: answers.more }
    };
  }

  /* options.contentKey and options.nonce exist for the test vectors only. */
  function sealEnvelope(school, payload, recipients, caseKeys, options) {
    if (recipients.length < 1 || recipients.length > MAX_RECIPIENTS) {
      throw protocolError('bad_key', 'a school has 1 to ' + MAX_RECIPIENTS + ' recipients');
    }
    recipients.forEach(function (pk) {
      if (pk.length !== 32) throw protocolError('bad_key', 'a recipient key has 32 bytes');
    });
    var padded = pad(encodePayload(payload));
    var key = (options && options.contentKey) || nacl.randomBytes(nacl.secretbox.keyLength);
    var nonce = (options && options.nonce) || nacl.randomBytes(nacl.secretbox.nonceLength);
    var envelope = {
      v: VERSION,
      school: school,
      case_id: b64uEncode(caseKeys.caseId),
      auth_hash: b64uEncode(caseKeys.authHash),
      nonce: b64uEncode(nonce),
      ct: b64uEncode(nacl.secretbox(padded, nonce, key)),
      keys: recipients.map(function (pk) {
        return { to: b64uEncode(keyId(pk)), sealed: b64uEncode(sealedBox(key, pk)) };
      })
    };
    padded.fill(0);
    return envelope;
  }

  /* A first report on a new case: returns the case code to show and the envelope to post.
   * recipients are base64url X25519 public keys; answers is {what, safe_now, more}. */
  function newReport(school, lang, recipients, answers, date) {
    var code = newCaseCode();
    var caseKeys = deriveCase(code);
    var payload = reportPayload(lang, date, caseKeys.replyPublicKey, answers);
    var envelope = sealEnvelope(school, payload, recipients.map(b64uDecode), caseKeys);
    caseKeys.replySecretKey.fill(0);
    return { caseCode: formatCaseCode(code), envelope: envelope };
  }

  return {
    b64uEncode: b64uEncode,
    b64uDecode: b64uDecode,
    newCaseCode: newCaseCode,
    normaliseCaseCode: normaliseCaseCode,
    formatCaseCode: formatCaseCode,
    deriveCase: deriveCase,
    keyId: keyId,
    bucketSize: bucketSize,
    pad: pad,
    sealedBox: sealedBox,
    encodePayload: encodePayload,
    sealEnvelope: sealEnvelope,
    newReport: newReport
  };
});
