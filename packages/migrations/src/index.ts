export * from "./Migrations.js"
