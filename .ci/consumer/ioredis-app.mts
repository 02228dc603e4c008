// An ioredis cluster and a store built from settings, as ESM.
import {Cluster} from "ioredis"
import {RedisStore, type RedisStoreWithSettings} from "redis-session-store"

export const clustered = new RedisStore(new Cluster([{host: "127.0.0.1", port: 7000}]), {
  prefix: "{app}:",
})
const settings: RedisStoreWithSettings = {url: "redis://127.0.0.1:6379", timeout: 500}
export const owned = new RedisStore(settings)
