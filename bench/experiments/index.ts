// The registry of the paper's experiments, run by `baton experiment NAME` (src/cli/experiment.ts).
// To add one: write bench/experiments/NAME.ts exporting an Experiment (experiment.ts) and list it
// below; the command line, --help, the output files and progress come from the command and report.ts.
import type { Experiment } from './experiment.js';
import { fig7Experiment } from './fig7.js';
import { table1Experiment } from './table1.js';
import { fig3Experiment } from './fig3.js';
import { fig5Experiment } from './fig5.js';
import { failoverExperiment } from './failover.js';
import { scaleExperiment } from './scale.js';
import { voiceExperiment } from './voice.js';

export type { Experiment, ExperimentContext, ExperimentOption } from './experiment.js';

export const EXPERIMENTS: readonly Experiment[] = [table1Experiment, fig3Experiment, fig5Experiment, fig7Experiment, failoverExperiment, scaleExperiment, voiceExperiment];
