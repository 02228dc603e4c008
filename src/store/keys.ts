// Key layout: every session lives at `prefix + sid`, exactly as connect-redis lays it out,
// so data written by connect-redis is read as is.

/**
 * Escapes the characters SCAN MATCH treats as a glob (`* ? [ ] \`), so that a prefix such
 * as `app[1]:` or `s*` matches only keys that really start with it.
 */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&")
}

/** The SCAN MATCH pattern for every key that starts with `prefix`. */
export function prefixPattern(prefix: string): string {
  return `${escapeGlob(prefix)}*`
}

/** A sid comes from a cookie: anything but a non-empty string is a caller's bug. */
export function assertSid(sid: unknown): asserts sid is string {
  if (typeof sid !== "string" || sid.length === 0) throw sidError(sid)
}

export function sidError(sid: unknown): TypeError {
  return new TypeError(`A session id must be a non-empty string; got ${describeValue(sid)}`)
}

/** A short, safe description of a value for error messages (never the value itself). */
export function describeValue(value: unknown): string {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  if (typeof value === "string") return value.length === 0 ? "an empty string" : "a string"
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : `the number ${value}`
  if (typeof value === "object") return "an object"
  return `a ${typeof value}`
}
