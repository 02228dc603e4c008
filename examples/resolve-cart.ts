// A `resolveConflict` for a cart held as an array of lines (docs/concurrent-writes.md).
//
// Two requests that both changed `cart` (one added a book, the other changed the pen's
// quantity) are merged line by line, the same three-way way the store merges fields: a line
// this request changed (added, changed or removed) is this request's, any other line is as
// the other request left it.
//
//   new RedisStore({client, resolveConflict: resolveCart})

import type {ResolveConflict} from "../src/index.js"

export interface CartLine {
  sku: string
  qty: number
}

export const resolveCart: ResolveConflict = (field, {base, mine, theirs}) => {
  if (field !== "cart") return mine
  const [before, ours, others] = [linesBySku(base), linesBySku(mine), linesBySku(theirs)]
  const cart: CartLine[] = []
  for (const sku of new Set([...before.keys(), ...ours.keys(), ...others.keys()])) {
    const changedHere = JSON.stringify(ours.get(sku)) !== JSON.stringify(before.get(sku))
    const line = changedHere ? ours.get(sku) : others.get(sku)
    if (line !== undefined) cart.push(line)
  }
  return cart
}

function linesBySku(cart: unknown): Map<string, CartLine> {
  const lines = Array.isArray(cart) ? (cart as CartLine[]) : []
  return new Map(lines.map((line) => [line.sku, line]))
}
