import { describe, expect } from "@effect/vitest"
import type { TemplateInput } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import { client, json, keys, raw, unique, withServer } from "./support/server.js"

const emailTemplate = (name: string): TemplateInput => ({
  name,
  type: "email",
  subject: "Payment of {amount} received",
  body: "Hello {name}",
  variables: [
    { name: "name", required: true },
    { name: "amount", required: true }
  ]
})

withServer()("templates", (it) => {
  it.effect("creates, reads, replaces (bumping the version) and soft-deletes a template", () =>
    Effect.gen(function* () {
      const api = yield* client()
      const name = unique("payment_received")
      const created = yield* api.templates.create({ payload: emailTemplate(name) })
      expect(created.version).toBe(1)
      expect(created.variables).toEqual([
        { name: "name", required: true },
        { name: "amount", required: true }
      ])

      const fetched = yield* api.templates.get({ path: { id: created.id } })
      expect(fetched.name).toBe(name)

      const updated = yield* api.templates.update({
        path: { id: created.id },
        payload: { ...emailTemplate(name), body: "Hi {name}" }
      })
      expect(updated.version).toBe(2)
      expect(updated.body).toBe("Hi {name}")
      expect(updated.created_at).toEqual(created.created_at)

      yield* api.templates.delete({ path: { id: created.id } })
      const afterDelete = yield* api.templates.get({ path: { id: created.id } }).pipe(Effect.flip)
      expect(afterDelete._tag).toBe("NotFound")

      // The name is free again once its template is deleted.
      const again = yield* api.templates.create({ payload: emailTemplate(name) })
      expect(again.id).not.toBe(created.id)
    })
  )

  it.effect("refuses a duplicate name with 409 problem details", () =>
    Effect.gen(function* () {
      const name = unique("dup")
      const api = yield* client()
      yield* api.templates.create({ payload: emailTemplate(name) })
      const response = yield* raw("/api/v1/templates", json("POST", emailTemplate(name)))
      expect(response.status).toBe(409)
      expect(response.headers.get("content-type")).toBe("application/problem+json")
      expect(response.body).toMatchObject({
        type: "https://notification-service.dev/problems/conflict",
        title: "Conflict",
        status: 409,
        instance: "/api/v1/templates"
      })
      const viaClient = yield* api.templates.create({ payload: emailTemplate(name) }).pipe(Effect.flip)
      expect(viaClient._tag).toBe("Conflict")
    })
  )

  it.effect("validates the payload: email subject required, variables unique, names well-formed", () =>
    Effect.gen(function* () {
      const noSubject = yield* raw("/api/v1/templates", json("POST", { name: unique("x"), type: "email", body: "b" }))
      expect(noSubject.status).toBe(400)
      expect(noSubject.body).toMatchObject({
        type: "https://notification-service.dev/problems/bad-request",
        errors: [{ path: "subject", message: "subject is required for email templates" }]
      })

      const duplicateVariable = yield* raw(
        "/api/v1/templates",
        json("POST", {
          name: unique("x"),
          type: "sms",
          body: "b",
          variables: [{ name: "a" }, { name: "a" }]
        })
      )
      expect(duplicateVariable.status).toBe(400)
      expect(JSON.stringify(duplicateVariable.body)).toContain("duplicate variable name 'a'")

      const badName = yield* raw("/api/v1/templates", json("POST", { name: "has space", type: "sms", body: "b" }))
      expect(badName.status).toBe(400)
      expect((badName.body as { errors: Array<{ path: string }> }).errors[0]?.path).toBe("name")

      const unknownType = yield* raw("/api/v1/templates", json("POST", { name: unique("x"), type: "fax", body: "b" }))
      expect(unknownType.status).toBe(400)
    })
  )

  it.effect("answers 404 for an unknown id and 400 for a malformed one", () =>
    Effect.gen(function* () {
      const missing = yield* raw("/api/v1/templates/0192f1c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f", json("GET", undefined))
      expect(missing.status).toBe(404)
      expect(missing.body).toMatchObject({ resource: "template", status: 404 })
      const malformed = yield* raw("/api/v1/templates/not-a-uuid", {
        headers: { authorization: `Bearer ${keys.admin}` }
      })
      expect(malformed.status).toBe(400)
      expect(malformed.body).toMatchObject({ errors: [{ path: "id" }] })
      const api = yield* client()
      const deleteMissing = yield* api.templates
        .delete({ path: { id: "0192f1c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f" as never } })
        .pipe(Effect.flip)
      expect(deleteMissing._tag).toBe("NotFound")
    })
  )

  it.effect("lists by name with keyset pagination and filters", () =>
    Effect.gen(function* () {
      const api = yield* client()
      const prefix = unique("page")
      for (const suffix of ["a", "b", "c", "d", "e"]) {
        yield* api.templates.create({
          payload: { name: `${prefix}_${suffix}`, type: suffix === "e" ? "sms" : "push", body: "x", variables: [] }
        })
      }
      const first = yield* api.templates.list({ urlParams: { name: prefix, limit: 2 } })
      expect(first.data.map((t) => t.name)).toEqual([`${prefix}_a`, `${prefix}_b`])
      expect(first.pagination).toMatchObject({ limit: 2, has_more: true })
      const second = yield* api.templates.list({
        urlParams: { name: prefix, limit: 2, cursor: first.pagination.next_cursor ?? undefined }
      })
      expect(second.data.map((t) => t.name)).toEqual([`${prefix}_c`, `${prefix}_d`])
      const third = yield* api.templates.list({
        urlParams: { name: prefix, limit: 2, cursor: second.pagination.next_cursor ?? undefined }
      })
      expect(third.data.map((t) => t.name)).toEqual([`${prefix}_e`])
      expect(third.pagination).toEqual({ limit: 2, has_more: false, next_cursor: null })

      const sms = yield* api.templates.list({ urlParams: { name: prefix, type: "sms" } })
      expect(sms.data.map((t) => t.name)).toEqual([`${prefix}_e`])

      const badCursor = yield* api.templates.list({ urlParams: { cursor: "garbage" } }).pipe(Effect.flip)
      expect(badCursor._tag).toBe("BadRequest")
      const badLimit = yield* raw(`/api/v1/templates?limit=101`, { headers: { authorization: `Bearer ${keys.admin}` } })
      expect(badLimit.status).toBe(400)
    })
  )
})

describe("templates need their scopes", () => {
  withServer()((it) => {
    it.effect("a read-only key may list but not create (403 naming the scope)", () =>
      Effect.gen(function* () {
        const reader = yield* client(keys.reader)
        yield* reader.templates.list({ urlParams: {} })
        const denied = yield* raw(
          "/api/v1/templates",
          json("POST", { name: unique("x"), type: "sms", body: "b" }, keys.reader)
        )
        expect(denied.status).toBe(403)
        expect(denied.body).toMatchObject({ required_scope: "templates:write", status: 403 })
        const hashed = yield* client(keys.hashed)
        yield* hashed.templates.list({ urlParams: {} })
      })
    )
  })
})
