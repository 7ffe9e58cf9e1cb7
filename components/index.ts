export * from "./app-registration";
export * from "./integration";
export * from "./stack";
