import { NodeRuntime } from "@effect/platform-node"
import * as Layer from "effect/Layer"
import { WorkerLive } from "./Worker.js"

Layer.launch(WorkerLive).pipe(NodeRuntime.runMain({ disablePrettyLogger: true }))
