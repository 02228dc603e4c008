export type {Callback} from "./callback.js"
export {
  CorruptSessionError,
  type RedisClientLike,
  RedisStore,
  type RedisStoreOptions,
  type RedisStoreSettings,
  type Serializer,
  type SessionWithId,
} from "./store.js"
export type {TtlOption} from "./ttl.js"
