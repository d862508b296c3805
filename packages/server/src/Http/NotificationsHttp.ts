import { HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { Notifications } from "@notification-service/core"
import { CurrentPrincipal, NotificationApi } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import { requireScope } from "./Authentication.js"
import { orUnavailable } from "./Problems.js"

const setHeaders = (headers: Record<string, string>) =>
  HttpApp.appendPreResponseHandler((_request, response) =>
    Effect.succeed(HttpServerResponse.setHeaders(response, headers))
  )

export const NotificationsHttpLive = HttpApiBuilder.group(NotificationApi, "notifications", (handlers) =>
  Effect.gen(function* () {
    const notifications = yield* Notifications
    return handlers
      .handle("send", ({ payload, headers }) =>
        Effect.gen(function* () {
          yield* requireScope("notifications:write")
          const principal = yield* CurrentPrincipal
          const key = headers["idempotency-key"]
          const { notification, replayed } = yield* notifications.send(
            payload,
            key === undefined ? undefined : { apiKeyId: principal.keyId, key }
          )
          yield* setHeaders({
            location: `/api/v1/notifications/${notification.id}`,
            ...(replayed ? { "idempotent-replayed": "true" } : {})
          })
          return notification
        }).pipe(orUnavailable)
      )
      .handle("get", ({ path }) =>
        requireScope("notifications:read").pipe(Effect.zipRight(notifications.get(path.id)), orUnavailable)
      )
      .handle("listForUser", ({ path, urlParams }) =>
        requireScope("notifications:read").pipe(
          Effect.zipRight(notifications.listForUser(path.user_id, urlParams)),
          orUnavailable
        )
      )
      .handle("updateStatus", ({ path, payload }) =>
        requireScope("notifications:write").pipe(
          Effect.zipRight(notifications.updateStatus(path.id, payload)),
          orUnavailable
        )
      )
  })
)
