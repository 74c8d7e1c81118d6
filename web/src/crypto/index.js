// @ts-check
/* The web app's cryptography: the formats of src/crypto/seal.c, byte for byte,
 * on libsodium (libsodium-wrappers-sumo: the sumo build has crypto_pwhash).
 * Plain JavaScript with JSDoc types so that node --test runs it as it is
 * (tests/web/crypto.test.mjs checks it against tests/vectors/seal.json and the CLI).
 *
 *   record   01 || nonce(24) || XChaCha20-Poly1305-IETF(key, nonce, AD, plain) || tag(16)
 *            AD = "arca.record.v1" 00 project 00 environment 00 path 00 key 00 field
 *            field = "value" | "comment" | "personal:<owner>:value" | ...
 *   box      the record format with AD "arca.box.v1" 00 label (a private key under a KEK,
 *            a project key under a service token's key)
 *   password Argon2id v1.3 -> 64 bytes: [0,32) auth key (sent), [32,64) KEK (kept)
 *   secret   BLAKE2b-512, personal "arca-secret-kdf\0": the same split for random secrets
 *   wrap     crypto_box_seal of a project key to a member's X25519 public key
 *
 * Nothing here keeps state but the loaded library; callers hold keys in memory only. */
import sodiumModule from 'libsodium-wrappers-sumo';

/** @type {any} */
let S = null;

/** Loads libsodium (WebAssembly); every other function needs it done. */
export async function ready() {
    if (!S) {
        await sodiumModule.ready;
        S = sodiumModule;
    }
    return S;
}

function lib() {
    if (!S) throw new Error('crypto used before ready()');
    return S;
}

export const KEY_BYTES = 32;
export const SALT_BYTES = 16;
export const NONCE_BYTES = 24;
export const RECORD_OVERHEAD = 41;
export const KDF_OPSLIMIT = 3;
export const KDF_MEMLIMIT = 64 * 1024 * 1024;
export const USER_PRIVATE_KEY_LABEL = 'user-private-key';
export const IDENTITY_PRIVATE_KEY_LABEL = 'identity-private-key';
export const SERVICE_TOKEN_LABEL = 'service-token';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** @param {string} s */
export const utf8 = (s) => enc.encode(s);
/** @param {Uint8Array} b */
export const fromUtf8 = (b) => dec.decode(b);

/** @param {Uint8Array} b */
export function toB64(b) {
    return lib().to_base64(b, lib().base64_variants.ORIGINAL);
}
/** @param {string} s */
export function fromB64(s) {
    return lib().from_base64(s, lib().base64_variants.ORIGINAL);
}
/** @param {Uint8Array} b */
export function toHex(b) {
    return lib().to_hex(b);
}
/** @param {string} s */
export function fromHex(s) {
    return lib().from_hex(s);
}
/** @param {number} n */
export function random(n) {
    return lib().randombytes_buf(n);
}
/** Overwrites key material the caller is done with. @param {Uint8Array | null | undefined} b */
export function wipe(b) {
    if (b) lib().memzero(b);
}

/** Parts joined by one 0x00, none after the last: UTF-8 of the joined string is
 * the parts' UTF-8 joined by 0x00 (a lone surrogate turns into U+FFFD either
 * way), in one encoder call, not one a part (a grid opens thousands).
 * @param {string[]} parts */
function joinAd(parts) {
    return utf8(parts.join('\0'));
}

/**
 * @typedef {{projectId: string, environment: string, path: string, key: string, field: string}} RecordAd
 */

/** The AD field of a record: field, or "personal:<owner>:<field>" for an override.
 * @param {string | null | undefined} owner @param {string} field */
export function adField(owner, field) {
    return owner ? `personal:${owner}:${field}` : field;
}

/** @param {RecordAd} a */
export function recordAd(a) {
    for (const k of /** @type {const} */ (['projectId', 'environment', 'path', 'key', 'field']))
        if (typeof a[k] !== 'string') throw new Error(`record AD: ${k} missing`);
    return joinAd(['arca.record.v1', a.projectId, a.environment, a.path, a.key, a.field]);
}

/** @param {string} label */
export function boxAd(label) {
    return joinAd(['arca.box.v1', label]);
}

