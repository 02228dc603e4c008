export type {Callback} from "./callback.js"
export {CorruptSessionError} from "./codec.js"
export {RedisUnavailableError} from "./deadline.js"
export type {
  RedisClientLike,
  RedisStoreOptions,
  RedisStoreSettings,
  Serializer,
} from "./options.js"
export {RedisStore, type SessionWithId} from "./store.js"
export type {TtlOption} from "./ttl.js"
