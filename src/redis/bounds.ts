// What every time bound (deadline.ts, and unbounded.ts for `timeout: 0`) offers the client
// families: the way a command is run, retried and its reply finished, and what a family
// tells the bound about its clients.

import type {OperationTrace} from "../diagnostics/trace.js"
import {TOMBSTONED, type Tombstoned} from "./types.js"

export type Reject = (error: unknown) => void
/** A command on `client`; `arg` saves a closure per call on the hottest paths (`get`). */
export type Command<C, T, A = undefined> = (client: C, arg: A) => Promise<T>
/**
 * For a command that failed: the command to send in its place (EVAL after EVALSHA met
 * NOSCRIPT), or undefined when the error stands.
 */
export type Retry<C, T> = (error: unknown) => Command<C, T> | undefined
/**
 * Turns a reply into what the caller wants, in the same step (no promise of its own); it is
 * given the command's `arg` too, so that it need not be a closure made per call.
 */
export type Finish<T, R, A = unknown> = (reply: T | Tombstoned, arg: A) => R

/** A `finish` for writes whose reply nobody reads: they resolve to undefined. */
export const DISCARD: Finish<unknown, undefined> = () => undefined

/** As DISCARD, for a traced write: a tombstone that refused it is noted as a logout. */
export const NOTE_REFUSAL: Finish<unknown, undefined, OperationTrace> = (reply, trace) => {
  if (reply === TOMBSTONED) trace.outcome = "logged-out"
  return undefined
}

/** As NOTE_REFUSAL, for a traced re-time, which also notes that there was nothing to re-time. */
export const NOTE_RETIME: Finish<unknown, undefined, OperationTrace> = (reply, trace) => {
  if (reply === TOMBSTONED) trace.outcome = "logged-out"
  // GETEX: null; PEXPIRE: 0 (node-redis, ioredis) or false (GLIDE).
  else if (reply === null || reply === 0 || reply === false) trace.outcome = "missing"
  return undefined
}

/** Runs commands on a client of some family with the time bound, or without one. */
export interface Bounds {
  run<C extends object, T>(client: C, command: Command<C, T>): Promise<T>
  /**
   * As `run`; when the command fails with an error `retry` has another command for, that one
   * is sent in its place, within the same bound. Nothing more than `run` costs when the first
   * command succeeds (no promise of its own for the error's path). `finish`, when given,
   * turns the reply into what the caller wants in the same step, as for `runGuarded` (a
   * WRONGTYPE error is TOMBSTONED to it): no `then` of the caller's on every touch and save.
   */
  runWithRetry<C extends object, T, R = T>(
    client: C,
    command: Command<C, T>,
    retry: Retry<C, T>,
    finish?: Finish<T, R>,
  ): Promise<R>
  /** As `run`, also while the gate is shut: the health probe's PING. */
  probe<C extends object, T>(client: C, command: Command<C, T>): Promise<T>
  /** The family's word: `client` was closed, not reconnecting. */
  isClosed(client: object): boolean
  /**
   * As `run`, but a WRONGTYPE reply (a tombstone at the key) is an answer, not an error: the
   * reply, or TOMBSTONED, goes through `finish`, whose result (or throw) settles the call.
   */
  runGuarded<C extends object, T, R, A = undefined>(
    client: C,
    command: Command<C, T, A>,
    finish: Finish<T, R, A>,
    arg?: A,
  ): Promise<R>
  /** The store was closed: commands still waiting for a first connection fail now. */
  release(): void
}

/** What a client family tells Deadlines: how to attach a signal, how to read its errors. */
export interface BoundsFamily {
  /**
   * False when a command given to `client` now would wait in its queue (not connected).
   * Only then does the command get the signal: attaching one costs the client an abort
   * listener per command (about 2 µs on node-redis 5/6), and a ready client writes the
   * command at once, where a signal could not withdraw it anyway.
   */
  isReady(client: object): boolean
  /**
   * `client` with `signal` attached, or undefined when this client cannot withdraw a queued
   * command safely: such a client is handed nothing while not ready (ENOTCONN at once).
   */
  withSignal<C extends object>(client: C, signal: AbortSignal): C | undefined
  mapError(error: unknown): unknown
  /**
   * True once `client` was closed (quit, close, disconnect; or it gave up reconnecting), as
   * opposed to reconnecting: a command for it fails at once, saying so.
   */
  isClosed(client: object): boolean
}

/** Why a command for a closed client was not sent. */
export const CLOSED_MESSAGE =
  "The Redis client is closed (by the app or by store.close(), or it stopped reconnecting, or it was never connected); the command was not sent"

/** Hears about every command that failed; the health probe decides which say an outage. */
export type FailureObserver = (error: unknown) => void