/** @param {Uint8Array} key @param {Uint8Array} ad @param {Uint8Array} plain @param {Uint8Array} [nonce] */
function seal(key, ad, plain, nonce) {
    const s = lib();
    const n = nonce || s.randombytes_buf(NONCE_BYTES);
    const c = s.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, null, n, key);
    const out = new Uint8Array(1 + NONCE_BYTES + c.length);
    out[0] = 0x01;
    out.set(n, 1);
    out.set(c, 1 + NONCE_BYTES);
    return out;
}

/** @param {Uint8Array} key @param {Uint8Array} ad @param {Uint8Array} rec */
function open(key, ad, rec) {
    if (rec.length < RECORD_OVERHEAD || rec[0] !== 0x01) throw new Error('malformed record');
    return lib().crypto_aead_xchacha20poly1305_ietf_decrypt(
        null,
        rec.subarray(1 + NONCE_BYTES),
        ad,
        rec.subarray(1, 1 + NONCE_BYTES),
        key,
    );
}

/** Seals a value (or comment) of a secret.
 * @param {Uint8Array} key @param {RecordAd} ad @param {string | Uint8Array} plain @param {Uint8Array} [nonce] */
export function recordEncrypt(key, ad, plain, nonce) {
    return seal(key, recordAd(ad), typeof plain === 'string' ? utf8(plain) : plain, nonce);
}

/** Opens a record into its bytes; throws when it was tampered with or moved.
 * @param {Uint8Array} key @param {RecordAd} ad @param {Uint8Array} rec */
export function recordDecrypt(key, ad, rec) {
    return open(key, recordAd(ad), rec);
}

/** Opens a base64 record into text (a NUL byte is refused, as libarca does).
 * @param {Uint8Array} key @param {RecordAd} ad @param {string} b64 */
export function recordOpenText(key, ad, b64) {
    const plain = recordDecrypt(key, ad, fromB64(b64));
    if (plain.includes(0)) throw new Error('value holds a NUL byte');
    return fromUtf8(plain);
}

/** @param {Uint8Array} key @param {RecordAd} ad @param {string} text */
export function recordSealText(key, ad, text) {
    return toB64(recordEncrypt(key, ad, text));
}

/** @param {Uint8Array} key @param {string} label @param {Uint8Array} plain @param {Uint8Array} [nonce] */
export function box(key, label, plain, nonce) {
    return seal(key, boxAd(label), plain, nonce);
}

/** @param {Uint8Array} key @param {string} label @param {Uint8Array} sealed */
export function unbox(key, label, sealed) {
    return open(key, boxAd(label), sealed);
}

/** Argon2id of a password split into the auth key (sent) and the KEK (kept).
 * Refuses parameters a client must not accept from a server (seal_kdf_params_ok).
 * @param {string | Uint8Array} password @param {Uint8Array} salt @param {number} opslimit @param {number} memlimit */
export function passwordDerive(password, salt, opslimit, memlimit) {
    if (!(opslimit >= 1 && opslimit <= 10 && memlimit >= 8 << 20 && memlimit <= 1 << 30))
        throw new Error('the server asked for unsafe key-derivation parameters');
    const s = lib();
    const out = s.crypto_pwhash(
        64,
        typeof password === 'string' ? utf8(password) : password,
        salt,
        opslimit,
        memlimit,
        s.crypto_pwhash_ALG_ARGON2ID13,
    );
    const r = { authKey: out.slice(0, 32), kek: out.slice(32, 64) };
    wipe(out);
    return r;
}

/** @param {string} s 15 ASCII characters, NUL-terminated to 16 bytes */
function personal(s) {
    const p = new Uint8Array(16);
    p.set(utf8(s));
    return p;
}

/**
 * BLAKE2b of a message with a personal string and a zero salt, as
 * crypto_generichash_blake2b_salt_personal in C: the wrapper of that name
 * hashes an empty message only, so this calls libsodium's export directly.
 * @param {number} outlen @param {Uint8Array} message @param {string} person
 */
