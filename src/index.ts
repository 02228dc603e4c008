export type {Progress} from "./bulk/bulk.js"
export {
  CHANNELS,
  type ConnectionMessage,
  type ServerMessage,
  type StoreOperation,
  type UnreadableMessage,
} from "./diagnostics/channels.js"
export {type StoreOperationContext, type StoreOutcome, sessionHash} from "./diagnostics/trace.js"
export {
  ConcurrentWriteError,
  CorruptSessionError,
  isRedisSessionStoreError,
  isRedisUnavailableError,
  RedisSessionStoreError,
  RedisUnavailableError,
  SessionTooLargeError,
  TooManySessionsError,
  type UnavailableCode,
} from "./errors.js"
export type {OwnerOf} from "./owners/owner-index.js"
export type {ClientSettings} from "./redis/owned-client.js"
export type {ServerEvent, ServerReport} from "./redis/redundant.js"
export type {Callback} from "./store/callback.js"
export {type EncryptedSerializerOptions, encryptedSerializer} from "./store/encrypted-serializer.js"
export type {RedisStoreEvents, StoreListener} from "./store/events.js"
export type {ResolveConflict} from "./store/merge.js"
export type {
  RedisClientLike,
  RedisStoreOptions,
  RedisStoreSettings,
  RedisStoreWithClient,
  RedisStoreWithServers,
  RedisStoreWithSettings,
  Serializer,
} from "./store/options.js"
export {
  type OwnedSession,
  RedisStore,
  type RevokeOptions,
  type SessionWithId,
} from "./store/store.js"
export type {TtlOption} from "./store/ttl.js"
