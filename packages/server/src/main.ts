import { NodeRuntime } from "@effect/platform-node"
import * as Layer from "effect/Layer"
import { MainLive } from "./Server.js"

Layer.launch(MainLive).pipe(NodeRuntime.runMain({ disablePrettyLogger: true }))
