// The cluster layer, written once for every client family: keys grouped by hash slot, a SCAN
// batch's work sent as one script to the master it came from (Redis 7), the masters scanned
// side by side, and PING on every master with a nudge to the client when one is gone. A
// family supplies only its dialect (ClusterDialect): how to send a command through the
// cluster client or to one node, how to list the masters, and how to make it look again.

import {isRedirection} from "../errors.js"
import {crossSlotBatches, interleave, scanEndpoint, toValues} from "./families/shared.js"
import {type LuaScript, READ_ON_NODE} from "./scripts.js"
import {groupBySlot, type SlotGroup} from "./slots.js"
import type {FamilyCommands} from "./types.js"

/**
 * Multi-key commands on one target: a node of the cluster (keys as the server stores them,
 * client prefix included) or the cluster client (keys as the store names them; it routes
 * them, adds its prefix and follows MOVED and ASK). The keys of one call share a slot.
 */
export interface NodeCommands {
  mget(storedKeys: string[]): Promise<unknown[]>
  unlink(storedKeys: string[]): Promise<unknown>
  eval(script: LuaScript, storedKeys: readonly string[], args: readonly string[]): Promise<unknown>
}

/** What one family says about its cluster client; every command applies the time bound. */
export interface ClusterDialect<Node> {
  /** The client's own key prefix ("" when none): the server hashes and scans keys with it. */
  readonly clientPrefix: string
  /**
   * True when a slot group of a SCAN batch may go straight to the node the batch came from
   * (cheaper on node-redis; a group whose slot moved meanwhile then goes through the
   * cluster). False: slot groups always go through the cluster client.
   */
  readonly slotGroupsOnNode: boolean
  /** The same commands through the cluster client. */
  readonly cluster: NodeCommands
  /** The node a SCAN batch came from (its `source`), when `writes` (or reads) may go to it now. */
  nodeOf(source: unknown, writes: boolean): NodeCommands | undefined
  /** Every master that serves slots, as the client knows them now. */
  masters(): Promise<Node[]>
  scan(node: Node, cursor: string, match: string, count: number): Promise<ScanReply>
  ping(node: Node): Promise<unknown>
  /**
   * Some master did not answer (`answered[i]` for `masters[i]`; both empty when the masters
   * could not even be listed): make the client look for a promoted replica.
   */
  recover(masters: Node[], answered: boolean[]): Promise<void>
}

export interface ScanReply {
  cursor: unknown
  keys: unknown[]
}

type ClusterCommands = Pick<
  FamilyCommands,
  "mget" | "unlink" | "runScriptPerSlot" | "scan" | "ping"
>

export function clusterCommands<Node>(dialect: ClusterDialect<Node>): ClusterCommands {
  const {clientPrefix} = dialect
  // The slot is computed from the key the server sees, client prefix included.
  const serverKey = (key: string) => clientPrefix + key
  const stored = (keys: readonly string[]) =>
    clientPrefix === "" ? [...keys] : keys.map(serverKey)
  const wholeBatch = crossSlotBatches()

  /**
   * Runs a command once per slot group of `keys`: on the batch's own node when the dialect
   * allows (keys as stored; through the cluster if the slot has moved since), else through
   * the cluster client.
   */
  function perSlot<T>(
    keys: readonly string[],
    source: unknown,
    writes: boolean,
    viaCluster: (keys: string[]) => Promise<T>,
    viaNode: (node: NodeCommands, storedKeys: string[]) => Promise<T>,
  ): Promise<{group: SlotGroup; reply: T}[]> {
    const node = dialect.slotGroupsOnNode ? dialect.nodeOf(source, writes) : undefined
    return Promise.all(
      Array.from(groupBySlot(keys, serverKey), async (group) => {
        if (node === undefined) return {group, reply: await viaCluster(group.keys)}
        try {
          return {group, reply: await viaNode(node, stored(group.keys))}
        } catch (error) {
          if (!isRedirection(error)) throw error
          return {group, reply: await viaCluster(group.keys)}
        }
      }),
    )
  }

  /**
   * Runs an on-node `script` (keys after `args`, in ARGV, where no client prefix is added)
   * once over a whole SCAN batch on the master it came from; undefined when that cannot be
   * done (no such node, a slot moved, a server before Redis 7): the caller goes slot by slot.
   */
  async function onNodeAtOnce(
    keys: readonly string[],
    source: unknown,
    script: LuaScript,
    args: readonly string[],
    writes: boolean,
  ): Promise<{reply: unknown} | undefined> {
    const node = dialect.nodeOf(source, writes)
    if (node === undefined) return undefined
    return wholeBatch(() => node.eval(script, [], [...args, ...stored(keys)]))
  }

  return {
    async mget(keys, source) {
      const whole = await onNodeAtOnce(keys, source, READ_ON_NODE, [], false)
      if (whole !== undefined) return toValues(whole.reply as unknown[])
      const values: (string | null)[] = new Array(keys.length).fill(null)
      const groups = await perSlot(
        keys,
        source,
        false,
        (slotKeys) => dialect.cluster.mget(slotKeys),
        (node, slotKeys) => node.mget(slotKeys),
      )
      for (const {group, reply} of groups) {
        const groupValues = toValues(reply)
        group.positions.forEach((position, i) => {
          values[position] = groupValues[i] ?? null
        })
      }
      return values
    },
    async unlink(keys, source) {
      const groups = await perSlot(
        keys,
        source,
        true,
        (slotKeys) => dialect.cluster.unlink(slotKeys),
        (node, slotKeys) => node.unlink(slotKeys),
      )
      return groups.reduce((sum, {reply}) => sum + Number(reply), 0)
    },
    async runScriptPerSlot(script, keys, args, source, onNode) {
      const whole = onNode && (await onNodeAtOnce(keys, source, onNode, args, true))
      if (whole !== undefined) return [whole.reply]
      const groups = await perSlot(
        keys,
        source,
        true,
        (slotKeys) => dialect.cluster.eval(script, slotKeys, args),
        (node, slotKeys) => node.eval(script, slotKeys, args),
      )
      return groups.map(({reply}) => reply)
    },
    async *scan(prefix, count) {
      // A snapshot: a failover during the walk is not followed (SCAN gives no promise then).
      const nodes = await dialect.masters()
      yield* interleave(
        nodes.map((node) =>
          scanEndpoint(
            (cursor, match) => dialect.scan(node, cursor, match, count),
            node,
            clientPrefix,
            prefix,
          ),
        ),
      )
    },
    // The store can serve every session only when every master answers.
    async ping() {
      let nodes: Node[] = []
      let answered: boolean[] = []
      try {
        nodes = await dialect.masters()
        const answers = await Promise.allSettled(nodes.map((node) => dialect.ping(node)))
        answered = answers.map((answer) => answer.status === "fulfilled")
        const failed = answers.find((answer) => answer.status === "rejected")
        if (failed !== undefined) throw failed.reason
      } catch (error) {
        // A master is gone: if a replica took its slots, a client that looks again finds it.
        await dialect.recover(nodes, answered)
        throw error
      }
    },
  }
}
