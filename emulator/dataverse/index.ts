// The Dataverse Web API handlers (pipeline.ts routes a request to its entity set's file); the server
// and the admin API use these two.
export { handleDataverse } from "./pipeline";
export { resetProtection } from "./protection";
