export * from "./job";
export * from "./errors";
export * from "./queue";
export * from "./result";
export * from "./dataset";
export * from "./catalog";
export * from "./live";
