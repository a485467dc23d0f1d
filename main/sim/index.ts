// The simulator's public surface: generate()/generateDemo() and the scenario table.

export { generate, generateDemo, GenerateError, HOST_FILE, HOST_FILE_XEN, guestFileName } from './generate.ts';
export type { GenerateOptions, Truth } from './generate.ts';
export { SCENARIOS, DEFAULT_SCENARIO, findScenario } from './scenarios.ts';
export type { ScenarioInfo, HostPolicy, SimConfig } from './scenarios.ts';
export type { ThreadTruth, CoschedulingTruth } from './truth.ts';
export type { WorkloadStats } from './simulator.ts';
