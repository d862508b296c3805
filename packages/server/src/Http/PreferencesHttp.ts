import { HttpApiBuilder } from "@effect/platform"
import { Preferences } from "@notification-service/core"
import { NotificationApi } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import { requireScope } from "./Authentication.js"
import { orUnavailable } from "./Problems.js"

export const PreferencesHttpLive = HttpApiBuilder.group(NotificationApi, "preferences", (handlers) =>
  Effect.gen(function* () {
    const preferences = yield* Preferences
    return handlers
      .handle("get", ({ path }) =>
        requireScope("preferences:read").pipe(Effect.zipRight(preferences.get(path.user_id)), orUnavailable)
      )
      .handle("put", ({ path, payload }) =>
        requireScope("preferences:write").pipe(Effect.zipRight(preferences.put(path.user_id, payload)), orUnavailable)
      )
  })
)
