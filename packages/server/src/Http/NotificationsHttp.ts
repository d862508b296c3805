import { HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { Notifications } from "@notification-service/core"
import { NotificationApi } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import { requireScope } from "./Authentication.js"
import { orUnavailable } from "./Problems.js"

const setLocation = (location: string) =>
  HttpApp.appendPreResponseHandler((_request, response) =>
    Effect.succeed(HttpServerResponse.setHeader(response, "location", location))
  )

export const NotificationsHttpLive = HttpApiBuilder.group(NotificationApi, "notifications", (handlers) =>
  Effect.gen(function* () {
    const notifications = yield* Notifications
    return handlers
      .handle("send", ({ payload }) =>
        requireScope("notifications:write").pipe(
          Effect.zipRight(notifications.send(payload)),
          Effect.tap((notification) => setLocation(`/api/v1/notifications/${notification.id}`)),
          orUnavailable
        )
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
