export type {Progress} from "./bulk.js"
export type {Callback} from "./callback.js"
export {type EncryptedSerializerOptions, encryptedSerializer} from "./encrypted-serializer.js"
export {
  CorruptSessionError,
  isRedisSessionStoreError,
  isRedisUnavailableError,
  RedisSessionStoreError,
  RedisUnavailableError,
  SessionTooLargeError,
} from "./errors.js"
export type {RedisStoreEvents, StoreListener} from "./events.js"
export type {
  RedisClientLike,
  RedisStoreOptions,
  RedisStoreSettings,
  RedisStoreWithClient,
  RedisStoreWithServers,
  RedisStoreWithSettings,
  Serializer,
} from "./options.js"
export type {ClientSettings} from "./owned-client.js"
export type {OwnerOf} from "./owners.js"
export type {ServerEvent, ServerReport} from "./redundant.js"
export {RedisStore, type RevokeOptions, type SessionWithId} from "./store.js"
export type {TtlOption} from "./ttl.js"
