// Encryption at rest: a serializer that stores sessions as AES-256-GCM ciphertext (node:crypto).
// GCM authenticates: a value that was tampered with, or written under another secret, fails
// to decrypt and is then read like any unreadable value ("no session" and a "corrupt"
// event), never as data.

import {createCipheriv, createDecipheriv, hkdfSync, randomBytes} from "node:crypto"
import type {SessionData} from "express-session"
import type {Serializer} from "./options.js"

export interface EncryptedSerializerOptions {
  /**
   * Secrets to derive keys from, each at least 32 characters. The first encrypts and must be
   * set; any of them decrypts, so a new secret goes first and the old one stays until old
   * values expire. A later entry that is undefined (an old key's variable not set) is skipped.
   * @example encryptedSerializer({secrets: [process.env.SESSION_KEY_NEW, process.env.SESSION_KEY_OLD]})
   */
  secrets: readonly (string | undefined)[]
  /**
   * What turns a session into text before encryption, and back after.
   * @default JSON
   */
  serializer?: Serializer | undefined
}

/** Marks our ciphertext: the format's version, so that it can change without guessing. */
const MARK = "rss-aes256gcm:"
const IV_BYTES = 12
const TAG_BYTES = 16
const MIN_SECRET_LENGTH = 32

export function encryptedSerializer(options: EncryptedSerializerOptions): Serializer {
  const secrets: unknown = (options as Partial<EncryptedSerializerOptions> | undefined)?.secrets
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new TypeError("encryptedSerializer needs secrets: a non-empty array of strings")
  }
  if (secrets[0] === undefined) {
    throw new TypeError(
      "encryptedSerializer secrets[0], the secret that encrypts, is undefined (is its environment variable set?)",
    )
  }
  // Later entries may be missing: an old key that is not set (any more, or yet).
  const given = secrets.flatMap((secret: unknown, i) => (secret === undefined ? [] : [{secret, i}]))
  const keys = given.map(({secret, i}) => {
    if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) {
      // Never the secret itself in the message.
      throw new TypeError(
        `encryptedSerializer secrets[${i}] must be a string of at least ${MIN_SECRET_LENGTH} characters`,
      )
    }
    return Buffer.from(hkdfSync("sha256", secret, "redis-session-store", "aes-256-gcm", 32))
  })
  const inner = options.serializer ?? JSON
  const [current] = keys as [Buffer, ...Buffer[]]

  return {
    async stringify(session: SessionData): Promise<string> {
      const plain = await inner.stringify(session)
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv("aes-256-gcm", current, iv)
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()])
      return MARK + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")
    },
    parse(text: string): SessionData | Promise<SessionData> {
      if (!text.startsWith(MARK)) throw new Error("the value is not encrypted by this store")
      const raw = Buffer.from(text.slice(MARK.length), "base64")
      if (raw.length < IV_BYTES + TAG_BYTES) throw new Error("the encrypted value is truncated")
      const iv = raw.subarray(0, IV_BYTES)
      const tag = raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES)
      const body = raw.subarray(IV_BYTES + TAG_BYTES)
      const plain = decrypt(keys, iv, tag, body)
      if (plain !== undefined) return inner.parse(plain)
      throw new Error(
        "the value does not decrypt with any of the secrets (tampered, or another key)",
      )
    },
  }
}

/** The plaintext, or undefined when no key authenticates the value. */
function decrypt(keys: Buffer[], iv: Buffer, tag: Buffer, body: Buffer): string | undefined {
  for (const key of keys) {
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, iv)
      decipher.setAuthTag(tag)
      return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8")
    } catch {
      // Not this key (or tampered with): try the next one.
    }
  }
  return undefined
}