function blake2bPersonal(outlen, message, person) {
    const raw = lib().libsodium;
    const size = outlen + message.length + 32;
    const base = raw._malloc(size);
    if (!base) throw new Error('out of memory');
    const out = base, msg = base + outlen, salt = msg + message.length, pers = salt + 16;
    try {
        raw.HEAPU8.set(message, msg);
        raw.HEAPU8.fill(0, salt, salt + 16);
        raw.HEAPU8.set(personal(person), pers);
        if (raw._crypto_generichash_blake2b_salt_personal(out, outlen, msg, message.length, 0,
            0, 0, salt, pers) !== 0)
            throw new Error('blake2b failed');
        return raw.HEAPU8.slice(out, out + outlen);
    } finally {
        raw.HEAPU8.fill(0, base, base + size);
        raw._free(base);
    }
}

/** BLAKE2b split of a random secret (a machine identity's client secret).
 * @param {Uint8Array} secret */
export function secretDerive(secret) {
    const out = blake2bPersonal(64, secret, 'arca-secret-kdf');
    const r = { authKey: out.slice(0, 32), kek: out.slice(32, 64) };
    wipe(out);
    return r;
}

/** @param {string} token */
export function tokenHash(token) {
    return blake2bPersonal(32, utf8(token), 'arca-token-hash');
}

/** @param {Uint8Array} key @param {Uint8Array} data */
export function keyedHash(key, data) {
    return lib().crypto_generichash(32, data, key);
}

/** @returns {{publicKey: Uint8Array, privateKey: Uint8Array}} */
export function keypairNew() {
    return lib().crypto_box_keypair();
}

/** @param {Uint8Array} seed */
export function keypairFromSeed(seed) {
    return lib().crypto_box_seed_keypair(seed);
}

/** Seals a key to a member's public key (80 bytes for a project key).
 * @param {Uint8Array} publicKey @param {Uint8Array} key */
export function wrap(publicKey, key) {
    return lib().crypto_box_seal(key, publicKey);
}

/** @param {Uint8Array} publicKey @param {Uint8Array} privateKey @param {Uint8Array} wrapped */
export function unwrap(publicKey, privateKey, wrapped) {
    return lib().crypto_box_seal_open(wrapped, publicKey, privateKey);
}

/** True if the private key belongs to the public key (a server must not swap one).
 * @param {Uint8Array} publicKey @param {Uint8Array} privateKey */
export function keypairMatches(publicKey, privateKey) {
    return toHex(lib().crypto_scalarmult_base(privateKey)) === toHex(publicKey);
}

/**
 * A short keyed fingerprint of a value, the same in every environment of a
 * project, so the overview shows which values differ without showing them.
 * Keyed by a key derived from the project key (fingerprintKey): the server,
 * which never has it for an end-to-end project, cannot test guesses.
 * @param {Uint8Array} projectKey
 */
export function fingerprintKey(projectKey) {
    return lib().crypto_generichash(32, utf8('arca.web.fingerprint.v1'), projectKey);
}

/** 7 characters (5 bytes, base64url) of BLAKE2b(fk; path 00 key 00 value).
 * @param {Uint8Array} fk from fingerprintKey @param {string} path @param {string} key @param {string} value */
export function fingerprint(fk, path, key, value) {
    const s = lib();
    return s.to_base64(s.crypto_generichash(5, joinAd([path, key, value]), fk), s.base64_variants.URLSAFE_NO_PADDING);
}

/** Share links (docs/api.md): the access key an opener shows the server and the
 * key the value's box is sealed under; with a password, the content key is
 * keyed again by the password's KEK (seal_share_keys).
 * @param {Uint8Array} linkKey @param {Uint8Array | null} [kek] */
export function shareKeys(linkKey, kek) {
    const s = lib();
    const access = s.crypto_generichash(32, utf8('arca.share.access.v1'), linkKey);
    let content = s.crypto_generichash(32, utf8('arca.share.content.v1'), linkKey);
    if (kek) {
        const k = s.crypto_generichash(32, content, kek);
        wipe(content);
        content = k;
    }
    return { access, content };
}

/** @param {string} s base64url without padding */
export function fromB64url(s) {
    return lib().from_base64(s, lib().base64_variants.URLSAFE_NO_PADDING);
}

/** @param {Uint8Array} b base64url without padding (share ids and link keys) */
export function toB64url(b) {
    return lib().to_base64(b, lib().base64_variants.URLSAFE_NO_PADDING);
}
