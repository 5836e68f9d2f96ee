import { createModelGate } from './model-gate.js'
import { type RunServiceDeps, createRunService } from './runs/run-service.js'
import { createTurnService } from './turns/turn-service.js'

/** The API's services over stores and queues (shared by main and the test server). */
export function createServices(deps: RunServiceDeps) {
  const runs = createRunService(deps)
  const modelGate = createModelGate(deps.modelStatus)
  const turns = createTurnService({ stores: deps.stores, queues: deps.queues, runs, modelGate })
  return { runs, turns, modelGate }
}
