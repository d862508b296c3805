import { HttpApiClient, type HttpClient } from "@effect/platform"
import type * as Effect from "effect/Effect"
import { NotificationApi } from "./Api.js"

/** The typed client, derived from the same contract the server implements. */
export const makeClient = (options: {
  readonly baseUrl: string
  readonly transformClient?: (client: HttpClient.HttpClient) => HttpClient.HttpClient
}) => HttpApiClient.make(NotificationApi, options)

export type Client = Effect.Effect.Success<ReturnType<typeof makeClient>>
