export { make as makeRecorder, type Recorder } from "../../packages/core/test/channels/recorder.js"
export { type Received as ReceivedMail, smtpServer } from "../../packages/core/test/channels/smtpServer.js"
