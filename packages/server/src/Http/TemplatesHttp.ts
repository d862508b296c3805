import { HttpApiBuilder } from "@effect/platform"
import { Templates } from "@notification-service/core"
import { NotificationApi } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import { requireScope } from "./Authentication.js"
import { orUnavailable } from "./Problems.js"

export const TemplatesHttpLive = HttpApiBuilder.group(NotificationApi, "templates", (handlers) =>
  Effect.gen(function* () {
    const templates = yield* Templates
    const read = requireScope("templates:read")
    const write = requireScope("templates:write")
    return handlers
      .handle("list", ({ urlParams }) => read.pipe(Effect.zipRight(templates.list(urlParams)), orUnavailable))
      .handle("create", ({ payload }) => write.pipe(Effect.zipRight(templates.create(payload)), orUnavailable))
      .handle("get", ({ path }) => read.pipe(Effect.zipRight(templates.get(path.id)), orUnavailable))
      .handle("update", ({ path, payload }) =>
        write.pipe(Effect.zipRight(templates.update(path.id, payload)), orUnavailable)
      )
      .handle("preview", ({ path, payload }) =>
        read.pipe(Effect.zipRight(templates.preview(path.id, payload)), orUnavailable)
      )
      .handle("delete", ({ path }) => write.pipe(Effect.zipRight(templates.remove(path.id)), orUnavailable))
  })
)
