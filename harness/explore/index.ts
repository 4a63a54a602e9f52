/** Differential exploration (docs/explore.md): engine, sides, replay for generated specs. */
export { explore, Lockstep, differenceSignature, type ExploreOptions, type ExploreReport, type FoundDifference, type ExploreProgress } from './engine.js';
export { openSide, parseImplementation, type Side, type SideOptions } from './sides.js';
export { replaySteps, restorePlanOf, type ReplayStepsOptions } from './replay.js';
export { describeStep, stepName, stepArbitrary, type Step, type GenerationOptions } from './steps.js';
export { compareObservations, describeObservation, DIFFERENCE_KINDS, type DifferenceKind } from './compare.js';
export { StepRunner, type Observation } from './execute.js';
export { writeDifference, describeDifference, differenceTitle, type DifferenceFiles, type DifferenceMeta } from './artifacts.js';
export { readExplorationLog, type ExplorationLog, type ExplorationHeader, type RecordedStep } from './frame-log.js';
export { summaryTable } from './summary.js';
