import calculateSlot from "cluster-key-slot"

/** Keys that share a hash slot, with where each stood in the original list. */
export interface SlotGroup {
  keys: string[]
  positions: number[]
}

/**
 * Groups keys by hash slot so that no multi-key command crosses slots (CROSSSLOT).
 * `slotKey` maps a key to the name the server hashes (the client's own prefix included).
 */
export function groupBySlot(
  keys: readonly string[],
  slotKey: (key: string) => string,
): Iterable<SlotGroup> {
  const groups = new Map<number, SlotGroup>()
  keys.forEach((key, position) => {
    const slot = calculateSlot(slotKey(key))
    const group = groups.get(slot)
    if (group) {
      group.keys.push(key)
      group.positions.push(position)
    } else {
      groups.set(slot, {keys: [key], positions: [position]})
    }
  })
  return groups.values()
}
