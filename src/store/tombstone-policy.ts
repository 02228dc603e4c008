// Whether a destroyed session leaves a tombstone, decided once per store (option
// `tombstoneSeconds`), and the arguments the tombstone scripts take. The client layer reads
// it to choose its commands; nothing else asks "are tombstones on?".

export interface TombstonePolicy {
  /** Seconds a tombstone lives; 0 when tombstones are off. */
  readonly seconds: number
  /** True when a destroyed session leaves a tombstone (`seconds` > 0). */
  readonly on: boolean
  /** ARGV for TOMBSTONE_SESSIONS / TOMBSTONE_ON_NODE: its life, and the time of the logout. */
  args(): string[]
}

export function tombstonePolicy(seconds: number): TombstonePolicy {
  const life = `${seconds}`
  return {seconds, on: seconds > 0, args: () => [life, `${Date.now()}`]}
}
