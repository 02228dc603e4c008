// The commands of one endpoint (a client, a sentinel's master, a cluster's node, or a cluster
// for its single-key commands), written once over a family's dialect: the time bound, the
// tombstone guard on reads and writes, EVALSHA with EVAL on NOSCRIPT, SCAN walks. A family
// says only how each command is spelled on its client (CommandDialect).

import type {OperationTrace} from "../diagnostics/trace.js"
import {isNoScript} from "../errors.js"
import {type Bounds, DISCARD, type Finish, NOTE_REFUSAL, NOTE_RETIME} from "./bounds.js"
import type {NodeCommands, ScanReply} from "./cluster.js"
import {scanEndpoint, toValues} from "./families/shared.js"
import type {LuaScript} from "./scripts.js"
import type {FamilyCommands, ReadFinish} from "./types.js"

/** How a family spells the keyed commands on client `C` (keys as the store names them). */
export interface KeyedDialect<C> {
  get(client: C, key: string): Promise<unknown>
  /** SET, with PX when `ttlMs` is given, and GET when `onlyOverString`. */
  set(
    client: C,
    key: string,
    value: string,
    ttlMs: number | undefined,
    onlyOverString: boolean,
  ): Promise<unknown>
  pExpire(client: C, key: string, ttlMs: number): Promise<unknown>
  getEx(client: C, key: string, ttlMs: number): Promise<unknown>
  getDel(client: C, key: string): Promise<unknown>
  del(client: C, key: string): Promise<unknown>
  mget(client: C, keys: string[]): Promise<unknown[]>
  unlink(client: C, keys: string[]): Promise<unknown>
  evalSha(
    client: C,
    sha: string,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown>
  eval(
    client: C,
    source: string,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown>
}

/** How a client sends a script: EVALSHA, and EVAL (after NOSCRIPT). */
export type ScriptDialect<C> = Pick<KeyedDialect<C>, "evalSha" | "eval">

/** The same for a whole endpoint, which also scans and answers PING. */
export interface EndpointDialect<C> extends KeyedDialect<C> {
  scan(client: C, cursor: string, match: string, count: number): Promise<ScanReply>
  ping(client: C): Promise<unknown>
}

type KeyedCommands = Pick<
  FamilyCommands,
  "get" | "getRenewing" | "set" | "pExpire" | "getDel" | "del" | "runScript"
>

/** The single-key commands, on a client or through a cluster client (which routes them). */
export function keyedCommands<C extends object>(
  client: C,
  bounds: Bounds,
  dialect: KeyedDialect<C>,
): KeyedCommands {
  // The dialect's own function, with the key as its argument: no closure per `get`.
  const get = dialect.get as (client: C, key: string) => Promise<string | null>
  /** A tombstone-guarded write: its reply noted on the trace of a traced call, else dropped. */
  const write = (
    command: (client: C) => Promise<unknown>,
    note: Finish<unknown, undefined, OperationTrace>,
    trace: OperationTrace | undefined,
  ): Promise<void> =>
    bounds.runGuarded(client, command, trace === undefined ? DISCARD : note, trace)
  // The renewing read's command for the last life asked for: that life changes rarely (it
  // is what the app's cookie says), so no closure is made per read.
  type Renew = (client: C, key: string) => Promise<string | null>
  let renewing: {ttlMs: number; command: Renew} | undefined
  return {
    get: <R>(key: string, finish: ReadFinish<R>) =>
      bounds.runGuarded(client, get, finish, key) as Promise<Awaited<R>>,
    getRenewing: <R>(key: string, ttlMs: number, finish: ReadFinish<R>) => {
      if (renewing?.ttlMs !== ttlMs) {
        const command = (c: C, k: string) => dialect.getEx(c, k, ttlMs) as Promise<string | null>
        renewing = {ttlMs, command}
      }
      return bounds.runGuarded(client, renewing.command, finish, key) as Promise<Awaited<R>>
    },
    set: (key, value, ttlMs, onlyOverString, trace) =>
      write((c) => dialect.set(c, key, value, ttlMs, onlyOverString), NOTE_REFUSAL, trace),
    pExpire: (key, ttlMs, trace) =>
      write((c) => dialect.pExpire(c, key, ttlMs), NOTE_RETIME, trace),
    getDel: (key, trace) => write((c) => dialect.getDel(c, key), NOTE_REFUSAL, trace),
    del: (key) => bounds.runGuarded(client, (c) => dialect.del(c, key), DISCARD),
    runScript: (script, keys, args, finish) =>
      evalOn(client, bounds, dialect, script, keys, args, finish),
  }
}

/**
 * EVALSHA, and EVAL once on NOSCRIPT (a touch and a merged save run scripts: no extra step);
 * the reply through `finish` when given (see Bounds.runWithRetry).
 */
export function evalOn<C extends object, R = unknown>(
  client: C,
  bounds: Bounds,
  dialect: ScriptDialect<C>,
  script: LuaScript,
  keys: readonly string[],
  args: readonly string[],
  finish?: (reply: unknown) => R,
): Promise<R> {
  return bounds.runWithRetry(
    client,
    (c) => dialect.evalSha(c, script.sha, keys, args),
    (error) =>
      isNoScript(error) ? (c: C) => dialect.eval(c, script.source, keys, args) : undefined,
    finish,
  )
}

/** One node of a cluster, for the cluster layer: keys as the server stores them. */
export function nodeCommands<C extends object>(
  node: C,
  bounds: Bounds,
  dialect: KeyedDialect<C>,
): NodeCommands {
  return {
    mget: (keys) => bounds.run(node, (n) => dialect.mget(n, keys)),
    unlink: (keys) => bounds.run(node, (n) => dialect.unlink(n, keys)),
    eval: (script, keys, args) => evalOn(node, bounds, dialect, script, keys, args),
  }
}

type EndpointCommands = Pick<
  FamilyCommands,
  "mget" | "unlink" | "runScriptPerSlot" | "scan" | "ping"
>

/** The bulk commands of a single endpoint: every key is on it, so "per slot" is one call. */
export function endpointCommands<C extends object>(
  client: C,
  bounds: Bounds,
  dialect: EndpointDialect<C>,
  clientPrefix: string,
): EndpointCommands {
  return {
    mget: async (keys) => toValues(await bounds.run(client, (c) => dialect.mget(c, [...keys]))),
    unlink: async (keys) => Number(await bounds.run(client, (c) => dialect.unlink(c, [...keys]))),
    runScriptPerSlot: async (script, keys, args) => [
      await evalOn(client, bounds, dialect, script, keys, args),
    ],
    scan: (prefix, count) =>
      scanEndpoint(
        (cursor, match) => bounds.run(client, (c) => dialect.scan(c, cursor, match, count)),
        client,
        clientPrefix,
        prefix,
      ),
    ping: async () => {
      await bounds.probe(client, (c) => dialect.ping(c))
    },
  }
}
