import { Redis } from "ioredis"

const answers = async (url: string): Promise<boolean> => {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    retryStrategy: () => null
  })
  try {
    await client.connect()
    return (await client.ping()) === "PONG"
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/**
 * A Redis for the shared rate-limit store: `REDIS_URL`, else the machine's 127.0.0.1:6379, else a
 * testcontainers Redis when Docker answers. `undefined` when none exists.
 */
export const findRedis = async (): Promise<
  { readonly url: string; readonly stop: () => Promise<void> } | undefined
> => {
  for (const url of [process.env.REDIS_URL, "redis://127.0.0.1:6379"]) {
    if (url !== undefined && url !== "" && (await answers(url))) return { url, stop: async () => {} }
  }
  try {
    const { GenericContainer } = await import("testcontainers")
    const container = await new GenericContainer("redis:7-alpine").withExposedPorts(6379).start()
    return {
      url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
      stop: async () => {
        await container.stop()
      }
    }
  } catch {
    return undefined
  }
}
